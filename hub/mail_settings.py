"""Turning an account's mail sync off (keeping or removing what it logged) and on again.

Public API: :func:`disable_mail_sync`, :func:`enable_mail_sync`, :func:`choose_sent_folder`.

Removing takes the account's synced mail off contact, company and opportunity timelines and deletes
the stored copies — nothing else: contacts, companies, opportunities, meetings, mail sent from the
CRM and mail logged through the BCC address stay. A mail that also arrived in another of the user's
accounts stays on the timeline through that copy. Turning mail sync off frees one of the company's
synced mailboxes, so a Pending account may start syncing.
"""

from __future__ import annotations

import sqlalchemy as sa

from hub import work
from hub.accounts import mail_providers, over_mailbox_cap, promote_pending_accounts
from hub.crm.timeline import remove_messages
from hub.exceptions import ConfigError
from hub.models import Account, AccountStatus, MailMessage, SyncCursor


def _synced_messages(account_id: int):
    """The messages mail sync logged for ``account_id`` (what "remove previous communication" removes)."""
    return sa.select(MailMessage.id).where(MailMessage.account_id == account_id, MailMessage.source == "sync")


def count_synced_messages(hub, account_id: int) -> int:
    with hub.db.session() as s:
        return s.scalar(sa.select(sa.func.count()).select_from(_synced_messages(account_id).subquery()))


def disable_mail_sync(hub, account_id: int, remove_logged: bool) -> dict:
    """Stop syncing mail of ``account_id``; with ``remove_logged`` also take its synced mail off timelines.

    :return: ``{"removed": <messages deleted>, "promoted": [<account ids now Enabled>]}``.
    """
    with hub.db.session(write_lock=True) as s:
        account = s.get(Account, account_id)
        if account is None:
            raise ConfigError(f"Account {account_id} does not exist.")
        account.mail_enabled = False
        if account.status == AccountStatus.PENDING:  # it waited for a mailbox slot it no longer needs
            account.status = AccountStatus.ENABLED
        removed = 0
        if remove_logged:
            doomed = s.scalars(_synced_messages(account_id)).all()
            removed = remove_messages(s, doomed)
            # a later enable starts with a fresh initial sync rather than after mail it no longer has
            s.execute(sa.delete(SyncCursor).where(SyncCursor.account_id == account_id, SyncCursor.kind == "mail"))
        organization_id = account.user.organization_id
    promoted = promote_pending_accounts(hub, organization_id) if organization_id else []
    return {"removed": removed, "promoted": promoted}


def enable_mail_sync(hub, account_id: int) -> AccountStatus:
    """Turn mail sync back on; the account waits as Pending when the company's mailbox cap is full."""
    with hub.db.session(write_lock=True) as s:
        account = s.get(Account, account_id)
        if account is None:
            raise ConfigError(f"Account {account_id} does not exist.")
        account.mail_enabled = True
        if account.status == AccountStatus.ENABLED and over_mailbox_cap(s, account, mail_providers(hub)):
            account.status = AccountStatus.PENDING
        status = account.status
    if status != AccountStatus.PENDING:
        work.enqueue_account_sync(hub, account_id)
    return status


def choose_sent_folder(hub, account_id: int, mailbox: str) -> None:
    """Sync ``mailbox`` as the account's Sent folder: stored in its settings, and the "sent" folder
    synced again from scratch (what came from the old folder and is not in the new one goes)."""
    with hub.db.session(write_lock=True) as s:
        account = s.get(Account, account_id)
        if account is None:
            raise ConfigError(f"Account {account_id} does not exist.")
        account.settings = {**(account.settings or {}), "sent_folder": mailbox}
        s.execute(sa.delete(SyncCursor).where(SyncCursor.account_id == account_id, SyncCursor.kind == "mail",
                                              SyncCursor.key == "sent"))
        enabled = account.mail_enabled and account.status != AccountStatus.PENDING
    if enabled:
        work.enqueue_account_sync(hub, account_id)
