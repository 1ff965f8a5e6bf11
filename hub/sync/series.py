"""A recurring series' occurrences, as :mod:`hub.sync.busy` stores them.

Public API:

* :func:`occurrences` — a series master's own occurrences overlapping a window, as UTC intervals;
* :func:`span` — an event's own start and end in UTC;
* :func:`library_starts` and :func:`rule_starts` — the two expanders behind it (the test suite compares them).

Algorithm: the master's RRULE/RDATE lines are checked (:mod:`hub.rrules`) and a dense series is moved on
to near the window; its DTSTART is written as an iCalendar line and read back as a parser reads it (the
zone, the DST gap), and the start times are expanded by recurring-ical-events
(:func:`library_starts`). That costs about 4 ms a series — parsing a VCALENDAR text and re-walking the
rule from DTSTART for every slice of time it is asked for — so the common case, one RRULE on a date, a
floating time or a time in an IANA zone, goes straight to ``dateutil.rrule``, the expander the library
itself runs (:func:`rule_starts`, about 0.1 ms): same rule text (as icalendar re-writes it), same
DTSTART, DTSTART joined to the set the way the library joins it. Anything else (RDATE, EXRULE, a
VTIMEZONE definition, an UNTIL of another kind than DTSTART) keeps to the library. EXDATEs and the
exceptions' RECURRENCE-IDs are applied here, by instant, on both paths.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo
from typing import Iterable, Iterator
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events
from dateutil import rrule
from icalendar.parser import Contentline

from hub.rrules import fast_forward, rule_problem, steps_problem
from hub.timezones import to_utc, zone
from hub.types import RemoteEvent

Interval = tuple[datetime, datetime]
Starts = Iterable["date | datetime"]


def occurrences(master: RemoteEvent, skipped: list[datetime | date], start: datetime, end: datetime,
                cal_zone: ZoneInfo) -> Iterator[Interval]:
    """The master's own occurrences overlapping [start, end) as UTC intervals, in start order, lazily.

    :param skipped: occurrences not to count (the RECURRENCE-IDs of its exceptions), besides its EXDATEs.
    :raises ValueError: the rule cannot be expanded (malformed, or too dense to step through).
    """
    tzid, series_tz, definition = series_zone(master, cal_zone)
    all_day = not isinstance(master.start, datetime)
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
    exdates = [r for r in rules if r.upper().startswith("EXDATE")]
    rules = [r for r in rules if r not in exdates]
    # EXDATEs are applied here, by instant: recurring-ical-events 3.8 also drops the RDATEs that follow
    # an EXDATE of the rule's last instance, and §3.8.5.2 says RDATEs join the set regardless
    excluded = {_instant(value, series_tz) for value in _exdates(exdates, definition)}
    if definition is None:  # what the EXDATE line written for it would read back as (see written())
        excluded |= {_instant(written(value, tzid, series_tz, all_day), series_tz) for value in skipped}
    else:  # the VTIMEZONE decides what its zone's wall times mean: written out and read back with it
        excluded |= {_instant(value, series_tz) for value in _exdates(
            [_when("EXDATE", value, tzid, series_tz, all_day) for value in skipped], definition)}
    if all_day:  # whole days in the calendar's zone, as long (in days) as the master
        days = max((master.end - master.start).days, 1) if not isinstance(master.end, datetime) else 1
        first: date | datetime = start.astimezone(cal_zone).date() - timedelta(days=days)
    else:
        # §3.8.5.3: every occurrence lasts the master's exact duration
        begin, finish = span(master, series_tz)
        length = finish - begin
        first = start - max(length, timedelta(0)) - timedelta(days=1)
        if tzid is None:  # floating: expanded in wall time, read in the calendar's zone after
            first = first.astimezone(cal_zone).replace(tzinfo=None)
    starts = None if definition else rule_starts(dtstart, rules, tzid, series_tz, first)
    if starts is None:
        starts = library_starts(dtstart, rules, tzid, series_tz, definition, first)
    for value in starts:
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


def library_starts(dtstart: datetime | date, rules: list[str], tzid: str | None, series_tz: tzinfo,
                   definition: str | None, first: datetime | date) -> Starts:
    """The series' start times from ``first`` on, in order, by recurring-ical-events.

    :param rules: RRULE/RDATE/EXRULE lines (no EXDATE: those are applied by instant).
    """
    all_day = not isinstance(dtstart, datetime)
    calendar = _series_calendar(definition, [_when("DTSTART", dtstart, tzid, series_tz, all_day), *rules])
    # a time, never a date: ``after`` steps on in slices that shrink to 15 minutes, and a date plus 12 hours
    # is the same date — it would never get past a day that holds an occurrence
    if not isinstance(first, datetime):
        first = datetime.combine(first, time.min)
    return (occurrence.decoded("DTSTART") for occurrence in recurring_ical_events.of(calendar).after(first))


def rule_starts(dtstart: datetime | date, rules: list[str], tzid: str | None, series_tz: tzinfo,
                first: datetime | date) -> Starts | None:
    """:func:`library_starts` for one RRULE on a date, a floating time or a time in an IANA zone (no
    VTIMEZONE text), by ``dateutil.rrule`` directly; ``None`` for any other series.

    What the library does for such a series, done the same way: the rule as icalendar re-writes it, DTSTART
    as its line reads back, the rule expanded from there by dateutil, and DTSTART joined to the set unless
    it lies after UNTIL. An UNTIL of another kind than DTSTART (a UTC time on a floating series, say) makes
    dateutil refuse the rule and the library rewrite it: left to the library.
    """
    if len(rules) != 1:
        return None
    name, _, value = rules[0].partition(":")
    if name.upper() != "RRULE":
        return None
    parts = icalendar.vRecur.from_ical(value)
    text = parts.to_ical().decode()
    wall = written(dtstart, tzid, series_tz, not isinstance(dtstart, datetime))
    begin = wall if isinstance(wall, datetime) else datetime.combine(wall, time.min)
    try:
        rule = rrule.rrulestr(text, dtstart=begin)
    except ValueError:
        return None
    until = parts.get("UNTIL", [None])[0]
    if until is not None and not isinstance(until, datetime):
        until = datetime.combine(until, time.min)  # as dateutil reads it (it took it: the kinds match)
    series = rrule.rruleset()
    series.rrule(rule)
    if until is None or not begin > until:
        series.rdate(begin)
    if not isinstance(first, datetime):
        first = datetime.combine(first, time.min)
    if isinstance(wall, datetime):
        return series.xafter(first, inc=True)
    return (value.date() for value in series.xafter(first, inc=True))  # dates, as the library gives them back


def written(value: datetime | date, tzid: str | None, series_tz: tzinfo, all_day: bool) -> datetime | date:
    """``value`` as :func:`_when` writes it and a parser reads it back: a date for an all-day series, a wall
    time for a floating one (their RRULE's UNTIL is floating too, §3.3.10), else the local wall time in the
    series' zone (``fold=0``, as a parser reads it)."""
    if all_day:
        return value.astimezone(series_tz).date() if isinstance(value, datetime) else value
    if tzid is None:
        return value.astimezone(series_tz).replace(tzinfo=None) if isinstance(value, datetime) and value.tzinfo \
            else value
    if not isinstance(value, datetime):
        value = datetime.combine(value, time.min, series_tz)
    elif value.tzinfo is None:
        value = value.replace(tzinfo=series_tz)
    wall = value.replace(tzinfo=series_tz, fold=0)
    # the wall time as written, also when it falls in a DST gap (§3.3.5): converting would move the
    # whole series an hour on; any other instant is converted to the series' zone
    local = wall if to_utc(wall, series_tz) == to_utc(value, series_tz) else value.astimezone(series_tz)
    return local.replace(fold=0)


def _when(name: str, value: datetime | date, tzid: str | None, series_tz: tzinfo, all_day: bool) -> str:
    """One iCalendar date-time line in the series' form (see :func:`written`); a zoned time is written with its
    TZID, so the rule repeats at the same local hour across DST changes."""
    local = written(value, tzid, series_tz, all_day)
    if all_day:
        return f"{name};VALUE=DATE:{local:%Y%m%d}"
    if tzid is None:
        return f"{name}:{local:%Y%m%dT%H%M%S}"
    return f"{name};TZID={tzid}:{local:%Y%m%dT%H%M%S}"


def _exdates(lines: list[str], definition: str | None) -> list[datetime | date]:
    """The dates and times of EXDATE lines, read as the series' VEVENT would read them: line by line with the
    parser's value type (its TZID an IANA name), or inside a VCALENDAR holding the VTIMEZONE that defines it."""
    if not lines:
        return []
    if definition is None:
        values = []
        for line in lines:
            _name, params, value = Contentline(line).parts()
            values += icalendar.vDDDLists.from_ical(value, params.get("TZID"))
        return values
    vevent = _series_calendar(definition, lines).walk("VEVENT")[0]
    return [item.dt for prop in _listed(vevent.get("EXDATE")) for item in prop.dts]


def _series_calendar(definition: str | None, vevent_lines: list[str]) -> icalendar.Calendar:
    """A VCALENDAR of one VEVENT (``vevent_lines``) beside the VTIMEZONE ``definition``, parsed by icalendar."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//crm-hub//busy//EN"]
    if definition:
        lines += [line for line in definition.splitlines() if line.strip()]
    lines += ["BEGIN:VEVENT", "UID:series", *vevent_lines, "END:VEVENT", "END:VCALENDAR"]
    return icalendar.Calendar.from_ical("\r\n".join(lines))


def _instant(value: datetime | date, series_tz: tzinfo) -> datetime | date:
    """What an occurrence and an EXDATE are compared by: the UTC instant, or the day of an all-day series."""
    if not isinstance(value, datetime):
        return value
    return to_utc(value, series_tz)  # a floating series' tz is the calendar's zone


def _listed(value) -> list:
    return [] if value is None else value if isinstance(value, list) else [value]


def span(event: RemoteEvent, tz: tzinfo) -> Interval:
    """An event's own start and end in UTC; an exact DURATION (§3.3.6) counts from the start instant."""
    begin = to_utc(event.start, tz)
    if event.duration_seconds is not None and isinstance(event.start, datetime):
        return begin, begin + timedelta(seconds=event.duration_seconds)
    return begin, to_utc(event.end, tz)


def series_zone(master: RemoteEvent, cal_zone: ZoneInfo) -> tuple[str | None, tzinfo, str | None]:
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
