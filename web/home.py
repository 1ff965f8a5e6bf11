"""The Integrations page (the signed-in user's start page), and a health check."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template
from sqlalchemy import select

from hub.core import current_hub
from hub.models import Account, AccountStatus, MeetingType
from hub.permissions import Permission
from web.access import actor, public, requires

bp = Blueprint("home", __name__)

#: what each status means, shown next to it
STATUS_HELP = {
    AccountStatus.ENABLED: "Syncing.",
    AccountStatus.ERROR: "Syncing failed; the hub keeps retrying.",
    AccountStatus.PENDING: "Waiting: your company's limit of synced mailboxes is reached. It starts syncing "
                           "when an administrator raises the limit or a colleague disconnects a mailbox.",
    AccountStatus.CONNECTION: "Failing for two days: syncing stopped until you reconnect.",
    AccountStatus.DISCONNECTED: "Disconnected.",
}


def oauth_button_label(name: str, label: str) -> str:
    """The wording of an OAuth provider's connect button ("Sign in with Google", "Connect Microsoft 365")."""
    return f"Sign in with {label}" if name == "google" else f"Connect {label}"


def needs_primary_meeting_type(user) -> bool:
    """After the first calendar connection, a user who books meetings is asked for a primary meeting type."""
    if not user.can(Permission.MEETINGS):
        return False
    hub = current_hub()
    calendar_providers = [n for n, p in hub.plugins.providers.items() if p.can("calendar")]
    with hub.db.session() as s:
        has_type = s.scalar(select(MeetingType.id).where(MeetingType.user_id == user.id).limit(1))
        connected = s.scalar(select(Account.id).where(
            Account.user_id == user.id, Account.provider.in_(calendar_providers),
            Account.status != AccountStatus.DISCONNECTED).limit(1))
    return has_type is None and connected is not None


@bp.route("/")
@requires(Permission.CONNECT)
def index():
    hub = current_hub()
    me = actor()
    with hub.db.session() as s:
        accounts = s.scalars(select(Account).where(Account.user_id == me.id).order_by(
            Account.status == AccountStatus.DISCONNECTED, Account.provider, Account.id)).all()
    providers = hub.plugins.enabled_providers()
    labels = {name: info.label for name, info in hub.plugins.providers.items()}
    kinds = {name: info.connect_kind for name, info in hub.plugins.providers.items()}
    return render_template(
        "integrations.html", accounts=accounts, providers=providers, labels=labels, kinds=kinds,
        status_help=STATUS_HELP, button_label=oauth_button_label,
        prompt_meeting_type=needs_primary_meeting_type(me))


@bp.route("/healthz")
@public
def health():
    hub = current_hub()
    hub.db.check()
    return jsonify(status="ok", providers=sorted(hub.plugins.enabled_providers()))
