"""The Integrations page (the signed-in user's start page), and a health check."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, abort, jsonify, render_template
from sqlalchemy import select

from hub.core import current_hub
from hub.models import Account, AccountStatus, MeetingType, SyncCursor, utcnow
from hub.permissions import Permission
from web.access import actor, public, requires

bp = Blueprint("integrations", __name__)

#: what each status means, shown next to it
STATUS_HELP = {
    AccountStatus.ENABLED: "Syncing.",
    AccountStatus.ERROR: "Syncing failed; the hub keeps retrying.",
    AccountStatus.PENDING: "Waiting: your company's limit of synced mailboxes is reached. It starts syncing "
                           "when an administrator raises the limit or a colleague disconnects a mailbox.",
    AccountStatus.CONNECTION: "Failing for two days: syncing stopped until you reconnect.",
    AccountStatus.DISCONNECTED: "Disconnected.",
}


def ago(then: datetime, now: datetime) -> str:
    """"just now", "2 min ago", "3 h ago", "4 days ago"."""
    seconds = (now - then).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    days = int(seconds // 86400)
    return f"{days} day{'s' if days > 1 else ''} ago"


def live_state(session, account: Account, disabled: set[str], now: datetime | None = None) -> dict:
    """What an account is doing right now, in words: "Syncing 3,200 of 10,000 messages", "Up to date ·
    2 min ago", "Disabled by your administrator" — with the badge to show next to it."""
    status = account.status
    if account.provider in disabled and status != AccountStatus.DISCONNECTED:
        return {"status": "disabled", "badge": "Disabled", "text": "Disabled by your administrator."}
    badge = status.value.capitalize()
    if status != AccountStatus.ENABLED:
        return {"status": status.value, "badge": badge, "text": STATUS_HELP[status]}
    unfinished = session.scalars(select(SyncCursor).where(SyncCursor.account_id == account.id,
                                                          SyncCursor.initial_done.is_(False))).all()
    mail = [c for c in unfinished if c.kind == "mail"]
    if mail and all(c.progress_total for c in mail):
        done, total = sum(c.progress_done or 0 for c in mail), sum(c.progress_total for c in mail)
        text = f"Syncing {done:,} of {total:,} messages"
    elif unfinished:
        text = "Syncing…"
    elif account.last_synced_at is not None:
        text = f"Up to date · {ago(account.last_synced_at, now or utcnow())}"
    else:
        text = "Waiting for the first sync…"
    return {"status": status.value, "badge": badge, "text": text}


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
        states = {a.id: live_state(s, a, hub.plugins.disabled) for a in accounts}
    providers = hub.plugins.enabled_providers()
    labels = {name: info.label for name, info in hub.plugins.providers.items()}
    kinds = {name: info.connect_kind for name, info in hub.plugins.providers.items()}
    return render_template(
        "integrations.html", accounts=accounts, providers=providers, labels=labels, kinds=kinds,
        states=states, button_label=oauth_button_label,
        prompt_meeting_type=needs_primary_meeting_type(me))


@bp.route("/accounts/<int:account_id>/state")
@requires(Permission.CONNECT)
def account_state(account_id: int):
    """The live state of one of the signed-in user's accounts (the Integrations page polls it)."""
    hub = current_hub()
    with hub.db.session() as s:
        account = s.get(Account, account_id)
        if account is None or account.user_id != actor().id:
            abort(404)
        return jsonify(live_state(s, account, hub.plugins.disabled))


@bp.route("/healthz")
@public
def health():
    hub = current_hub()
    hub.db.check()
    return jsonify(status="ok", providers=sorted(hub.plugins.enabled_providers()))
