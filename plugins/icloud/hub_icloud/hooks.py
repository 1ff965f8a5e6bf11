"""The iCloud provider's hook implementations: thin calls into the modules that do the work.

Every per-account hook returns ``None`` for accounts of other providers (firstresult contract).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hub.exceptions import NotFound
from hub.plugins import hookimpl
from hub.types import (
    AccountHandle,
    ConnectResult,
    EventChange,
    EventPage,
    FreeBusy,
    MailPage,
    OutgoingMessage,
    ProviderContext,
    PushResult,
    RemoteCalendar,
    SentMessage,
    Window,
)
from hub_icloud import accounts, caldav_sync, freebusy, mail, writer
from hub_icloud.config import NAME, PROVIDER
from hub_icloud.discovery import list_calendars, remote_calendars


def _mine(account: AccountHandle) -> bool:
    return account.provider == NAME


@hookimpl
def hub_register_providers(register) -> None:
    register(PROVIDER)


@hookimpl
def hub_connect(context: ProviderContext, params: dict[str, Any]) -> ConnectResult | None:
    if context.name != NAME:
        return None
    return accounts.connect(context, params)


@hookimpl
def hub_disconnect(account: AccountHandle) -> bool | None:
    if not _mine(account):
        return None
    # Nothing to revoke: an app-specific password can only be revoked by its owner at appleid.apple.com.
    mail.release(account)
    return True


@hookimpl
def hub_list_calendars(account: AccountHandle) -> list[RemoteCalendar] | None:
    if not _mine(account):
        return None
    with accounts.open_connection(account) as connection:
        try:
            calendars = list_calendars(connection, connection.base)
        except NotFound:  # the account moved to another partition host: discover it again
            connection.base = accounts.refresh_home(account)
            calendars = list_calendars(connection, connection.base)
    return remote_calendars(calendars)


@hookimpl
def hub_fetch_events(account: AccountHandle, calendar_id: str, cursor: str | None, window: Window) -> EventPage | None:
    if not _mine(account):
        return None
    with accounts.open_connection(account) as connection:
        return caldav_sync.fetch_events(connection, calendar_id, cursor, window)


@hookimpl
def hub_push_events(account: AccountHandle, calendar_id: str, changes: list[EventChange]) -> list[PushResult] | None:
    if not _mine(account):
        return None
    with accounts.open_connection(account) as connection:
        return writer.push_events(connection, calendar_id, changes)


@hookimpl
def hub_free_busy(account: AccountHandle, calendar_ids: list[str], start: datetime, end: datetime) -> FreeBusy | None:
    if not _mine(account):
        return None
    with accounts.open_connection(account) as connection:
        return freebusy.free_busy(connection, calendar_ids, start, end)


@hookimpl
def hub_sync_mail(account: AccountHandle, folder: str, cursor: str | None, limit: int, since: datetime) -> MailPage | None:
    if not _mine(account):
        return None
    return mail.sync_mail(account, folder, cursor, limit, since)


@hookimpl
def hub_send_mail(account: AccountHandle, message: OutgoingMessage) -> SentMessage | None:
    if not _mine(account):
        return None
    return mail.send_mail(account, message)


@hookimpl
def hub_push_listeners(accounts, on_change):
    """iCloud Mail pushes over IMAP IDLE: the IMAP plugin's listener with iCloud's hosts."""
    from hub_imap.idle import IdleListener

    from hub_icloud.mail import mailbox_config

    return [IdleListener(lambda: accounts(NAME), lambda account_id, folder: on_change(account_id, "mail", folder),
                         config_for=mailbox_config)]
