"""What an RRULE must hold before anything expands it (RFC 5545 §3.3.10).

Expanders loop without end on some broken rules (``INTERVAL=0`` makes dateutil repeat one instant for
ever), so the engine and the plugins check every rule here first and report the object instead.
"""

from __future__ import annotations

import icalendar

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
    steps = extra_dates
    for rule in rules:
        daily = per_day(rule)
        parts = icalendar.vRecur.from_ical(rule.partition(":")[2] if rule.upper().startswith("RRULE") else rule)
        walked = daily * max(span.total_seconds(), 0) / 86400
        steps += min(walked, int(parts["COUNT"][0])) if "COUNT" in parts else walked
    if steps <= STEP_BUDGET:
        return None
    return (f"the event repeats too often to expand (about {steps:,.0f} occurrences to step through, "
            f"at most {STEP_BUDGET:,})")
