"""Connecting accounts: OAuth authorize/callback, form-based connects, reconnect and disconnect.

The rules (credentials checked, mailbox cap, meeting types restored or deactivated) live in
:mod:`hub.accounts`; these views only collect what the person entered and show the outcome.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from hub import oauth
from hub.accounts import connect_account, disconnect_account
from hub.core import current_hub
from hub.exceptions import HubError
from hub.models import Account
from hub.permissions import Permission
from web.access import actor, requires

bp = Blueprint("connect", __name__, url_prefix="/connect")

#: OAuth attempts remembered per session; older ones are dropped (abandoned consent pages)
MAX_PENDING_OAUTH = 5


def _redirect_uri(provider: str) -> str:
    return current_hub().settings.base_url.rstrip("/") + url_for("connect.callback", provider=provider)


def _own_account(account_id: int) -> Account:
    with current_hub().db.session() as s:
        account = s.get(Account, account_id)
        if account is None or account.user_id != actor().id:
            abort(404)
        s.expunge(account)
        return account


def _begin_oauth(provider: str, login_hint: str | None):
    """Make state + PKCE in the core, remember them in the session, send the browser to the provider."""
    hub = current_hub()
    begin = oauth.start(_redirect_uri(provider), login_hint=login_hint or None)
    pending = [k for k in session if k.startswith("oauth:")]
    for stale in pending[: max(0, len(pending) - MAX_PENDING_OAUTH + 1)]:
        session.pop(stale, None)
    session[f"oauth:{begin.state}"] = {"provider": provider, "verifier": begin.code_verifier}
    url = hub.plugins.call("hub_authorization_url", context=hub.provider_context(provider), start=begin)
    return redirect(url)


@bp.route("/<provider>/start", methods=["POST"])
@requires(Permission.CONNECT)
def start(provider: str):
    """Begin an OAuth connect ("Sign in with Google", "Connect Microsoft 365")."""
    info = current_hub().plugins.provider(provider)
    if info.connect_kind != "oauth":
        abort(404)
    return _begin_oauth(provider, request.form.get("login_hint"))


@bp.route("/<provider>/callback")
@requires(Permission.CONNECT)
def callback(provider: str):
    """Where the provider sends the browser back with ``code`` and ``state``."""
    state = request.args.get("state", "")
    pending = session.pop(f"oauth:{state}", None)
    if not pending or pending["provider"] != provider:
        flash("The sign-in expired or was not started here. Please try again.", "error")
        return redirect(url_for("integrations.index"))
    if request.args.get("error"):
        flash(f"The provider did not grant access ({request.args['error']}). Please try again.", "error")
        return redirect(url_for("integrations.index"))
    try:
        connect_account(current_hub(), actor().id, provider, {
            "code": request.args.get("code", ""), "code_verifier": pending["verifier"],
            "redirect_uri": _redirect_uri(provider)})
    except HubError as exc:
        flash(f"{exc.message} {exc.fix or ''}".strip(), "error")
        return redirect(url_for("integrations.index"))
    flash("Account connected.", "success")
    return redirect(url_for("integrations.index"))


@bp.route("/<provider>", methods=["GET", "POST"])
@requires(Permission.CONNECT)
def form(provider: str):
    """A form-based connect (IMAP, iCloud): the fields come from the provider's ``connect_form``."""
    hub = current_hub()
    info = hub.plugins.provider(provider)
    if info.connect_kind != "form":
        abort(404)
    error = None
    values: dict = dict(request.form) if request.method == "POST" else {}
    if request.method == "GET" and request.args.get("account", "").isdigit():
        account = _own_account(int(request.args["account"]))  # reconnect: what we know, never the password
        values = {**{k: str(v) for k, v in (account.settings or {}).items()}, "email": account.email}
    if request.method == "POST":
        params = {f.name: request.form.get(f.name, "") for f in info.connect_form}
        try:
            connect_account(hub, actor().id, provider, params)
        except HubError as exc:
            error = exc
        else:
            flash("Account connected.", "success")
            return redirect(url_for("integrations.index"))
    server = [f for f in info.connect_form if _is_server_field(f)]
    main = [f for f in info.connect_form if f not in server]
    return render_template("connect_form.html", info=info, error=error, values=values, main_fields=main,
                           server_fields=server), 400 if error else 200


def _is_server_field(field) -> bool:
    """Optional host/port/security fields: folded away when a preset fills them."""
    return not field.required and field.name.endswith(("_host", "_port", "_security"))


@bp.route("/accounts/<int:account_id>/reconnect", methods=["POST"])
@requires(Permission.CONNECT)
def reconnect(account_id: int):
    """Reconnect an account in Error/Connection (or a disconnected one): the provider's connect again."""
    account = _own_account(account_id)
    info = current_hub().plugins.provider(account.provider)
    if info.connect_kind == "oauth":
        return _begin_oauth(account.provider, account.email)
    return redirect(url_for("connect.form", provider=account.provider, account=account.id))


@bp.route("/accounts/<int:account_id>/disconnect", methods=["POST"])
@requires(Permission.CONNECT)
def disconnect(account_id: int):
    """Disconnect after the confirmation: revoke, stop syncing, deactivate dependent meeting types."""
    _own_account(account_id)
    disconnect_account(current_hub(), account_id)
    flash("Account disconnected. Meeting types that booked into it are inactive until you connect a calendar "
          "again; meetings already booked stay on your calendar.", "success")
    return redirect(url_for("integrations.index"))

