"""Account status rules, shared by every sync and push: Enabled / Error / Pending / Connection.

* a success clears the error run and turns Error back to Enabled;
* a failure writes an error-log entry (time, area, message, fix) and turns the account to Error;
* ``AuthExpired`` turns it to Error at once with the "Reconnect" fix, and syncs stop until then;
* failing continuously for :data:`CONNECTION_AFTER` turns it to Connection — syncs stop trying
  until the user acts (reconnects or presses "retry");
* transient errors (rate limits, 5xx) are retried by the job layer and logged only once they
  have lasted long enough to matter.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hub.error_log import DEFAULT_FIX
from hub.exceptions import AuthExpired, HubError
from hub.models import Account, AccountError, AccountStatus, utcnow

#: how long continuous failure lasts before sync stops trying (docs/product-rules.md#connection-status)
CONNECTION_AFTER = timedelta(days=2)
#: error-log entries kept per account
ERROR_LOG_LIMIT = 200

#: a refused push notification (anyone can send one) is logged at most once per account in this window
WEBHOOK_LOG_EVERY = timedelta(minutes=10)
#: error-log areas only administrators see: their entries come from strangers, not from the user's account

#: statuses in which syncs run
SYNCING = {AccountStatus.ENABLED, AccountStatus.ERROR}


def record_success(session: Session, account: Account, area: str | None = None, now: datetime | None = None) -> None:
    """A sync or push of ``account`` in ``area`` succeeded.

    An Error caused by another area stays: a good calendar sync says nothing about a mail folder
    that keeps failing. ``area=None`` clears whatever failed.
    """
    now = now or utcnow()
    account.last_synced_at = now
    if area is not None and account.error_since is not None:
        failed_area = session.scalar(select(AccountError.area).where(AccountError.account_id == account.id)
                                     .order_by(AccountError.at.desc(), AccountError.id.desc()).limit(1))
        if failed_area not in (None, area):
            return
    account.error_since = None
    if account.status == AccountStatus.ERROR:
        account.status = AccountStatus.ENABLED
        account.last_error = account.last_fix = None
        status_changed(session, account, AccountStatus.ERROR)


def mark_failing(account: Account, now: datetime | None = None) -> None:
    """A transient failure the job layer retries: start the two-day clock without logging yet."""
    account.error_since = account.error_since or now or utcnow()


def log_error(session: Session, account: Account, error: Exception, area: str, now: datetime | None = None) -> AccountError:
    """Write an entry to ``account``'s error log without touching its status."""
    if isinstance(error, HubError):
        message, fix, name = error.message, error.fix, type(error).__name__
    else:  # a bug or an unmapped library error: say so plainly, keep the detail in the server log only
        message, fix, name = "An unexpected error occurred while syncing.", "The hub retries automatically.", "InternalError"
    entry = AccountError(account_id=account.id, at=now or utcnow(), area=area, error=name, message=message,
                         fix=fix or DEFAULT_FIX)
    session.add(entry)
    session.flush()
    keep = select(AccountError.id).where(AccountError.account_id == account.id).order_by(
        AccountError.at.desc(), AccountError.id.desc()).limit(ERROR_LOG_LIMIT)
    session.execute(delete(AccountError).where(AccountError.account_id == account.id,
                                               AccountError.id.not_in(keep.scalar_subquery())))
    return entry


def log_rejected_webhook(session: Session, redis, account: Account, now: datetime | None = None) -> bool:
    """Note a push notification that failed verification, rate-limited and in the hub's own words.

    A forged notification's text is the sender's, and a flood of them would push the real errors out
    of the log: so one fixed entry per account per :data:`WEBHOOK_LOG_EVERY`, shown to administrators
    only (:data:`hub.error_log.ADMIN_ONLY_AREAS`), and never a status change. Returns whether an entry was written.
    """
    window = int(WEBHOOK_LOG_EVERY.total_seconds())
    if not redis.set(f"hub:webhook-rejected:{account.id}", 1, nx=True, ex=window):
        return False
    from hub.exceptions import WebhookRejected

    log_error(session, account, WebhookRejected(
        "A push notification that did not verify was refused.",
        fix="Nothing to do unless it keeps happening; further ones are not logged for the next minutes."),
        "webhook", now)
    return True



def record_failure(
    session: Session, account: Account, error: Exception, area: str, now: datetime | None = None
) -> AccountError:
    """A sync or push of ``account`` failed with ``error``: log it and move the status on."""
    now = now or utcnow()
    entry = log_error(session, account, error, area, now)
    message, fix = entry.message, entry.fix
    account.error_since = account.error_since or now
    account.last_error, account.last_fix = message, fix
    if isinstance(error, AuthExpired):
        account.needs_reconnect = True
    if account.status in SYNCING:
        before = account.status
        account.status = AccountStatus.ERROR
        if not isinstance(error, AuthExpired) and now - account.error_since >= CONNECTION_AFTER:
            account.status = AccountStatus.CONNECTION
            account.last_fix = "Syncing stopped after two days of errors. " + (fix or "Reconnect the account.")
        if account.status != before:
            status_changed(session, account, before)
    return entry


def status_changed(session: Session, account: Account, before: AccountStatus) -> None:
    """Tell the host CRM (``account.status_changed``; ``account.disconnected`` for a disconnect)."""
    from hub import events

    data = {"account_id": account.id, "provider": account.provider, "email": account.email,
            "status": account.status.value, "previous_status": before.value, "message": account.last_error}
    events.record_for_user(session, account.user_id, "account.status_changed", data)
    if account.status == AccountStatus.DISCONNECTED:
        events.record_for_user(session, account.user_id, "account.disconnected", data)


def can_sync(account: Account) -> bool:
    """Whether syncs run for ``account`` (not Pending, Connection, Disconnected or awaiting a reconnect)."""
    return account.status in SYNCING and not account.needs_reconnect
