"""The calendar hooks every CalDAV-based provider shares, bound to one provider's accounts.

The generic provider and presets with a plugin of their own (iCloud) differ only in how an
account's connection is opened; the hooks themselves are the same. A provider module exposes the
bound methods of one :class:`CalendarHooks` as its hook implementations::

    hub_list_calendars, hub_fetch_events, hub_push_events, hub_free_busy = CalendarHooks(...).implementations()

Public API: :class:`CalendarHooks`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Callable

from hub.exceptions import NotFound
from hub.plugins import hookimpl
from hub.types import AccountHandle, EventChange, EventPage, FreeBusy, PushResult, RemoteCalendar, Window

from hub_caldav import freebusy, sync, writer
from hub_caldav.connection import CalDAVConnection
from hub_caldav.discovery import list_calendars, remote_calendars


class CalendarHooks:
    """``hub_list_calendars``, ``hub_fetch_events``, ``hub_push_events`` and ``hub_free_busy`` for one provider.

    :param name: the provider's name (the hub calls these only for its accounts).
    :param open_connection: the account's CalDAV connection, based at its calendar home.
    :param refresh_home: discovers the calendar home again and stores it; returns its URL.
    """

    def __init__(self, name: str, open_connection: Callable[[AccountHandle], CalDAVConnection],
                 refresh_home: Callable[[AccountHandle], str]):
        self.name = name
        self.open_connection = open_connection
        self.refresh_home = refresh_home

    def implementations(self) -> tuple:
        """The four hook implementations, in the order of the class docstring."""
        return self.hub_list_calendars, self.hub_fetch_events, self.hub_push_events, self.hub_free_busy

    @hookimpl
    def hub_list_calendars(self, account: AccountHandle) -> list[RemoteCalendar] | None:
        with self.open_connection(account) as connection:
            try:
                calendars = list_calendars(connection, connection.base)
            except NotFound:  # the account moved to another host: discover it again
                connection.rebase(self.refresh_home(account))
                calendars = list_calendars(connection, connection.base)
        return remote_calendars(calendars)

    @hookimpl
    def hub_fetch_events(self, account: AccountHandle, calendar_id: str, cursor: str | None,
                         window: Window) -> EventPage | None:
        with self.open_connection(account) as connection:
            return sync.fetch_events(connection, calendar_id, cursor, window)

    @hookimpl
    def hub_push_events(self, account: AccountHandle, calendar_id: str,
                        changes: list[EventChange]) -> list[PushResult] | None:
        with self.open_connection(account) as connection:
            return writer.push_events(connection, calendar_id, changes)

    @hookimpl
    def hub_free_busy(self, account: AccountHandle, calendar_ids: list[str], start: datetime,
                      end: datetime) -> FreeBusy | None:
        with self.open_connection(account) as connection:
            return freebusy.free_busy(connection, calendar_ids, start, end)
