"""Expanding a Graph ``patternedRecurrence`` into occurrences, for the sandbox's calendar views.

Written against Graph's own description of the pattern and range types (daily, weekly,
absoluteMonthly, relativeMonthly, absoluteYearly, relativeYearly; endDate, noEnd, numbered);
dateutil's rrule does the date arithmetic. This is deliberately independent of the plugin's
RRULE conversion so a bug in one does not hide in the other.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from dateutil import rrule

DAYS = {"monday": rrule.MO, "tuesday": rrule.TU, "wednesday": rrule.WE, "thursday": rrule.TH,
        "friday": rrule.FR, "saturday": rrule.SA, "sunday": rrule.SU}
INDEX = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}
FREQ = {"daily": rrule.DAILY, "weekly": rrule.WEEKLY, "absoluteMonthly": rrule.MONTHLY,
        "relativeMonthly": rrule.MONTHLY, "absoluteYearly": rrule.YEARLY, "relativeYearly": rrule.YEARLY}


def validate(recurrence: dict) -> None:
    """Check a patternedRecurrence the way Graph does before storing it.

    :raises ValueError: with Graph's kind of message.
    """
    pattern, rng = recurrence.get("pattern") or {}, recurrence.get("range") or {}
    kind = pattern.get("type")
    if kind not in FREQ:
        raise ValueError(f"Recurrence pattern type '{kind}' is invalid.")
    if int(pattern.get("interval") or 0) < 1:
        raise ValueError("Recurrence pattern interval must be at least 1.")
    if kind in {"weekly", "relativeMonthly", "relativeYearly"} and not pattern.get("daysOfWeek"):
        raise ValueError(f"daysOfWeek is required for a {kind} pattern.")
    if kind in {"absoluteMonthly", "absoluteYearly"} and not pattern.get("dayOfMonth"):
        raise ValueError(f"dayOfMonth is required for a {kind} pattern.")
    if kind in {"absoluteYearly", "relativeYearly"} and not pattern.get("month"):
        raise ValueError(f"month is required for a {kind} pattern.")
    if rng.get("type") not in {"endDate", "noEnd", "numbered"}:
        raise ValueError("Recurrence range type is invalid.")
    if not rng.get("startDate"):
        raise ValueError("Recurrence range startDate is required.")
    if rng["type"] == "endDate" and not rng.get("endDate"):
        raise ValueError("Recurrence range endDate is required for an endDate range.")
    if rng["type"] == "numbered" and int(rng.get("numberOfOccurrences") or 0) < 1:
        raise ValueError("numberOfOccurrences must be at least 1 for a numbered range.")


def _rule(recurrence: dict, first: datetime) -> rrule.rrule:
    pattern, rng = recurrence["pattern"], recurrence["range"]
    kind = pattern["type"]
    kwargs: dict = {"interval": int(pattern.get("interval") or 1), "dtstart": first,
                    "wkst": DAYS[(pattern.get("firstDayOfWeek") or "sunday").lower()]}
    days = [DAYS[d.lower()] for d in pattern.get("daysOfWeek") or []]
    if kind == "weekly":
        kwargs["byweekday"] = days
    elif kind in {"absoluteMonthly", "absoluteYearly"}:
        kwargs["bymonthday"] = int(pattern["dayOfMonth"])
    elif kind in {"relativeMonthly", "relativeYearly"}:
        kwargs["byweekday"] = days
        kwargs["bysetpos"] = INDEX[(pattern.get("index") or "first").lower()]
    if kind in {"absoluteYearly", "relativeYearly"}:
        kwargs["bymonth"] = int(pattern["month"])
    if rng["type"] == "numbered":
        kwargs["count"] = int(rng["numberOfOccurrences"])
    elif rng["type"] == "endDate":
        last_day = date.fromisoformat(rng["endDate"])
        kwargs["until"] = datetime.combine(last_day, time(23, 59, 59), tzinfo=first.tzinfo)
    return rrule.rrule(FREQ[kind], **kwargs)


def original_starts(recurrence: dict, start: datetime | date, tz, until: datetime) -> list[datetime | date]:
    """Every occurrence's original start from the series start up to ``until``.

    :param start: the series master's start (aware datetime, or a date for all-day series).
    :param tz: the zone the series recurs in (wall-clock times stay put across DST).
    """
    all_day = not isinstance(start, datetime)
    range_start = date.fromisoformat(recurrence["range"]["startDate"])
    if all_day:
        first = datetime.combine(max(start, range_start), time(), tzinfo=tz)
    else:
        local = start.astimezone(tz)
        first = datetime.combine(max(local.date(), range_start), local.timetz())
    result: list[datetime | date] = []
    for occurrence in _rule(recurrence, first):
        if occurrence > until.astimezone(tz) + timedelta(days=1):
            break
        result.append(occurrence.date() if all_day else occurrence)
    return result
