"""Incremental CalDAV sync of one calendar: ``hub_fetch_events``' algorithm.

Full sync (no cursor):
    1. read the calendar's state first (``DAV:sync-token``, ``CS:getctag``; without a sync token,
       the href→etag listing of every member) — taken *before* the data, so a change racing with
       the import shows up again next time instead of being lost;
    2. list the objects of the window with a ``calendar-query`` time-range REPORT *without* data,
       then fetch them with ``calendar-multiget``, :data:`BATCH` a page: servers cap what one REPORT
       may return (Radicale refuses more than 10,000 VEVENTs), so any size syncs, and each page is
       one transaction of a few hundred events for the hub. The hrefs still to fetch ride in the
       cursor (``SyncState.pending``), so an import that failed half-way resumes where it stopped.

Incremental, on servers with sync tokens (RFC 6578):
    ``sync-collection`` from the stored token (etags only), then the changed objects by multiget.
    Removed members come back deleted; a 403 or 412 ``valid-sync-token`` is :class:`CursorExpired`
    (the engine full-syncs); a 507-truncated reply is one page (``done=False``), the next call
    continues from its token. A calendar without changes costs that one REPORT.

Incremental, on servers without sync tokens (the fallback):
    nothing to do while ``CS:getctag`` is unchanged; otherwise list href→etag (Depth-1 PROPFIND),
    ``calendar-multiget`` what is new or changed, report what vanished as deleted.

The imported range ends on a UTC midnight after the window's end (``SyncState.until``). When the
window's end passes it, the next whole days are imported with a ``calendar-query`` — so at most
once a day, and never a zero-width or sub-minute range (servers answer those with errors). An
object that changed and no longer touches the imported range is reported deleted; events are
never reported deleted only because time passed.

The cursor is JSON (:class:`SyncState`). It also remembers which occurrences of each series were
reported on their own (overrides, cancellations) so that one that disappears is reported deleted.
An object the hub cannot read is skipped and reported in ``EventPage.unreadable`` (the core logs it
for the user); the rest of the page goes on. Objects are read by :func:`hub_caldav.plain_events.read_events`
where they are plain (most are; several times faster), else by :class:`hub_caldav.ical.CalendarObject`.

Public API: :func:`fetch_events`, :class:`SyncState`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Iterable

from hub.exceptions import CursorExpired, NotSupported
from hub.types import EventPage, RemoteEvent, Window

from hub_caldav import queries
from hub_caldav.connection import CalDAVConnection
from hub_caldav.discovery import calendar_state
from hub_caldav.ical import CalendarObject, MalformedObject, exception_id, resolve_zone
from hub_caldav.plain_events import read_events

log = logging.getLogger(__name__)

VERSION = 1
#: hrefs per calendar-multiget: far below what servers allow in one REPORT
BATCH = 500


@dataclass
class SyncState:
    """What the cursor of one calendar holds."""

    mode: str  # "token" (RFC 6578) or "etag" (ctag + href→etag comparison)
    until: str  # ISO end of the range already imported (a UTC midnight)
    token: str | None = None
    ctag: str | None = None
    etags: dict[str, str] = field(default_factory=dict)
    #: href → keys of the occurrences reported as separate events
    series: dict[str, list[str]] = field(default_factory=dict)
    zone: str | None = None
    #: hrefs listed by a full sync and not fetched yet (its next pages)
    pending: list[str] = field(default_factory=list)
    v: int = VERSION

    def dump(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), sort_keys=True)

    @classmethod
    def load(cls, cursor: str) -> "SyncState":
        """Read a cursor; one this plugin cannot read means a full sync.

        :raises CursorExpired: the cursor is from another version or damaged.
        """
        try:
            data = json.loads(cursor)
            if data.get("v") != VERSION:
                raise ValueError("version")
            return cls(**data)
        except (ValueError, TypeError, AttributeError):
            raise CursorExpired("The calendar's sync cursor is from an older version.") from None


@dataclass
class Fetched:
    """One object as a REPORT returned it."""

    href: str
    etag: str | None
    data: str | None


class _Page:
    """Collects one page: events, deletions and the series bookkeeping of ``state``."""

    def __init__(self, state: SyncState, calendar_href: str, zone: tzinfo | None):
        self.state, self.calendar_href, self.zone = state, calendar_href, zone
        self.events: list[RemoteEvent] = []
        self.deleted: list[str] = []
        self.unreadable: list[tuple[str, str]] = []

    def upsert(self, objects: Iterable[Fetched], window: Window | None = None) -> None:
        """Add ``objects``; with ``window``, those that left it are reported deleted instead."""
        for item in objects:
            if item.href.rstrip("/") == self.calendar_href.rstrip("/") or item.data is None:
                continue  # iCloud lists the collection itself among the results
            plain = read_events(item.data, item.href, item.etag, self.zone) if window is None else None
            if plain is not None:
                events, new = plain
            else:
                try:
                    obj = CalendarObject.parse(item.data, item.href, item.etag, self.zone)
                    if window is not None and not obj.occurs_between(window.start, window.end):
                        self.remove(item.href)
                        continue
                    events, new = obj.events(), obj.exception_keys()
                except MalformedObject as exc:
                    self.unreadable.append((item.href, str(exc)))
                    log.warning("skipping the unreadable calendar object %s: %s", item.href, exc)
                    continue
            old = set(self.state.series.pop(item.href, []))
            if new:
                self.state.series[item.href] = sorted(new)
            self.deleted.extend(exception_id(item.href, key) for key in sorted(old - new))
            self.events.extend(events)

    def remove(self, href: str) -> None:
        """Report ``href`` and every occurrence reported for it as deleted."""
        self.deleted.append(href)
        self.deleted.extend(exception_id(href, key) for key in self.state.series.pop(href, []))

    def result(self, done: bool = True) -> EventPage:
        return EventPage(events=self.events, deleted=self.deleted, next_cursor=self.state.dump(), done=done,
                         unreadable=self.unreadable)


def fetch_events(connection: CalDAVConnection, calendar_href: str, cursor: str | None, window: Window) -> EventPage:
    """One page of changes of the calendar at ``calendar_href`` (see the module docstring)."""
    if cursor is None:
        return _full(connection, calendar_href, window)
    state = SyncState.load(cursor)
    zone = resolve_zone(state.zone)
    if state.pending:
        return _next_batch(connection, _Page(state, calendar_href, zone))
    if state.mode == "token":
        return _by_token(connection, calendar_href, state, window, zone)
    return _by_etag(connection, calendar_href, state, window, zone)


def _full(connection: CalDAVConnection, calendar_href: str, window: Window) -> EventPage:
    info = calendar_state(connection, calendar_href)
    if not info.sync_token:  # the ctag is only needed without sync tokens, and costs the server a scan
        info = calendar_state(connection, calendar_href, token=False, ctag=True)
    until = _midnight_after(window.end)
    state = SyncState(mode="token" if info.sync_token else "etag", until=until.isoformat(),
                      token=info.sync_token, ctag=info.ctag, zone=info.timezone)
    if state.mode == "etag":
        state.etags = _etags(connection, calendar_href)
    state.pending = _hrefs(connection, calendar_href, window.start, until)
    return _next_batch(connection, _Page(state, calendar_href, resolve_zone(info.timezone)))


def _next_batch(connection: CalDAVConnection, page: _Page) -> EventPage:
    """One page of a full sync: the next :data:`BATCH` of the listed hrefs."""
    state = page.state
    batch, state.pending = state.pending[:BATCH], state.pending[BATCH:]
    page.upsert(_multiget(connection, page.calendar_href, batch))
    return page.result(done=not state.pending)


def _by_token(connection: CalDAVConnection, calendar_href: str, state: SyncState, window: Window,
              zone: tzinfo | None) -> EventPage:
    try:
        response = connection.report(calendar_href, queries.sync_collection(state.token, with_data=False), depth=0)
    except NotSupported:
        raise CursorExpired("The calendar server stopped offering sync tokens.") from None
    with connection.translating():
        result = response.parse_sync_collection()
    changed = [c.href for c in result.changed if c.href.rstrip("/") != calendar_href.rstrip("/")]
    page = _Page(state, calendar_href, zone)
    page.upsert(_multiget(connection, calendar_href, changed), _imported(state, window))
    for href in result.deleted:
        page.remove(href)
    state.token = result.sync_token or state.token
    if result.truncated:
        return page.result(done=False)
    _extend(connection, calendar_href, page, window)
    return page.result()


def _by_etag(connection: CalDAVConnection, calendar_href: str, state: SyncState, window: Window,
             zone: tzinfo | None) -> EventPage:
    info = calendar_state(connection, calendar_href, token=False, ctag=True)
    page = _Page(state, calendar_href, zone)
    if not (info.ctag and info.ctag == state.ctag):
        current = _etags(connection, calendar_href)
        changed = [href for href, etag in current.items() if state.etags.get(href) != etag]
        for href in state.etags.keys() - current.keys():
            page.remove(href)
        if changed:
            page.upsert(_multiget(connection, calendar_href, changed), _imported(state, window))
        state.etags, state.ctag = current, info.ctag
    _extend(connection, calendar_href, page, window)
    return page.result()


def _extend(connection: CalDAVConnection, calendar_href: str, page: _Page, window: Window) -> None:
    """Import the whole days the window gained since the last sync (at most once a day)."""
    until = datetime.fromisoformat(page.state.until)
    if window.end > until:
        new_until = max(_midnight_after(window.end), _midnight_after(until + timedelta(days=1) - _SECOND))
        page.upsert(_query(connection, calendar_href, until, new_until))
        page.state.until = new_until.isoformat()


_SECOND = timedelta(seconds=1)


def _midnight_after(moment: datetime) -> datetime:
    """The first UTC midnight strictly after ``moment``."""
    day = moment.astimezone(timezone.utc).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)


def _imported(state: SyncState, window: Window) -> Window:
    """The range the cursor covers: the window, up to the midnight already imported."""
    return Window(window.start, max(window.end, datetime.fromisoformat(state.until)))


def _query(connection: CalDAVConnection, calendar_href: str, start: datetime, end: datetime) -> list[Fetched]:
    """Objects with an occurrence in ``[start, end)``: their hrefs by calendar-query, their data by multiget."""
    return _multiget(connection, calendar_href, _hrefs(connection, calendar_href, start, end))


def _hrefs(connection: CalDAVConnection, calendar_href: str, start: datetime, end: datetime) -> list[str]:
    """The hrefs of the objects with an occurrence in ``[start, end)`` (a calendar-query without data)."""
    response = connection.report(calendar_href, queries.calendar_query(start, end, with_data=False), depth=1)
    with connection.translating():
        return [r.href for r in response.parse_calendar_query()
                if r.status == 200 and r.href.rstrip("/") != calendar_href.rstrip("/")]


def _multiget(connection: CalDAVConnection, calendar_href: str, hrefs: list[str]) -> list[Fetched]:
    """The data of ``hrefs``, :data:`BATCH` per REPORT."""
    fetched: list[Fetched] = []
    for first in range(0, len(hrefs), BATCH):
        response = connection.report(calendar_href, queries.multiget(hrefs[first:first + BATCH]), depth=None)
        with connection.translating():
            fetched.extend(Fetched(r.href, r.etag, r.calendar_data) for r in response.parse_calendar_query()
                           if r.status == 200)
    return fetched


def _etags(connection: CalDAVConnection, calendar_href: str) -> dict[str, str]:
    """href → etag of every object in the calendar (no data: a cheap Depth-1 PROPFIND)."""
    results = connection.propfind(calendar_href, ["{DAV:}getetag"], depth=1)
    return {r.href: str(r.properties.get("{DAV:}getetag") or "") for r in results
            if r.href.rstrip("/") != calendar_href.rstrip("/")}
