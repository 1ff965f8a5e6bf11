"""The calendar-feed provider's hooks: subscribe to an iCalendar feed and read it (``CALENDAR_READ``).

The hub calls these only for accounts of this provider. A feed account holds one calendar, the feed;
it is read-only, so the hub treats it as a ``reader`` calendar: the user makes it a conflict
calendar ("Use more calendars") and from then on it syncs and blocks booking slots.
"""

from __future__ import annotations

from typing import Any, Callable

from hub.plugins import hookimpl
from hub.types import (
    CALENDAR_READ,
    AccountHandle,
    ConnectField,
    ConnectResult,
    EventPage,
    ProviderContext,
    ProviderInfo,
    RemoteCalendar,
    Window,
)

from hub_ics import feed

NAME = "ics"
#: the one calendar of a feed account
CALENDAR_ID = "feed"

INFO = ProviderInfo(
    name=NAME,
    label="Calendar feed",
    capabilities=frozenset({CALENDAR_READ}),
    connect_kind="form",
    connect_form=(
        ConnectField("url", "Feed address (webcal:// or https://)", kind="text",
                     help="The calendar's subscription address, e.g. a holiday calendar or a private iCal link."),
        ConnectField("username", "User name", kind="text", required=False, help="Only if the feed asks for one."),
        ConnectField("password", "Password", kind="password", required=False),
    ),
    description="Subscribe to a calendar feed (iCalendar): read-only, usable as a conflict calendar for booking.",
)


@hookimpl
def hub_register_providers(register: Callable[[ProviderInfo], None]) -> None:
    """Register the calendar-feed provider."""
    register(INFO)


@hookimpl
def hub_connect(context: ProviderContext, params: dict[str, Any]) -> ConnectResult:
    """Check that the address serves an iCalendar feed with these credentials; store them encrypted."""
    url = feed.normalize_url(params.get("url", ""))
    username = (params.get("username") or "").strip() or None
    password = params.get("password") or None
    got = feed.download(url, username, password, context.allow_private_hosts, connecting=True)
    read = feed.read(got.body)
    host = feed.host_of(url)
    # the address may carry a secret token (private calendar links do): it is stored encrypted, with the
    # password; the account is named by the feed's host alone
    return ConnectResult(email=f"{username if username and '@' not in username else 'feed'}@{host}",
                         credentials={"url": url, "password": password}, display_name=read.name or host,
                         settings={"username": username, "name": read.name, "timezone": read.timezone})


@hookimpl
def hub_disconnect(account: AccountHandle) -> bool:
    """Nothing to revoke at a feed; the hub forgets the address and password."""
    return True


def _download(account: AccountHandle, validator: str | None = None):
    return feed.download(account.credentials["url"], account.settings.get("username"),
                         account.credentials.get("password"), account.context.allow_private_hosts, validator)


@hookimpl
def hub_list_calendars(account: AccountHandle) -> list[RemoteCalendar]:
    """The feed as one read-only calendar (downloaded, so a feed that went away shows at once)."""
    got = _download(account)
    read = feed.read(got.body)
    return [RemoteCalendar(remote_id=CALENDAR_ID, name=read.name or feed.host_of(account.credentials["url"]),
                           access_role="reader", is_primary=True, timezone=read.timezone)]


@hookimpl
def hub_fetch_events(account: AccountHandle, calendar_id: str, cursor: str | None, window: Window) -> EventPage:
    """What changed in the feed since ``cursor`` (all its events in the window when ``cursor`` is None)."""
    got = _download(account, feed.validator_of(cursor))
    if got is None:  # 304: nothing changed
        return EventPage(next_cursor=cursor, done=True)
    return feed.changes(feed.read(got.body, window), got.validator, cursor)
