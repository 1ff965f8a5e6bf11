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
from lxml import etree

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


class CyrusCalDAVUser:
    """A Cyrus user as the CalDAV helpers name it (``name``, ``password``)."""

    def __init__(self, mail_user):
        self.name, self.password, self.email = mail_user.username, mail_user.password, mail_user.email


class CyrusCalDAV:
    """The CalDAV side of the ``cyrus`` peer (:mod:`hub.testing.peers.cyrus`) with the peers' small
    interface: ``add_user``, ``request``, ``put_object``, ``expire_sync_tokens``."""

    def __init__(self, cyrus):
        self.cyrus = cyrus
        self.url = cyrus.caldav_url()
        self.origin = f"http://{cyrus.host}:{cyrus.http_port}"

    def add_user(self) -> CyrusCalDAVUser:
        """A new user; Cyrus makes the ``Default/`` calendar on the first look at the home."""
        user = CyrusCalDAVUser(self.cyrus.add_user())
        assert self.request(user, "PROPFIND", self.home(user), headers={"Depth": "1"}).status_code == 207
        return user

    def home(self, user: CyrusCalDAVUser) -> str:
        return f"/dav/calendars/user/{user.name}/"

    def request(self, user: CyrusCalDAVUser, method: str, path: str, body: bytes | str = b"",
                headers: dict | None = None):
        import requests

        url = path if "://" in path else self.origin + path
        data = body.encode() if isinstance(body, str) else body
        headers = dict(headers or {})
        if method == "PROPFIND" and not data:  # allprop (RFC 4918 §9.1), which Cyrus wants spelled out
            data = b'<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:allprop/></d:propfind>'
            headers.setdefault("Content-Type", "application/xml")
        return requests.request(method, url, data=data, headers=headers, auth=(user.name, user.password), timeout=30)

    def put_object(self, user: CyrusCalDAVUser, path: str, ics: str | bytes) -> str:
        response = self.request(user, "PUT", path, ics, {"Content-Type": "text/calendar; charset=utf-8"})
        if response.status_code not in (201, 204):
            raise RuntimeError(f"PUT {path} answered {response.status_code}: {response.text[:200]}")
        return response.headers.get("ETag", "")

    def expire_sync_tokens(self, user: CyrusCalDAVUser) -> None:
        """Make every sync token issued for ``user``'s calendars stale (403 ``valid-sync-token``).

        Cyrus refuses a token older than the mailbox's ``deletedmodseq``, which rises when expunged
        records are cleaned up: each calendar gets a member created and deleted, then ``cyr_expire -X 0``
        removes the expunged records (as the server's nightly run would, days later).
        """
        import os
        import subprocess

        listing = self.request(user, "PROPFIND", self.home(user), '<?xml version="1.0"?><d:propfind xmlns:d="DAV:">'
                               '<d:prop><d:resourcetype/></d:prop></d:propfind>',
                               {"Depth": "1", "Content-Type": "application/xml"})
        calendars = [r.findtext("{DAV:}href") for r in etree.fromstring(listing.content).iter("{DAV:}response")
                     if r.find(".//{DAV:}resourcetype/{urn:ietf:params:xml:ns:caldav}calendar") is not None]
        for calendar in calendars:
            href = f"{calendar}expire-{secrets.token_hex(6)}.ics"
            self.put_object(user, href, event_ics(RemoteEvent(
                remote_id="", start=datetime(2020, 1, 1, 9, tzinfo=timezone.utc),
                end=datetime(2020, 1, 1, 10, tzinfo=timezone.utc), summary="expire"), secrets.token_hex(8)))
            assert self.request(user, "DELETE", href).status_code in (200, 204)
        as_cyrus = ["runuser", "-u", self.cyrus.run_as, "--"] if os.geteuid() == 0 else []
        subprocess.run([*as_cyrus, str(self.cyrus.bin / "cyr_expire"), "-C", str(self.cyrus.config_path), "-X", "0"],
                       check=True, capture_output=True, env=self.cyrus.environment, timeout=60)
