"""Busy time, expanded at sync time: calendar events → :class:`~hub.models.BusyBlock` rows.

Public API:

* :func:`blocks` — the busy intervals (UTC) of one event or one recurring series inside a window;
* :func:`is_blocking` — whether one event makes its owner busy at all;
* :func:`replace_blocks` — swap the stored blocks of an event row for new ones;
* :func:`block_rows` — BusyBlock rows (with their epoch-second copies) for some intervals.

Algorithm: availability must never parse iCalendar per request (PERF_NOTES.md), so the sync engine
calls :func:`blocks` whenever an event (or any exception of a series) changes and stores the result.
A recurring series is rebuilt as an iCalendar VEVENT set — the master with its RRULE/EXDATE/RDATE
lines verbatim, each modified occurrence as a VEVENT with RECURRENCE-ID — and expanded by
recurring-ical-events, which gets RFC 5545 right (time zones and DST, all-day series, overrides).
Occurrences that do not block time (cancelled, transparent/"free", declined by the user) become
EXDATEs, so they never appear. All-day events block whole days in the calendar's time zone.
"""

from __future__ import annotations

import logging
import math
from datetime import date, datetime, time, timezone
from typing import Iterable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar
import recurring_ical_events
import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.models import BusyBlock
from hub.types import RemoteEvent

log = logging.getLogger(__name__)

Interval = tuple[datetime, datetime]

#: marks modified occurrences in the VEVENT set, so a non-blocking master's own occurrences can be told apart
_EXCEPTION_MARK = "X-HUB-EXCEPTION"


def zone(name: str | None) -> ZoneInfo:
    """The IANA zone ``name``, or UTC for an empty or unknown name (never fails a sync)."""
    try:
        return ZoneInfo(name) if name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("unknown time zone %r, using UTC", name)
        return ZoneInfo("UTC")


def is_blocking(event: RemoteEvent, self_emails: Iterable[str] = ()) -> bool:
    """True when ``event`` makes its calendar's owner busy.

    Transparent ("free", "working elsewhere") and cancelled events do not; neither does an
    invitation the user declined.
    """
    if event.transparent or event.status == "cancelled":
        return False
    mine = {e.lower() for e in self_emails}
    return not any(a.email.lower() in mine and a.response == "declined" for a in event.attendees)


def to_utc(value: datetime | date, tz: ZoneInfo) -> datetime:
    """An aware UTC datetime; all-day dates start at midnight in ``tz``, naive times are read in ``tz``."""
    if not isinstance(value, datetime):
        value = datetime.combine(value, time.min, tz)
    elif value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value.astimezone(timezone.utc)


def blocks(master: RemoteEvent | None, exceptions: list[RemoteEvent], start: datetime, end: datetime,
           calendar_tz: str | None = None, self_emails: Iterable[str] = ()) -> list[Interval]:
    """Busy intervals of one event or series overlapping [start, end), in UTC, sorted.

    :param master: the single event or the recurring master (``None`` when only exceptions of an
        unknown series arrived — they then count as single events).
    :param exceptions: modified or cancelled occurrences of ``master`` (``recurring_event_id`` set).
    :param calendar_tz: zone for all-day events and for times without a zone.
    :param self_emails: the calendar owner's addresses, to leave out declined invitations.
    """
    self_emails = list(self_emails)
    cal_zone = zone(calendar_tz)
    if master is None or not master.recurrence:
        singles = ([master] if master is not None else []) + list(exceptions)
        out = [(to_utc(e.start, cal_zone), to_utc(e.end, cal_zone)) for e in singles if is_blocking(e, self_emails)]
        return sorted(i for i in out if i[0] < end and i[1] > start)
    try:
        return _expand(master, exceptions, start, end, cal_zone, self_emails)
    except (ValueError, KeyError, TypeError) as exc:  # a malformed rule must not stop the sync: fail closed
        log.warning("cannot expand recurring event %s (%s); counting its first occurrence only", master.remote_id, exc)
        first = (to_utc(master.start, cal_zone), to_utc(master.end, cal_zone))
        return [first] if is_blocking(master, self_emails) and first[0] < end and first[1] > start else []


def _expand(master: RemoteEvent, exceptions: list[RemoteEvent], start: datetime, end: datetime,
            cal_zone: ZoneInfo, self_emails: list[str]) -> list[Interval]:
    series_zone = zone(master.timezone) if master.timezone else _zone_of(master.start, cal_zone)
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//crm-hub//busy//EN", "BEGIN:VEVENT", "UID:series",
             _when("DTSTART", master.start, series_zone), _when("DTEND", master.end, series_zone)]
    lines += [line.strip() for line in master.recurrence if line.strip()]
    overrides = []
    for ex in exceptions:
        if ex.original_start is None:
            continue
        if is_blocking(ex, self_emails):
            overrides.append(ex)
        else:  # cancelled / free / declined occurrence: it never happens as far as busy time goes
            lines.append(_when("EXDATE", ex.original_start, series_zone, like=master.start))
    lines.append("END:VEVENT")
    for ex in overrides:
        lines += ["BEGIN:VEVENT", "UID:series", _when("RECURRENCE-ID", ex.original_start, series_zone, like=master.start),
                  _when("DTSTART", ex.start, series_zone), _when("DTEND", ex.end, series_zone),
                  f"{_EXCEPTION_MARK}:1", "END:VEVENT"]
    lines.append("END:VCALENDAR")
    calendar = icalendar.Calendar.from_ical("\r\n".join(lines))
    master_blocks = is_blocking(master, self_emails)
    out = []
    for occurrence in recurring_ical_events.of(calendar).between(start, end):
        if not master_blocks and _EXCEPTION_MARK not in occurrence:
            continue
        o_start = to_utc(occurrence.decoded("DTSTART"), cal_zone)
        o_end = to_utc(occurrence.decoded("DTEND"), cal_zone) if "DTEND" in occurrence else o_start
        if o_start < end and o_end > start:
            out.append((o_start, o_end))
    return sorted(out)


def _zone_of(value: datetime | date, fallback: ZoneInfo) -> ZoneInfo:
    tz = getattr(value, "tzinfo", None)
    return tz if isinstance(tz, ZoneInfo) else (ZoneInfo("UTC") if tz is not None else fallback)


def _when(name: str, value: datetime | date, series_zone: ZoneInfo, like: datetime | date | None = None) -> str:
    """One iCalendar date-time line; ``like`` forces the form of the series' DTSTART (date vs date-time)."""
    all_day = not isinstance(like if like is not None else value, datetime)
    if all_day:
        day = value.astimezone(series_zone).date() if isinstance(value, datetime) else value
        return f"{name};VALUE=DATE:{day:%Y%m%d}"
    if not isinstance(value, datetime):
        value = datetime.combine(value, time.min, series_zone)
    elif value.tzinfo is None:
        value = value.replace(tzinfo=series_zone)
    local = value.astimezone(series_zone)
    # local wall time with TZID, so the rule repeats at the same local hour across DST changes
    return f"{name};TZID={series_zone.key}:{local:%Y%m%dT%H%M%S}"


def block_rows(user_id: int, calendar_id: int, event_id: int | None, intervals: Iterable[Interval]) -> list[dict]:
    """BusyBlock rows for ``intervals``; the epoch-second copies round outwards (fail closed)."""
    return [{"user_id": user_id, "calendar_id": calendar_id, "event_id": event_id, "start": s, "end": e,
             "start_ts": math.floor(s.timestamp()), "end_ts": math.ceil(e.timestamp())} for s, e in intervals]


def replace_blocks(session: Session, user_id: int, calendar_id: int, owner_ids: Iterable[int],
                   new: dict[int, list[Interval]]) -> int:
    """Delete the blocks of the event rows ``owner_ids`` and insert ``new`` (event row id → intervals).

    :return: how many blocks were written.
    """
    owner_ids = list(owner_ids)
    if owner_ids:
        session.execute(sa.delete(BusyBlock).where(BusyBlock.event_id.in_(owner_ids)))
    rows = [row for event_id, intervals in new.items() for row in block_rows(user_id, calendar_id, event_id, intervals)]
    if rows:
        session.execute(sa.insert(BusyBlock), rows)
    return len(rows)
