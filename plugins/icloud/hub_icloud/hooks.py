"""The iCloud provider's hook implementations: thin calls into the modules that do the work.

The calendar hooks are the CalDAV plugin's, bound to iCloud accounts (iCloud is a preset of it).

Every per-account hook returns ``None`` for accounts of other providers (firstresult contract).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hub.plugins import hookimpl
from hub.types import AccountHandle, ConnectResult, MailPage, OutgoingMessage, ProviderContext, SentMessage

from hub_caldav.calendar_hooks import CalendarHooks
from hub_icloud import accounts, mail
from hub_icloud.config import NAME, PROVIDER

hub_list_calendars, hub_fetch_events, hub_push_events, hub_free_busy = CalendarHooks(
    NAME, accounts.open_connection, accounts.refresh_home).implementations()


@hookimpl
def hub_register_providers(register) -> None:
    register(PROVIDER)


@hookimpl
def hub_connect(context: ProviderContext, params: dict[str, Any]) -> ConnectResult | None:
    return accounts.connect(context, params)


@hookimpl
def hub_disconnect(account: AccountHandle) -> bool | None:
    # Nothing to revoke: an app-specific password can only be revoked by its owner at appleid.apple.com.
    mail.release(account)
    return True


@hookimpl
def hub_sync_mail(account: AccountHandle, folder: str, cursor: str | None, limit: int, since: datetime) -> MailPage | None:
    return mail.sync_mail(account, folder, cursor, limit, since)


@hookimpl
def hub_send_mail(account: AccountHandle, message: OutgoingMessage) -> SentMessage | None:
    return mail.send_mail(account, message)


@hookimpl
def hub_push_listeners(accounts, on_change):
    """iCloud Mail pushes over IMAP IDLE: the IMAP plugin's listener with iCloud's hosts."""
    from hub_icloud.mail import mailbox_config
    from hub_imap.idle import IdleListener

    return [IdleListener(lambda: accounts(NAME), lambda account_id, folder: on_change(account_id, "mail", folder),
                         config_for=mailbox_config)]
