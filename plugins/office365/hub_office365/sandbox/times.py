"""Graph's ``dateTimeTimeZone`` values, as the sandbox reads and writes them.

Graph writes local wall time without an offset plus a zone name that is either a Windows name
("Pacific Standard Time") or an IANA name ("Europe/Berlin"), with seven fractional digits.
"""

from __future__ import annotations

from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.parser import isoparse
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

UTC_NAMES = {"utc", "tzone://microsoft/utc", "coordinated universal time", "z"}


def zone(name: str | None):
    """The tzinfo for a Graph zone name (Windows or IANA); ``None`` or "UTC" is UTC.

    :raises ValueError: the name is not a known zone.
    """
    if not name or name.strip().lower() in UTC_NAMES:
        return timezone.utc
    name = name.strip().strip('"')
    try:
        return ZoneInfo(WINDOWS_TO_OLSON.get(name, name))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


def parse(value: dict) -> datetime:
    """An aware datetime from ``{"dateTime": …, "timeZone": …}``.

    :raises ValueError: missing or malformed parts.
    """
    if not isinstance(value, dict) or not value.get("dateTime"):
        raise ValueError("dateTime is required")
    parsed = isoparse(value["dateTime"])
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone(value.get("timeZone")))
    return parsed


def parse_query(value: str) -> datetime:
    """A ``startDateTime``/``endDateTime`` query value (ISO 8601; no offset means UTC)."""
    parsed = isoparse(value.replace(" ", "+"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def render(value: datetime | date, zone_name: str) -> dict:
    """A ``dateTimeTimeZone`` in ``zone_name`` (all-day dates stay floating midnights)."""
    if not isinstance(value, datetime):
        local = datetime.combine(value, time())
    else:
        local = value.astimezone(zone(zone_name)).replace(tzinfo=None)
    return {"dateTime": local.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": zone_name}


def instant(value: datetime | date) -> datetime:
    """A point in time for window comparisons (all-day dates are taken at UTC midnight)."""
    if isinstance(value, datetime):
        return value
    return datetime.combine(value, time(), tzinfo=timezone.utc)


def stamp(value: datetime) -> str:
    """The ``2019-03-15T12:00:00Z`` form Graph uses for DateTimeOffset properties."""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
