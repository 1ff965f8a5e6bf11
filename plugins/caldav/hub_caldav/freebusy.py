"""Free/busy for iCloud calendars, computed here because iCloud offers no free/busy query.

One time-range ``calendar-query`` per calendar brings the objects overlapping the range; the
``recurring-ical-events`` library expands their recurrences (overrides and EXDATEs included) and
the busy occurrences are merged into intervals. ``TRANSP:TRANSPARENT`` and cancelled occurrences
are free. The booking flow calls this only to re-check one slot, so the range is short; everyday
availability comes from the intervals the sync stored.

Public API: :func:`free_busy`.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from hub.exceptions import AuthExpired, HubError, ProviderUnavailable, RateLimited
from hub.types import BusyInterval, FreeBusy

from hub_caldav import queries
from hub_caldav.connection import CalDAVConnection
from hub_caldav.discovery import calendar_state
from hub_caldav.ical import CalendarObject, MalformedObject, resolve_zone

log = logging.getLogger(__name__)


def free_busy(connection: CalDAVConnection, calendar_hrefs: list[str], start: datetime, end: datetime) -> FreeBusy:
    """Busy intervals of each calendar between ``start`` and ``end``.

    A calendar that cannot be read goes into ``errors`` (the core then treats it as busy);
    a failure of the account or the server is raised.
    """
    answer = FreeBusy()
    for href in calendar_hrefs:
        try:
            answer.busy[href] = _calendar_busy(connection, href, start, end)
        except (AuthExpired, RateLimited, ProviderUnavailable):
            raise
        except HubError as exc:
            answer.errors[href] = exc.message
    return answer


def _calendar_busy(connection: CalDAVConnection, href: str, start: datetime, end: datetime) -> list[BusyInterval]:
    zone = resolve_zone(calendar_state(connection, href, token=False).timezone) or timezone.utc
    response = connection.report(href, queries.calendar_query(start, end), depth=1)
    with connection.translating():
        results = response.parse_calendar_query()
    spans: list[tuple[datetime, datetime]] = []
    for result in results:
        if not result.calendar_data:
            continue
        try:
            obj = CalendarObject.parse(result.calendar_data, result.href, result.etag, zone)
            spans.extend(obj.busy_between(start, end))
        except MalformedObject as exc:
            log.warning("free/busy skips the unreadable calendar object %s: %s", result.href, exc)
    return merge(spans, start, end)


def merge(spans: list[tuple[datetime, datetime]], start: datetime, end: datetime) -> list[BusyInterval]:
    """Clip ``spans`` to ``[start, end)`` and merge overlapping or touching ones, in UTC."""
    clipped = sorted((max(a, start).astimezone(timezone.utc), min(b, end).astimezone(timezone.utc))
                     for a, b in spans if a < end and b > start)
    merged: list[BusyInterval] = []
    for a, b in clipped:
        if merged and a <= merged[-1].end:
            merged[-1].end = max(merged[-1].end, b)
        else:
            merged.append(BusyInterval(a, b))
    return merged
