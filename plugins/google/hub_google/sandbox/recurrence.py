"""Times of sandbox events: RFC 3339 parsing, event bounds and recurrence expansion.

Google stores ``recurrence`` as iCalendar lines without DTSTART (the event's ``start`` is it).
RRULE/EXRULE go to dateutil; RDATE/EXDATE are parsed here because dateutil's ``rrulestr`` rejects
their ``TZID`` parameter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rruleset, rrulestr

from hub_google.sandbox.errors import bad_request

#: never expand more occurrences than this per series (Google caps expansion too)
MAX_OCCURRENCES = 1500


def parse_rfc3339(value: str, what: str = "time") -> datetime:
    """An aware datetime from an RFC 3339 timestamp; 400 for anything else."""
    try:
        parsed = datetime.fromisoformat(value.replace("z", "Z"))
    except (ValueError, AttributeError):
        raise bad_request(f"Bad Request: invalid {what} {value!r}") from None
    if parsed.tzinfo is None:
        raise bad_request(f"Bad Request: {what} {value!r} needs a time zone offset")
    return parsed


def zone(name: str | None, fallback: str = "UTC") -> ZoneInfo:
    """A ZoneInfo for ``name``; 400 for an unknown zone."""
    try:
        return ZoneInfo(name or fallback)
    except (ZoneInfoNotFoundError, ValueError):
        raise bad_request(f"Invalid time zone definition for start time: {name!r}.", reason="timeZone") from None


def rfc3339(moment: datetime) -> str:
    """How Google writes times in responses: UTC with ``Z``, no fractions."""
    return moment.astimezone(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def edt_value(edt: dict, cal_tz: str) -> datetime | date:
    """The value of an EventDateTime: a date for all-day, else an aware datetime in its zone."""
    if "date" in edt:
        return date.fromisoformat(edt["date"])
    moment = parse_rfc3339(edt["dateTime"]) if _has_offset(edt["dateTime"]) else (
        datetime.fromisoformat(edt["dateTime"]).replace(tzinfo=zone(edt.get("timeZone"), cal_tz)))
    return moment.astimezone(zone(edt.get("timeZone") or cal_tz)) if edt.get("timeZone") else moment


def as_instant(value: datetime | date, cal_tz: str) -> datetime:
    """A point in time: all-day dates start at midnight in the calendar's zone."""
    if isinstance(value, datetime):
        return value
    return datetime.combine(value, time(), zone(cal_tz))


def _has_offset(text: str) -> bool:
    return bool(re.search(r"(Z|z|[+-]\d\d:?\d\d)$", text))


@dataclass
class Occurrence:
    """One instance of a series: when it would start, and its start/end."""

    original_start: datetime | date
    start: datetime | date
    end: datetime | date


def expand(master: dict, cal_tz: str, until: datetime) -> list[Occurrence]:
    """The occurrences of a recurring master that start before ``until`` (capped)."""
    start = edt_value(master["start"], cal_tz)
    end = edt_value(master["end"], cal_tz)
    duration = end - start
    all_day = not isinstance(start, datetime)
    dtstart = datetime.combine(start, time()) if all_day else start
    rules = rruleset()
    rules.rdate(dtstart)  # DTSTART is always an occurrence (RFC 5545), even if the RRULE skips it
    for line in master.get("recurrence", []):
        name, _, _ = line.partition(":")
        kind = name.split(";")[0].upper()
        if kind in ("RRULE", "EXRULE"):
            rule = rrulestr(_fix_until(line.split(":", 1)[1], all_day), dtstart=dtstart)
            (rules.rrule if kind == "RRULE" else rules.exrule)(rule)
        elif kind in ("RDATE", "EXDATE"):
            for value in _date_list(line, all_day, dtstart.tzinfo):
                (rules.rdate if kind == "RDATE" else rules.exdate)(value)
    limit = until.replace(tzinfo=None) if all_day else until
    out = []
    for moment in rules:
        if moment >= limit or len(out) >= MAX_OCCURRENCES:
            break
        value = moment.date() if all_day else moment
        out.append(Occurrence(value, value, value + duration))
    return out


def _fix_until(rule: str, all_day: bool) -> str:
    """dateutil wants UNTIL in UTC for aware starts and floating for all-day series."""
    def repl(match: re.Match) -> str:
        text = match.group(1)
        if all_day:
            return "UNTIL=" + text[:8]
        if len(text) == 8:
            return f"UNTIL={text}T235959Z"
        return "UNTIL=" + (text if text.endswith("Z") else text + "Z")

    return re.sub(r"UNTIL=([0-9TZ]+)", repl, rule, flags=re.IGNORECASE)


def _date_list(line: str, all_day: bool, tz) -> list[datetime]:
    params_part, _, values = line.partition(":")
    params = dict(p.split("=", 1) for p in params_part.split(";")[1:] if "=" in p)
    value_zone = ZoneInfo(params["TZID"]) if "TZID" in params else tz
    out = []
    for text in values.split(","):
        text = text.strip()
        if len(text) == 8:
            day = datetime.strptime(text, "%Y%m%d")
            out.append(day if all_day else day.replace(tzinfo=value_zone))
            continue
        moment = datetime.strptime(text.rstrip("Z"), "%Y%m%dT%H%M%S")
        if text.endswith("Z"):
            moment = moment.replace(tzinfo=timezone.utc)
        elif not all_day:
            moment = moment.replace(tzinfo=value_zone)
        if not all_day and tz is not None:
            moment = moment.astimezone(tz)
        out.append(moment.replace(tzinfo=None) if all_day else moment)
    return out


def instance_id(master_id: str, original: datetime | date) -> str:
    """Google's id of one occurrence: ``{masterId}_{YYYYMMDDTHHMMSSZ}`` (``_{YYYYMMDD}`` all-day)."""
    if isinstance(original, datetime):
        return f"{master_id}_{original.astimezone(timezone.utc):%Y%m%dT%H%M%SZ}"
    return f"{master_id}_{original:%Y%m%d}"


def edt_for(value: datetime | date, tz_name: str | None) -> dict:
    """An EventDateTime for ``value`` as Google writes it back."""
    if isinstance(value, datetime):
        body = {"dateTime": value.replace(microsecond=0).isoformat()}
        if tz_name:
            body["timeZone"] = tz_name
        return body
    return {"date": value.isoformat()}


def overlaps(start: datetime, end: datetime, lo: datetime | None, hi: datetime | None) -> bool:
    """Google's window test: timeMin bounds the END (exclusive), timeMax the START (exclusive)."""
    return (lo is None or end > lo) and (hi is None or start < hi)


HORIZON = timedelta(days=730)
