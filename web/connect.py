"""Connecting accounts: OAuth authorize/callback, form-based connects, disconnect and reconnect."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

from hub import oauth
from hub.connections import connect_account, disconnect_account
from hub.core import current_hub
from hub.exceptions import HubError
from hub.models import Account

bp = Blueprint("connect", __name__, url_prefix="/connect")


def _redirect_uri(provider: str) -> str:
    return current_hub().settings.base_url.rstrip("/") + url_for("connect.callback", provider=provider)


@bp.route("/<provider>/start", methods=["POST"])
@login_required
def start(provider: str):
    """Begin an OAuth connect: the core makes state and PKCE, the plugin builds the URL."""
    hub = current_hub()
    info = hub.plugins.provider(provider)
    if info.connect_kind != "oauth":
        abort(404)
    begin = oauth.start(_redirect_uri(provider), login_hint=request.form.get("login_hint") or None)
    session[f"oauth:{begin.state}"] = {"provider": provider, "verifier": begin.code_verifier}
    url = hub.plugins.call("hub_authorization_url", context=hub.provider_context(provider), start=begin)
    return redirect(url)


@bp.route("/<provider>/callback")
@login_required
def callback(provider: str):
    state = request.args.get("state", "")
    pending = session.pop(f"oauth:{state}", None)
    if not pending or pending["provider"] != provider:
        flash("The sign-in expired or was not started here. Please try again.", "error")
        return redirect(url_for("home.index"))
    if request.args.get("error"):
        flash(f"The provider did not grant access ({request.args['error']}). Please try again.", "error")
        return redirect(url_for("home.index"))
    try:
        connect_account(current_hub(), current_user.id, provider, {
            "code": request.args.get("code", ""), "code_verifier": pending["verifier"],
            "redirect_uri": _redirect_uri(provider)})
    except HubError as exc:
        flash(f"{exc.message} {exc.fix or ''}".strip(), "error")
        return redirect(url_for("home.index"))
    flash("Account connected.", "success")
    return redirect(url_for("home.index"))


@bp.route("/<provider>", methods=["GET", "POST"])
@login_required
def form(provider: str):
    """A form-based connect (IMAP, iCloud): fields come from the provider's ``connect_form``."""
    hub = current_hub()
    info = hub.plugins.provider(provider)
    if info.connect_kind != "form":
        abort(404)
    error = None
    if request.method == "POST":
        params = {f.name: request.form.get(f.name, "") for f in info.connect_form}
        try:
            connect_account(hub, current_user.id, provider, params)
        except HubError as exc:
            error = exc
        else:
            flash("Account connected.", "success")
            return redirect(url_for("home.index"))
    return render_template("connect_form.html", info=info, error=error, values=request.form)


@bp.route("/accounts/<int:account_id>/disconnect", methods=["POST"])
@login_required
def disconnect(account_id: int):
    hub = current_hub()
    with hub.db.session() as s:
        account = s.get(Account, account_id)
        if account is None or account.user_id != current_user.id:
            abort(404)
    disconnect_account(hub, account_id)
    flash("Account disconnected. Its meeting types are inactive until you connect a calendar again.", "success")
    return redirect(url_for("home.index"))
