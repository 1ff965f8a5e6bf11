"""RRULE lines (what the hub speaks) <-> Graph ``patternedRecurrence`` (what Outlook stores).

Graph's six pattern types cover what Outlook can express: daily, weekly (days of week),
absoluteMonthly (day of month), relativeMonthly ("second Tuesday"), absoluteYearly and
relativeYearly, each with an end date, a count, or no end. Anything else (hourly rules, several
RRULEs, RDATEs, BYSETPOS lists) cannot be stored in Outlook and raises NotSupported. icalendar
parses the RRULE and dateutil expands it.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from dateutil import rrule
from icalendar.prop import vRecur

from hub.exceptions import NotSupported

DAY_NAMES = {"MO": "monday", "TU": "tuesday", "WE": "wednesday", "TH": "thursday", "FR": "friday",
             "SA": "saturday", "SU": "sunday"}
ICAL_DAYS = {v: k for k, v in DAY_NAMES.items()}
INDEX_NAMES = {1: "first", 2: "second", 3: "third", 4: "fourth", -1: "last"}
INDEX_NUMBERS = {v: k for k, v in INDEX_NAMES.items()}


def _unsupported(reason: str) -> NotSupported:
    return NotSupported(f"Outlook cannot store this repeat rule: {reason}.",
                        fix="Use a daily, weekly, monthly or yearly rule without hourly or minute parts.")


def _split_day(value: str) -> tuple[int | None, str]:
    """``"-1FR"`` → (-1, "FR"); ``"TU"`` → (None, "TU")."""
    value = str(value).upper()
    return (int(value[:-2]) if value[:-2] else None), value[-2:]


def to_graph(lines: list[str], start: datetime | date, zone_name: str) -> tuple[dict, list[datetime | date]]:
    """(patternedRecurrence, EXDATE values) for the hub's recurrence lines.

    :param start: the series start (local wall time in ``zone_name``, or a date for all-day series).
    :raises NotSupported: the rule has no Outlook equivalent.
    """
    rules = [line for line in lines if line.upper().startswith("RRULE:")]
    others = [line for line in lines if not line.upper().startswith(("RRULE:", "EXDATE"))]
    if len(rules) != 1 or others:
        raise _unsupported("Outlook holds exactly one RRULE (no RDATE or EXRULE)")
    parts = vRecur.from_ical(rules[0].split(":", 1)[1])
    freq = parts["FREQ"][0]
    interval = int(parts.get("INTERVAL", [1])[0])
    local_start = start if not isinstance(start, datetime) else start.astimezone(ZoneInfo(zone_name))
    first_day = local_start if not isinstance(local_start, datetime) else local_start.date()
    unknown = set(parts) - {"FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYSETPOS", "WKST"}
    if unknown:
        raise _unsupported(f"the parts {', '.join(sorted(unknown))}")
    days = [_split_day(d) for d in parts.get("BYDAY", [])]
    positions = {n for n, _ in days if n is not None} | {int(p) for p in parts.get("BYSETPOS", [])}
    if len(positions) > 1 or any(p not in INDEX_NAMES for p in positions):
        raise _unsupported("several or out-of-range positions (Outlook knows first to fourth, and last)")
    index = next(iter(positions), None)
    pattern: dict = {"interval": interval, "firstDayOfWeek": DAY_NAMES[str(parts.get("WKST", ["SU"])[0])[-2:]]}
    day_names = [DAY_NAMES[d] for _, d in days]
    if freq == "DAILY" and not days:
        pattern["type"] = "daily"
    elif freq == "WEEKLY" or (freq == "DAILY" and days):
        pattern.update(type="weekly", daysOfWeek=day_names or [first_day.strftime("%A").lower()])
    elif freq in {"MONTHLY", "YEARLY"}:
        kind = "Monthly" if freq == "MONTHLY" else "Yearly"
        if days:
            pattern.update(type="relative" + kind, daysOfWeek=day_names, index=INDEX_NAMES[index or 1])
        else:
            pattern.update(type="absolute" + kind, dayOfMonth=int(parts.get("BYMONTHDAY", [first_day.day])[0]))
        if freq == "YEARLY":
            pattern["month"] = int(parts.get("BYMONTH", [first_day.month])[0])
    else:
        raise _unsupported(f"FREQ={freq}")
    rng: dict = {"startDate": first_day.isoformat(), "recurrenceTimeZone": zone_name}
    if "COUNT" in parts:
        rng.update(type="numbered", numberOfOccurrences=int(parts["COUNT"][0]))
    elif "UNTIL" in parts:
        until = parts["UNTIL"][0]
        if isinstance(until, datetime):
            aware = until if until.tzinfo else until.replace(tzinfo=timezone.utc)
            until = aware.astimezone(ZoneInfo(zone_name)).date()
        rng.update(type="endDate", endDate=until.isoformat())
    else:
        rng["type"] = "noEnd"
    return {"pattern": pattern, "range": rng}, _exdates(lines)


def _exdates(lines: list[str]) -> list[datetime | date]:
    values: list[datetime | date] = []
    for line in lines:
        if not line.upper().startswith("EXDATE"):
            continue
        head, _, body = line.partition(":")
        for raw in body.split(","):
            raw = raw.strip()
            if "T" not in raw:
                values.append(datetime.strptime(raw, "%Y%m%d").date())
                continue
            parsed = datetime.strptime(raw.rstrip("Z"), "%Y%m%dT%H%M%S")
            tzid = next((p.split("=", 1)[1] for p in head.split(";") if p.upper().startswith("TZID=")), None)
            values.append(parsed.replace(tzinfo=ZoneInfo(tzid) if tzid else timezone.utc))
    return values


def to_rrule(recurrence: dict, start: datetime | date, zone) -> str:
    """The RRULE line for a Graph ``patternedRecurrence`` (UNTIL in UTC, or a date for all-day series)."""
    pattern, rng = recurrence["pattern"], recurrence["range"]
    kind = pattern["type"]
    parts = []
    if kind == "daily":
        parts.append("FREQ=DAILY")
    elif kind == "weekly":
        parts += ["FREQ=WEEKLY", "BYDAY=" + ",".join(ICAL_DAYS[d.lower()] for d in pattern["daysOfWeek"])]
    elif kind in {"absoluteMonthly", "relativeMonthly"}:
        parts.append("FREQ=MONTHLY")
    else:
        parts.append("FREQ=YEARLY")
    if kind in {"absoluteYearly", "relativeYearly"}:
        parts.append(f"BYMONTH={int(pattern['month'])}")
    if kind in {"absoluteMonthly", "absoluteYearly"}:
        parts.append(f"BYMONTHDAY={int(pattern['dayOfMonth'])}")
    if kind in {"relativeMonthly", "relativeYearly"}:
        parts += ["BYDAY=" + ",".join(ICAL_DAYS[d.lower()] for d in pattern["daysOfWeek"]),
                  f"BYSETPOS={INDEX_NUMBERS[(pattern.get('index') or 'first').lower()]}"]
    if int(pattern.get("interval") or 1) != 1:
        parts.append(f"INTERVAL={int(pattern['interval'])}")
    if kind == "weekly" and pattern.get("firstDayOfWeek"):
        parts.append("WKST=" + ICAL_DAYS[pattern["firstDayOfWeek"].lower()])
    if rng["type"] == "numbered":
        parts.append(f"COUNT={int(rng['numberOfOccurrences'])}")
    elif rng["type"] == "endDate":
        last = date.fromisoformat(rng["endDate"])
        if isinstance(start, datetime):
            until = datetime.combine(last, time(23, 59, 59), tzinfo=zone).astimezone(timezone.utc)
            parts.append("UNTIL=" + until.strftime("%Y%m%dT%H%M%SZ"))
        else:
            parts.append("UNTIL=" + last.strftime("%Y%m%d"))
    return "RRULE:" + ";".join(parts)


def starts_between(rule_line: str, start: datetime | date, zone, window_start: datetime,
                   window_end: datetime) -> list[datetime | date]:
    """Occurrence starts of ``rule_line`` (from ``start``) that fall in the window, for EXDATE checks."""
    if isinstance(start, datetime):
        first = start.astimezone(zone)
        rule = rrule.rrulestr(rule_line.split(":", 1)[1], dtstart=first)
        return [s for s in rule.between(window_start - timedelta(days=1), window_end, inc=True)
                if window_start <= s < window_end]
    first = datetime.combine(start, time())
    naive_start = window_start.astimezone(timezone.utc).replace(tzinfo=None) - timedelta(days=1)
    naive_end = window_end.astimezone(timezone.utc).replace(tzinfo=None)
    body = rule_line.split(":", 1)[1]
    rule = rrule.rrulestr(body, dtstart=first)
    return [s.date() for s in rule.between(naive_start, naive_end, inc=True)]


def exdate_lines(cancelled: list[datetime | date]) -> list[str]:
    """EXDATE lines for cancelled occurrences (UTC date-times, or VALUE=DATE for all-day series)."""
    if not cancelled:
        return []
    if isinstance(cancelled[0], datetime):
        return ["EXDATE:" + ",".join(c.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ") for c in sorted(cancelled))]
    return ["EXDATE;VALUE=DATE:" + ",".join(c.strftime("%Y%m%d") for c in sorted(cancelled))]
