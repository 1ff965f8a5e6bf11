"""Test helpers for CalDAV providers: the conformance suite's Remote on a CalDAV peer, and accounts.

Events are written as plain HTTP PUTs of iCalendar built here with the ``icalendar`` library —
never with the plugin's own code — so the tests compare the plugin against an independent writer.
The peers (:mod:`hub.testing.peers.caldav`: Radicale, Xandikos) share the small interface used
here: ``put_object``, ``request``, ``expire_sync_tokens``. Shipped in the package (not in
``tests/``) so tests and other plugins import it the same way whatever pytest's import mode.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import icalendar

from hub.testing.conformance import Remote
from hub.types import AccountHandle, ProviderContext, RemoteEvent


def event_ics(event: RemoteEvent, uid: str) -> str:
    """A VCALENDAR for ``event`` as a typical client writes it (keeping X- properties it saw)."""
    vevent = icalendar.Event()
    vevent.add("UID", uid)
    vevent.add("DTSTAMP", datetime.now(timezone.utc))
    start, end = event.start, event.end
    if not event.all_day and event.timezone and event.timezone != "UTC":
        zone = ZoneInfo(event.timezone)
        start, end = start.astimezone(zone), end.astimezone(zone)
    vevent.add("DTSTART", start)
    vevent.add("DTEND", end)
    vevent.add("SUMMARY", event.summary)
    if event.location:
        vevent.add("LOCATION", event.location)
    if event.transparent:
        vevent.add("TRANSP", "TRANSPARENT")
    for line in event.recurrence:
        name, _, value = line.partition(":")
        if name == "RRULE":
            vevent.add("RRULE", icalendar.vRecur.from_ical(value))
    if event.hub_marker:  # clients keep unknown X- properties when they edit an event
        vevent.add("X-CRM-HUB-MARKER", event.hub_marker)
    calendar = icalendar.Calendar()
    calendar.add("PRODID", "-//hub tests//another client//EN")
    calendar.add("VERSION", "2.0")
    calendar.add_component(vevent)
    calendar.add_missing_timezones()
    return calendar.to_ical().decode()


class CalDAVRemote(Remote):
    """Remote edits for one user of a CalDAV peer."""

    def __init__(self, server, user):
        self.server, self.user = server, user

    def create_event(self, calendar_id: str, event: RemoteEvent) -> str:
        uid = secrets.token_hex(8)
        href = f"{calendar_id}{uid}.ics"
        self.server.put_object(self.user, href, event_ics(event, uid))
        return href

    def update_event(self, calendar_id: str, event: RemoteEvent) -> None:
        self.server.put_object(self.user, event.remote_id, event_ics(event, event.ical_uid or secrets.token_hex(8)))

    def delete_event(self, calendar_id: str, remote_id: str) -> None:
        response = self.server.request(self.user, "DELETE", remote_id)
        assert response.status_code in (200, 204), response.text

    def expire_cursors(self) -> None:
        self.server.expire_sync_tokens(self.user)


def etag_cursor_outlives_expiry(suite, hooks, account, calendar_id: str, remote, window) -> None:
    """``test_expired_cursor`` for servers without sync tokens: the cursor is the client's own etag
    map, which nothing on the server can expire — it must keep working after the server forgot its
    history. ``suite`` is the :class:`~hub.testing.conformance.ProviderTests` instance."""
    from hub.testing.conformance import fetch_all

    created = remote.create_event(calendar_id, suite._event("before", 3, 9))
    cursor = fetch_all(hooks, account, calendar_id, None, window).cursor
    remote.expire_cursors()
    later = remote.create_event(calendar_id, suite._event("after", 3, 11))
    delta = fetch_all(hooks, account, calendar_id, cursor, window)
    assert later in delta.events and created not in delta.events


def plugin_hooks():
    """A real plugin manager with only the CalDAV plugin, as the hub builds it."""
    from hub.plugins import PluginManager
    from hub_caldav import hooks

    manager = PluginManager()
    manager.load("", extra=[("caldav", hooks)])
    return manager.hook


def context(allow_private: bool = True, **config) -> ProviderContext:
    """The provider context of the CalDAV provider (private hosts allowed: the peers are on loopback)."""
    return ProviderContext(name="caldav", config=config, base_url="http://127.0.0.1:8000",
                           allow_private_hosts=allow_private)


def connect(hooks, user, server: str = "", email: str | None = None, config: dict | None = None, **params):
    """Connect ``user`` through ``hub_connect`` and return the AccountHandle the core would build."""
    ctx = context(**(config or {}))
    result = hooks.hub_connect(context=ctx, params={"email": email if email is not None else user.name,
                                                     "server": server, "password": user.password, **params})
    return AccountHandle(id=7, provider="caldav", email=result.email, credentials=dict(result.credentials),
                         settings=dict(result.settings), context=ctx)
