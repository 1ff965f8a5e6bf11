"""The generic CalDAV provider's hook implementations (the ``crm_hub`` entry point ``caldav``).

Every per-account hook returns ``None`` for accounts of other providers (firstresult contract).
"""

from __future__ import annotations

from typing import Any

from hub.plugins import hookimpl
from hub.types import AccountHandle, ConnectResult, ProviderContext

from hub_caldav import accounts
from hub_caldav.calendar_hooks import CalendarHooks
from hub_caldav.config import NAME, PROVIDER

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
    return True  # nothing to revoke: a password can only be changed by its owner at the server
