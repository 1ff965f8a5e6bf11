"""Connecting, reconnecting and disconnecting accounts — the rules the web UI and the API share.

* connect: the plugin checks the credentials (``hub_connect``); the account is stored with its
  credentials encrypted; the company's mailbox cap may leave it Pending; the initial sync is enqueued;
* reconnect (connect again to an account in Error): clears the error and restores what a
  disconnect deactivated (meeting types, booking links);
* disconnect: revokes tokens at the provider (``hub_disconnect``), stops push channels, deactivates
  the user's meeting types that depended on the account, and promotes the oldest Pending mailbox.
  Meetings already on the remote calendar stay there.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub import work
from hub.account_status import status_changed
from hub.core import Hub
from hub.exceptions import ValidationError
from hub.models import (
    Account,
    AccountStatus,
    Calendar,
    MeetingType,
    Organization,
    PushChannelRecord,
    User,
    utcnow,
)
from hub.types import PushChannel

log = logging.getLogger(__name__)

ACTIVE = (AccountStatus.ENABLED, AccountStatus.ERROR, AccountStatus.CONNECTION)


def connect_account(hub: Hub, user_id: int, provider: str, params: dict[str, Any]) -> int:
    """Verify credentials with the provider's plugin and store the account. Returns its id.

    :raises AuthenticationFailed, ConnectFailed, NotSupported: from the plugin, shown to the user.
    """
    info = hub.plugins.provider(provider)
    result = hub.plugins.call("hub_connect", context=hub.provider_context(provider), params=params)
    if not result.email:
        raise ValidationError(f"{info.label} did not tell which address the account has.")
    with hub.db.session(write_lock=True) as s:
        account = s.scalar(select(Account).where(
            Account.user_id == user_id, Account.provider == provider, func.lower(Account.email) == result.email.lower()))
        reconnect = account is not None
        if account is None:
            account = Account(user_id=user_id, provider=provider, email=result.email)
            s.add(account)
        account.display_name = result.display_name or account.display_name or ""
        account.credentials = result.credentials
        account.settings = {**(account.settings or {}), **result.settings}
        account.needs_reconnect = False
        account.error_since = None
        account.last_error = account.last_fix = None
        if not reconnect or account.status == AccountStatus.DISCONNECTED:
            account.connected_at = utcnow()
        account.status = AccountStatus.ENABLED
        s.flush()
        if info.can("mail") and account.mail_enabled and over_mailbox_cap(s, account, mail_providers(hub)):
            account.status = AccountStatus.PENDING
        _restore_meeting_types(s, account)
        account_id = account.id
    if account.status != AccountStatus.PENDING:
        work.enqueue_account_sync(hub, account_id)
    hub.plugins.notify("hub_account_connected", account_id=account_id, provider=provider)
    return account_id


def disconnect_account(hub: Hub, account_id: int) -> None:
    """Disconnect: revoke at the provider, stop channels, deactivate dependent meeting types."""
    handle = hub.account_handle(account_id)
    with hub.db.session(write_lock=True) as s:
        channels = s.scalars(select(PushChannelRecord).where(PushChannelRecord.account_id == account_id)).all()
        stop = [to_channel(c) for c in channels]
    for channel in stop:
        try:
            hub.plugins.maybe_call("hub_unwatch", account=handle, channel=channel)
        except Exception:  # a channel that cannot be stopped expires on its own
            log.info("could not stop channel %s of account %s", channel.channel_id, account_id)
    try:
        hub.plugins.maybe_call("hub_disconnect", account=handle)
    except Exception:  # never let the provider block a disconnect
        log.info("provider revocation failed for account %s", account_id)
    with hub.db.session(write_lock=True) as s:
        account = s.get(Account, account_id)
        s.query(PushChannelRecord).filter_by(account_id=account_id).delete()
        before, account.status = account.status, AccountStatus.DISCONNECTED
        status_changed(s, account, before)
        account.credentials = None
        _deactivate_meeting_types(s, account)
        promoted = _promote_pending(s, account.user, mail_providers(hub))
    for pending_id in promoted:  # a freed mailbox slot starts the next one's sync now, not at the next poll
        work.enqueue_account_sync(hub, pending_id)


def to_channel(record: PushChannelRecord) -> PushChannel:
    return PushChannel(
        channel_id=record.channel_id, expires_at=record.expires_at, resource_id=record.resource_id,
        token=(record.token or {}).get("token"), calendar_id=record.key if record.kind == "calendar" else None,
        folder=record.key if record.kind == "mail" else None,
    )


# --- mailbox cap -----------------------------------------------------------------------------------


def mail_providers(hub: Hub) -> set[str]:
    """Providers whose accounts sync mail (and so count against the company's mailbox cap)."""
    return {name for name, info in hub.plugins.providers.items() if info.can("mail")}


def over_mailbox_cap(s: Session, account: Account, providers: set[str]) -> bool:
    """Whether syncing ``account``'s mail would exceed its company's cap of synced mailboxes.

    :param providers: the mail-syncing providers (:func:`mail_providers`); calendar-only accounts
        never take a slot.
    """
    org = s.get(Organization, account.user.organization_id) if account.user.organization_id else None
    if org is None or org.mailbox_cap is None:
        return False
    used = s.scalar(select(func.count(Account.id)).join(User, User.id == Account.user_id).where(
        User.organization_id == org.id, Account.id != account.id, Account.mail_enabled.is_(True),
        Account.provider.in_(providers), Account.status.in_(ACTIVE)))
    return used >= org.mailbox_cap


def _promote_pending(s: Session, user: User, providers: set[str]) -> list[int]:
    """Enable Pending mailboxes, oldest first, while the company's cap allows."""
    promoted: list[int] = []
    if user.organization_id is None:
        return promoted
    pending = s.scalars(select(Account).join(User, User.id == Account.user_id).where(
        User.organization_id == user.organization_id, Account.status == AccountStatus.PENDING
    ).order_by(Account.created_at)).all()
    for account in pending:
        if over_mailbox_cap(s, account, providers):
            break
        account.status = AccountStatus.ENABLED
        promoted.append(account.id)
    return promoted


def promote_pending_accounts(hub: Hub, organization_id: int) -> list[int]:
    """After the cap was raised: enable what now fits and start its sync."""
    with hub.db.session(write_lock=True) as s:
        any_user = s.scalar(select(User).where(User.organization_id == organization_id).limit(1))
        promoted = _promote_pending(s, any_user, mail_providers(hub)) if any_user else []
    for account_id in promoted:
        work.enqueue_account_sync(hub, account_id)
    return promoted


# --- meeting types follow the accounts they book into ------------------------------------------


def _deactivate_meeting_types(s: Session, account: Account) -> None:
    """Deactivate the user's meeting types when the account held their default calendar.

    With no other connected calendar account, nothing can be booked: every type goes inactive.
    """
    still_connected = s.scalar(select(func.count(Account.id)).where(
        Account.user_id == account.user_id, Account.id != account.id, Account.status.in_(ACTIVE)))
    held_default = s.scalar(select(func.count(Calendar.id)).where(
        Calendar.account_id == account.id, Calendar.is_default.is_(True)))
    if still_connected and not held_default:
        return
    for mt in s.scalars(select(MeetingType).where(MeetingType.user_id == account.user_id,
                                                  MeetingType.active.is_(True))):
        mt.active = False
        mt.deactivated_by_account_id = account.id


def _restore_meeting_types(s: Session, account: Account) -> None:
    for mt in s.scalars(select(MeetingType).where(MeetingType.deactivated_by_account_id == account.id)):
        mt.active = True
        mt.deactivated_by_account_id = None
