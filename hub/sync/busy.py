"""Busy time, expanded at sync time: calendar events → :class:`~hub.models.BusyBlock` rows.

Public API:

* :func:`blocks` — the busy intervals (UTC) of one event or one recurring series inside a window;
* :func:`occurs_between` — whether any occurrence of an event or series falls inside a window;
* :func:`is_blocking` — whether one event makes its owner busy at all;
* :func:`replace_blocks` — swap the stored blocks of an event row for new ones;
* :func:`block_rows` — BusyBlock rows (with their epoch-second copies) for some intervals.

Algorithm: availability must never parse iCalendar per request (docs/architecture.md, "Why
availability reads stored busy time"), so the sync engine calls :func:`blocks` whenever an event (or
any exception of a series) changes and stores the result.
A recurring master is rebuilt as an iCalendar VEVENT — DTSTART with its zone (and the zone's own
VTIMEZONE when it has no IANA name), the RRULE/EXDATE/RDATE lines verbatim, every exception's
RECURRENCE-ID as an EXDATE — and its start times are expanded by recurring-ical-events, lazily and
at most ``max_occurrences`` per series. Exceptions (moved occurrences) then block their own times.

RFC 5545 points the hub decides itself rather than take from the library:

* §3.8.5.3 — every occurrence of a series lasts the *exact* duration of DTSTART–DTEND; the library
  keeps the wall-clock end, which makes a 02:30–03:30 occurrence zero-length on a spring-forward day;
* §3.3.5 — a nonexistent local start (in a DST gap) is read with the offset before the gap, an
  ambiguous one (in the overlap) as its first occurrence — Python's ``fold=0`` does both;
* §3.3.4 / §3.3.5 — dates and floating times belong to the calendar's zone (the calendar's own,
  else its owner's), never silently to UTC.

Occurrences that do not block time (cancelled, transparent/"free", declined by the user) never appear.
"""

from __future__ import annotations

import logging
import math
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Iterable
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events
import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.models import BusyBlock
from hub.rrules import fast_forward, rule_problem, steps_problem
from hub.timezones import to_utc, zone
from hub.types import RemoteEvent

log = logging.getLogger(__name__)

Interval = tuple[datetime, datetime]

#: occurrences expanded per series and sync at most (``FREQ=MINUTELY`` must not write 100,000 rows)
MAX_OCCURRENCES = 2000


class Intervals(list):
    """Busy intervals, sorted; ``capped`` says a series had more occurrences than were expanded, ``problem``
    why its rule could not be expanded (only its first occurrence blocks time then)."""

    capped: bool = False
    problem: str | None = None


def is_blocking(event: RemoteEvent, self_emails: Iterable[str] = ()) -> bool:
    """True when ``event`` makes its calendar's owner busy.

    Transparent ("free", "working elsewhere") and cancelled events do not; neither does an
    invitation the user declined.
    """
    if event.transparent or event.status == "cancelled":
        return False
    mine = {e.lower() for e in self_emails}
    return not any(a.email.lower() in mine and a.response == "declined" for a in event.attendees)


def blocks(master: RemoteEvent | None, exceptions: list[RemoteEvent], start: datetime, end: datetime,
           calendar_tz: str | None = None, self_emails: Iterable[str] = (),
           max_occurrences: int = MAX_OCCURRENCES) -> Intervals:
    """Busy intervals of one event or series overlapping [start, end), in UTC, sorted.

    :param master: the single event or the recurring master (``None`` when only exceptions of an
        unknown series arrived — they then count as single events).
    :param exceptions: modified or cancelled occurrences of ``master`` (``recurring_event_id`` set).
    :param calendar_tz: zone for all-day events and for times without a zone.
    :param self_emails: the calendar owner's addresses, to leave out declined invitations.
    :param max_occurrences: a series is expanded up to this many occurrences (``capped`` is set then).
    """
    self_emails = list(self_emails)
    cal_zone = zone(calendar_tz)
    out = Intervals()
    singles = list(exceptions) + ([master] if master is not None and not master.recurrence else [])
    out += [_span(e, cal_zone) for e in singles if is_blocking(e, self_emails)]
    if master is not None and master.recurrence and is_blocking(master, self_emails):
        skipped = [e.original_start for e in exceptions if e.original_start is not None]
        try:
            for i, interval in enumerate(_occurrences(master, skipped, start, end, cal_zone)):
                if i >= max_occurrences:
                    out.capped = True
                    log.warning("recurring event %s has more than %d occurrences in the window; expanded %d",
                                master.remote_id, max_occurrences, max_occurrences)
                    break
                out.append(interval)
        except (ValueError, KeyError, TypeError) as exc:  # a malformed rule must not stop the sync: fail closed
            log.warning("cannot expand recurring event %s (%s); counting its first occurrence only",
                        master.remote_id, exc)
            out.problem = f"{str(exc)[:160]}; only its first occurrence blocks time"
            out.append(_span(master, cal_zone))
    # a zero-length occurrence takes up no time (RFC 5545 §3.6.1), so it blocks nothing
    out[:] = sorted(i for i in out if i[0] < end and i[1] > start and i[0] < i[1])
    return out


def occurs_between(event: RemoteEvent, start: datetime, end: datetime, calendar_tz: str | None = None) -> bool:
    """Whether any occurrence of ``event`` (a single event or a series master) overlaps [start, end)."""
    cal_zone = zone(calendar_tz)
    if not event.recurrence:
        begin, finish = _span(event, cal_zone)
        return begin < end and finish > start
    try:
        return next(iter(_occurrences(event, [], start, end, cal_zone)), None) is not None
    except (ValueError, KeyError, TypeError):
        return to_utc(event.start, cal_zone) < end


def _span(event: RemoteEvent, tz: tzinfo) -> Interval:
    """An event's own start and end in UTC; an exact DURATION (§3.3.6) counts from the start instant."""
    begin = to_utc(event.start, tz)
    if event.duration_seconds is not None and isinstance(event.start, datetime):
        return begin, begin + timedelta(seconds=event.duration_seconds)
    return begin, to_utc(event.end, tz)


def _occurrences(master: RemoteEvent, skipped: list[datetime | date], start: datetime, end: datetime,
                 cal_zone: ZoneInfo) -> Iterable[Interval]:
    """The master's own occurrences overlapping [start, end) as UTC intervals, in start order, lazily."""
    tzid, series_tz, definition = _series_zone(master, cal_zone)
    all_day = not isinstance(master.start, datetime)
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//crm-hub//busy//EN"]
    if definition:
        lines += [line for line in definition.splitlines() if line.strip()]
    rules = [line.strip() for line in master.recurrence if line.strip()]
    for problem in filter(None, (rule_problem(r) for r in rules if r.upper().startswith("RRULE"))):
        raise ValueError(problem)  # before the expander loops on it
    # the expander walks every instance from DTSTART: a MINUTELY series begun a year ago would cost half a
    # million steps before the window; what is still too dense after moving on is refused (fail closed)
    dtstart, rules = fast_forward(master.start, rules, start, series_tz)
    walked = start - to_utc(dtstart, series_tz)  # what the expander steps through before the window
    rdates = sum(r.partition(":")[2].count(",") + 1 for r in rules if r.upper().startswith("RDATE"))
    problem = steps_problem([r for r in rules if r.upper().startswith("RRULE")], rdates, walked)
    if problem:
        raise ValueError(problem)
    lines += ["BEGIN:VEVENT", "UID:series", _when("DTSTART", dtstart, tzid, series_tz, all_day)] + rules
    lines += [_when("EXDATE", value, tzid, series_tz, all_day) for value in skipped]
    lines += ["END:VEVENT", "END:VCALENDAR"]
    calendar = icalendar.Calendar.from_ical("\r\n".join(lines))
    # EXDATEs are applied here, by instant: recurring-ical-events 3.8 also drops the RDATEs that follow
    # an EXDATE of the rule's last instance, and §3.8.5.2 says RDATEs join the set regardless
    vevent = calendar.walk("VEVENT")[0]
    excluded = {_instant(item.dt, series_tz)
                for prop in _listed(vevent.pop("EXDATE", None)) for item in prop.dts}
    if all_day:  # whole days in the calendar's zone, as long (in days) as the master
        days = max((master.end - master.start).days, 1) if not isinstance(master.end, datetime) else 1
        first: date | datetime = start.astimezone(cal_zone).date() - timedelta(days=days)
    else:
        # §3.8.5.3: every occurrence lasts the master's exact duration
        begin, finish = _span(master, series_tz)
        length = finish - begin
        first = start - max(length, timedelta(0)) - timedelta(days=1)
        if tzid is None:  # floating: expanded in wall time, read in the calendar's zone after
            first = first.astimezone(cal_zone).replace(tzinfo=None)
    for occurrence in recurring_ical_events.of(calendar).after(first):
        value = occurrence.decoded("DTSTART")
        if _instant(value, series_tz) in excluded:
            continue
        if all_day:
            day = value if not isinstance(value, datetime) else value.date()
            o_start, o_end = to_utc(day, cal_zone), to_utc(day + timedelta(days=days), cal_zone)
        else:
            o_start = to_utc(value, series_tz)
            o_end = o_start + length
        if o_start >= end:
            return
        if o_end > start or (o_start == o_end and o_start >= start):  # (zero-length still "occurs")
            yield o_start, o_end


def _instant(value: datetime | date, series_tz: tzinfo) -> datetime | date:
    """What an occurrence and an EXDATE are compared by: the UTC instant, or the day of an all-day series."""
    if not isinstance(value, datetime):
        return value
    return to_utc(value, series_tz)  # a floating series' tz is the calendar's zone


def _listed(value) -> list:
    return [] if value is None else value if isinstance(value, list) else [value]


def _series_zone(master: RemoteEvent, cal_zone: ZoneInfo) -> tuple[str | None, tzinfo, str | None]:
    """The series' TZID (``None``: floating), its tzinfo, and the VTIMEZONE defining it when it has no IANA name."""
    if master.vtimezone:
        definition = icalendar.Timezone.from_ical(master.vtimezone)
        return str(definition["TZID"]), definition.to_tz(), master.vtimezone  # type: ignore[attr-defined]
    if master.timezone:
        tz = zone(master.timezone)
        return tz.key, tz, None
    tz = getattr(master.start, "tzinfo", None)
    if isinstance(tz, ZoneInfo):
        return tz.key, tz, None
    if tz is not None:  # a fixed offset: repeat at the same UTC time
        return "UTC", ZoneInfo("UTC"), None
    return None, cal_zone, None  # floating: wall times, in the calendar's zone


def _when(name: str, value: datetime | date, tzid: str | None, series_tz: tzinfo, all_day: bool) -> str:
    """One iCalendar date-time line in the series' form: a date for all-day series, a floating time for
    floating ones (their RRULE's UNTIL is floating too, §3.3.10), else local time with TZID."""
    if all_day:
        day = value.astimezone(series_tz).date() if isinstance(value, datetime) else value
        return f"{name};VALUE=DATE:{day:%Y%m%d}"
    if tzid is None:
        wall = value.astimezone(series_tz).replace(tzinfo=None) if isinstance(value, datetime) and value.tzinfo else value
        return f"{name}:{wall:%Y%m%dT%H%M%S}"
    if not isinstance(value, datetime):
        value = datetime.combine(value, time.min, series_tz)
    elif value.tzinfo is None:
        value = value.replace(tzinfo=series_tz)
    wall = value.replace(tzinfo=series_tz, fold=0)
    # the wall time as written, also when it falls in a DST gap (§3.3.5): converting would move the
    # whole series an hour on; any other instant is converted to the series' zone
    local = wall if to_utc(wall, series_tz) == to_utc(value, series_tz) else value.astimezone(series_tz)
    # local wall time with TZID, so the rule repeats at the same local hour across DST changes
    return f"{name};TZID={tzid}:{local:%Y%m%dT%H%M%S}"


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
