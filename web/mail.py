"""The Mail sync page: status per mailbox, live initial-sync progress, error log, daily usage, BCC address.

Progress is read from the sync cursors (``SyncCursor.progress_done`` / ``progress_total``); the page
polls the API's ``/api/v1/accounts/<id>/sync-status`` for it with the session (see ``hub.js``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from hub import error_log
from hub.bcc import bcc_address, rotate_bcc_token
from hub.core import current_hub
from hub.error_log import FoldedError
from hub.exceptions import HubError
from hub.mail_settings import choose_sent_folder, count_synced_messages, disable_mail_sync, enable_mail_sync
from hub.models import Account, AccountStatus, SyncCursor, User
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
    errors: list[FoldedError] = field(default_factory=list)

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
            errors = error_log.for_owner(s, account.id, ERROR_LOG_SHOWN)
            out.append(Mailbox(account, folder_progress(s, account.id), errors))
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
    boxes = mailboxes(me.id)
    confirm = None
    asked = request.args.get("confirm_remove", type=int)
    if asked is not None and any(m.account.id == asked for m in boxes):
        confirm = {"account_id": asked, "count": count_synced_messages(hub, asked),
                   "email": next(m.account.email for m in boxes if m.account.id == asked)}
    return render_template("mail.html", mailboxes=boxes, bcc=address, cap=cap, used=used, confirm_remove=confirm,
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
    if choice == "remove" and request.form.get("confirmed") != "1":  # say how much goes, then ask
        return redirect(url_for("mail.index", confirm_remove=account_id))
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


@bp.route("/accounts/<int:account_id>/sent-folder", methods=["GET", "POST"])
@requires(Permission.MAIL_SYNC)
def sent_folder(account_id: int):
    """Pick which of the mailbox's folders is synced as Sent, for servers that do not mark it."""
    _own_mail_account(account_id)
    hub = current_hub()
    try:
        # optional hook: None means the provider finds its Sent folder itself
        folders = hub.plugins.maybe_call("hub_mail_folders", account=hub.account_handle(account_id))
    except HubError as exc:
        flash(f"The folders could not be listed: {exc.message} {exc.fix or ''}".strip(), "error")
        return redirect(url_for("mail.index"))
    with hub.db.session() as s:
        account = s.get(Account, account_id)
        current, email = (account.settings or {}).get("sent_folder"), account.email
    if request.method == "POST":
        choice = request.form.get("sent_folder") or ""
        if folders is None or choice not in folders:
            flash("Choose one of the mailbox's folders.", "error")
            return redirect(url_for("mail.sent_folder", account_id=account_id))
        choose_sent_folder(hub, account_id, choice)
        flash(f"“{choice}” is synced as your Sent folder from now on.", "success")
        return redirect(url_for("mail.index"))
    return render_template("mail_sent_folder.html", account_id=account_id, email=email, folders=folders,
                           current=current)


@bp.route("/bcc/rotate", methods=["POST"])
@requires(Permission.MAIL_SYNC)
def rotate_bcc():
    """Replace the BCC logging address; mail to the old one is refused from now on."""
    rotate_bcc_token(current_hub(), actor().id)
    flash("You have a new logging address. The old one no longer works.", "success")
    return redirect(url_for("mail.index"))
