"""Time zones as calendars name them, and wall times read as RFC 5545 says.

* :func:`iana_name`, :func:`zone` — a zone by its IANA or Windows name (Outlook and Exchange write
  "W. Europe Standard Time"; the CLDR table icalendar ships maps it);
* :func:`to_utc` — the instant of a date, a floating or a zoned time;
* :func:`pinned` — a wall time with the offset §3.3.5 gives it, whatever tzinfo holds it.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

log = logging.getLogger(__name__)


def iana_name(name: str | None) -> str | None:
    """The IANA name for an IANA or Windows zone name ("W. Europe Standard Time" → "Europe/Berlin")."""
    if not name:
        return None
    for candidate in (name, WINDOWS_TO_OLSON.get(name.strip())):
        if candidate:
            try:
                ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
            return candidate
    return None


def zone(name: str | None) -> ZoneInfo:
    """The zone called ``name`` (IANA or Windows name), or UTC for an empty or unknown name (logged)."""
    found = iana_name(name)
    if found is None and name:
        log.warning("unknown time zone %r, using UTC", name)
    return ZoneInfo(found or "UTC")


def to_utc(value: datetime | date, tz: tzinfo) -> datetime:
    """An aware UTC datetime; all-day dates start at midnight in ``tz``, naive (floating) times are read in ``tz``."""
    if not isinstance(value, datetime):
        value = datetime.combine(value, time.min, tz)
    elif value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return pinned(value).astimezone(timezone.utc)


def pinned(value: datetime) -> datetime:
    """The same wall time with its RFC 5545 offset as a fixed offset (aware values; others unchanged).

    zoneinfo reads a wall time in a DST gap with the offset before the gap, as §3.3.5 says; tzinfo
    built from a VTIMEZONE (dateutil's) uses the offset after it, so such times are corrected here.
    """
    tz = value.tzinfo
    if tz is None or isinstance(tz, (ZoneInfo, timezone)):
        return value
    wall = value.replace(tzinfo=None)
    offset = value.utcoffset()
    if (wall - offset).replace(tzinfo=timezone.utc).astimezone(tz).replace(tzinfo=None) != wall:  # in a gap
        offset = (wall - timedelta(days=1)).replace(tzinfo=tz).utcoffset()
    return wall.replace(tzinfo=timezone(offset))
