"""The Mail sync page: status per mailbox, live initial-sync progress, error log, daily usage, BCC address.

Progress is read from the sync cursors (``SyncCursor.progress_done`` / ``progress_total``); the page
polls the API's ``/api/v1/accounts/<id>/sync-status`` for it with the session (see ``hub.js``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from hub.account_status import shown_to
from hub.bcc import bcc_address, rotate_bcc_token
from hub.core import current_hub
from hub.mail_settings import disable_mail_sync, enable_mail_sync
from hub.models import Account, AccountError, AccountStatus, SyncCursor, User
from hub.permissions import Permission
from hub.sync import limits
from web.access import actor, requires

bp = Blueprint("mail", __name__, url_prefix="/mail")

ERROR_LOG_SHOWN = 20


@dataclass
class FolderProgress:
    """Initial-sync progress of one folder ("3,200 of 10,000 messages")."""

    folder: str
    done: int
    total: int | None
    finished: bool

    @property
    def percent(self) -> int:
        if self.finished:
            return 100
        if not self.total:
            return 0
        return min(100, int(100 * self.done / self.total))

    def as_dict(self) -> dict:
        return {"folder": self.folder, "done": self.done, "total": self.total, "finished": self.finished,
                "percent": self.percent}


@dataclass
class Mailbox:
    account: Account
    folders: list[FolderProgress] = field(default_factory=list)
    errors: list[AccountError] = field(default_factory=list)

    @property
    def syncing(self) -> bool:
        """The initial sync has not finished in every folder yet."""
        return self.account.mail_enabled and (not self.folders or not all(f.finished for f in self.folders))


def folder_progress(session, account_id: int) -> list[FolderProgress]:
    """Progress of every mail folder of ``account_id``, inbox first."""
    rows = session.scalars(select(SyncCursor).where(SyncCursor.account_id == account_id,
                                                    SyncCursor.kind == "mail")).all()
    out = [FolderProgress(r.key, r.progress_done or 0, r.progress_total, bool(r.initial_done)) for r in rows]
    return sorted(out, key=lambda f: (f.folder != "inbox", f.folder))


def mailboxes(user_id: int) -> list[Mailbox]:
    """The user's mail-capable accounts that are connected, with progress and recent errors."""
    hub = current_hub()
    mail_providers = [n for n, p in hub.plugins.providers.items() if p.can("mail")]
    with hub.db.session() as s:
        accounts = s.scalars(select(Account).where(
            Account.user_id == user_id, Account.provider.in_(mail_providers),
            Account.status != AccountStatus.DISCONNECTED).order_by(Account.id)).all()
        out = []
        for account in accounts:
            errors = s.scalars(select(AccountError).where(
                AccountError.account_id == account.id, shown_to(actor().can(Permission.ADMIN))).order_by(
                AccountError.at.desc()).limit(ERROR_LOG_SHOWN)).all()
            out.append(Mailbox(account, folder_progress(s, account.id), list(errors)))
        return out


@bp.route("/")
@requires(Permission.MAIL_SYNC)
def index():
    hub = current_hub()
    me = actor()
    with hub.db.session() as s:
        user = s.get(User, me.id)
        address = bcc_address(user, hub)
        cap = limits.daily_cap(s, me.id)
        used = limits.synced_on(s, me.id, limits.usage_day(s, me.id))
    return render_template("mail.html", mailboxes=mailboxes(me.id), bcc=address, cap=cap, used=used,
                           labels={n: p.label for n, p in hub.plugins.providers.items()})


def _own_mail_account(account_id: int) -> None:
    with current_hub().db.session() as s:
        account = s.get(Account, account_id)
        if account is None or account.user_id != actor().id:
            abort(404)


@bp.route("/accounts/<int:account_id>/disable", methods=["POST"])
@requires(Permission.MAIL_SYNC)
def disable(account_id: int):
    """Stop syncing a mailbox, keeping or removing the mail it logged."""
    _own_mail_account(account_id)
    choice = request.form.get("previous")
    if choice not in ("keep", "remove"):
        flash("Choose whether to keep or remove the mail already logged.", "error")
        return redirect(url_for("mail.index"))
    result = disable_mail_sync(current_hub(), account_id, remove_logged=choice == "remove")
    if choice == "remove":
        flash(f"Mail sync turned off; {result['removed']} logged messages were removed from timelines.", "success")
    else:
        flash("Mail sync turned off; mail already logged stays on timelines.", "success")
    return redirect(url_for("mail.index"))


@bp.route("/accounts/<int:account_id>/enable", methods=["POST"])
@requires(Permission.MAIL_SYNC)
def enable(account_id: int):
    _own_mail_account(account_id)
    status = enable_mail_sync(current_hub(), account_id)
    if status == AccountStatus.PENDING:
        flash("Mail sync is waiting: your company's limit of synced mailboxes is reached.", "success")
    else:
        flash("Mail sync turned on.", "success")
    return redirect(url_for("mail.index"))


@bp.route("/bcc/rotate", methods=["POST"])
@requires(Permission.MAIL_SYNC)
def rotate_bcc():
    """Replace the BCC logging address; mail to the old one is refused from now on."""
    rotate_bcc_token(current_hub(), actor().id)
    flash("You have a new logging address. The old one no longer works.", "success")
    return redirect(url_for("mail.index"))
