"""Recurrence rules before anything expands them (RFC 5545 §3.3.10).

* :func:`rule_problem` — what an RRULE must hold: expanders loop without end on some broken rules
  (``INTERVAL=0`` makes dateutil repeat one instant for ever), so the engine and the plugins check every
  rule here first and report the object instead;
* :func:`fast_forward` — a series' start moved close to a window, so expanding it costs what the window
  holds, not what the series held since it began (expanders walk every instance from DTSTART);
* :func:`steps_problem` — what is left after that: a series that would still take more than
  :data:`STEP_BUDGET` expander steps is refused (fail closed) instead of holding a worker.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta, tzinfo

import icalendar
from dateutil import rrule

FREQUENCIES = frozenset({"SECONDLY", "MINUTELY", "HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY"})


def rule_problem(value: str) -> str | None:
    """Why the RRULE value (``FREQ=…;…``, or a whole ``RRULE:…`` line) cannot be expanded, or ``None``."""
    if value.upper().startswith("RRULE"):
        value = value.partition(":")[2]
    try:
        parts = icalendar.vRecur.from_ical(value)
    except (ValueError, TypeError) as exc:
        return f"the repeat rule cannot be read ({str(exc)[:80]})"
    freq = [str(f).upper() for f in parts.get("FREQ", [])]
    if len(freq) != 1 or freq[0] not in FREQUENCIES:
        return f"the repeat rule has an unknown frequency ({','.join(freq) or 'none'})"
    for name in ("INTERVAL", "COUNT"):
        for number in parts.get(name, []):
            if not isinstance(number, int) or number < 1:
                return f"the repeat rule's {name} must be a positive number ({number})"
    return None


#: seconds per step of the rules :func:`fast_forward` may move on
SUB_DAILY = {"SECONDLY": 1, "MINUTELY": 60, "HOURLY": 3600, "DAILY": 86400}


def fast_forward(dtstart: datetime | date, rules: list[str], start: datetime,
                 tz: tzinfo) -> tuple[datetime | date, list[str]]:
    """A SECONDLY … DAILY series begun long before ``start``, moved on to an instance a day or so
    before it: ``(new DTSTART, lines)`` giving the same instances from there on.

    :param dtstart: the series' DTSTART — aware, or naive for a floating series (dates are left alone).
    :param rules: its RRULE/RDATE/EXDATE lines; only a single RRULE is rewritten (COUNT reduced by the
        instances skipped, or the rule dropped when none remain).
    :param tz: the zone whose wall clock the rule repeats in (the calendar's for a floating series).

    The rule's wall-clock pattern repeats after whole days of its period, so DTSTART moves by such days.
    With BY parts (which filter or expand each step, §3.3.10's table) the instances skipped cannot be
    counted, so a rule with both BY parts and COUNT is left as it is; without COUNT the moved start is
    taken on to the rule's next instance (DTSTART always counts as one, §3.8.5.3).
    """
    rrules = [r for r in rules if r.upper().startswith("RRULE")]
    if not isinstance(dtstart, datetime) or len(rrules) != 1:
        return dtstart, rules
    try:
        parts = icalendar.vRecur.from_ical(rrules[0].partition(":")[2])
        freq = str(parts["FREQ"][0]).upper()
        interval = int(parts.get("INTERVAL", [1])[0])
    except (KeyError, ValueError, IndexError, TypeError):
        return dtstart, rules
    filtered = any(k.upper().startswith("BY") for k in parts)
    if freq not in SUB_DAILY or interval < 1 or (filtered and "COUNT" in parts):
        return dtstart, rules
    step = interval * SUB_DAILY[freq]
    period_days = step // math.gcd(step, 86400)  # whole days after which the wall-clock pattern repeats
    wall = dtstart.astimezone(tz).replace(tzinfo=None) if dtstart.tzinfo else dtstart
    target = start.astimezone(tz).replace(tzinfo=None)
    days = ((target - wall).days // period_days - 1) * period_days
    if days <= 0:
        return dtstart, rules
    moved = wall + timedelta(days=days)
    others = [r for r in rules if r not in rrules]
    if "COUNT" in parts:
        left = int(parts["COUNT"][0]) - days * 86400 // step
        if left <= 0:
            return dtstart, others
        parts["COUNT"] = [left]
        rules = [f"RRULE:{parts.to_ical().decode()}" if r in rrules else r for r in rules]
    aware = moved.replace(tzinfo=tz) if dtstart.tzinfo is not None else moved
    if filtered:  # the moved start must itself be an instance: on to the rule's next one (or none left)
        following = rrule.rrulestr(rrules[0], dtstart=aware).after(aware, inc=True)
        if following is None:
            return dtstart, others
        aware = following
    return aware, rules


#: occurrences an expander may step through for one series (recurring-ical-events spends 0.1–0.3 ms on
#: each, from DTSTART on, also before the window asked for): beyond this the series is refused, fail
#: closed, instead of holding a worker for minutes (an outsider's invitation can repeat every second)
STEP_BUDGET = 10_000

_TIME_PARTS = {"BYHOUR": 24, "BYMINUTE": 60, "BYSECOND": 60}
_DAY_PARTS = ("BYDAY", "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO")


def per_day(value: str) -> float:
    """At most how many occurrences the (valid, see :func:`rule_problem`) RRULE makes a day, on average."""
    if value.upper().startswith("RRULE"):
        value = value.partition(":")[2]
    parts = icalendar.vRecur.from_ical(value)
    freq = str(parts["FREQ"][0]).upper()
    interval = int(parts.get("INTERVAL", [1])[0])

    def count(name: str, finer_than_freq: bool) -> int:
        """Values of a time part: the listed ones, every value when the rule steps finer, else DTSTART's one."""
        return len(parts[name]) if name in parts else _TIME_PARTS[name] if finer_than_freq else 1

    order = ["SECONDLY", "MINUTELY", "HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY"]
    rank = order.index(freq)
    times = count("BYHOUR", rank <= 2) * count("BYMINUTE", rank <= 1) * count("BYSECOND", rank == 0)
    weekdays = [str(d) for d in parts.get("BYDAY", [])]
    every_week = sum(1 for d in weekdays if d.isalpha())  # MO: every Monday; 1MO, -1FR: one a month
    if rank <= 3:
        days = 1.0
    elif "BYYEARDAY" in parts or "BYWEEKNO" in parts:
        days = 1.0
    elif freq == "WEEKLY":
        days = max(len(weekdays), 1) / 7
    else:
        days = every_week / 7 + (len(weekdays) - every_week + len(parts.get("BYMONTHDAY", []))) / 28
        if not days:  # DTSTART's day of the month (of the year)
            days = 1 / 28 if freq == "MONTHLY" else 1 / 365
        if freq == "YEARLY" and "BYMONTH" in parts:
            days *= len(parts["BYMONTH"]) / (12 if days > 1 / 365 else 1)
    days = min(days, 1.0)
    return days * times / interval


def steps_problem(rules: list[str], extra_dates: int, span: timedelta) -> str | None:
    """Why expanding ``rules`` (RRULE lines, valid) and ``extra_dates`` RDATE values over ``span`` from
    DTSTART would take more than :data:`STEP_BUDGET` steps, or ``None``."""
    steps: float = extra_dates  # the RDATEs counted, then each rule's steps estimated (a float)
    for rule in rules:
        daily = per_day(rule)
        parts = icalendar.vRecur.from_ical(rule.partition(":")[2] if rule.upper().startswith("RRULE") else rule)
        walked = daily * max(span.total_seconds(), 0) / 86400
        steps += min(walked, int(parts["COUNT"][0])) if "COUNT" in parts else walked
    if steps <= STEP_BUDGET:
        return None
    return (f"the event repeats too often to expand (about {steps:,.0f} occurrences to step through, "
            f"at most {STEP_BUDGET:,})")
