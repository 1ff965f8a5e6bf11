"""Zone names between the hub (IANA) and Graph (Windows names, plus a short list of IANA names).

Graph stores and returns Windows zone names and refuses, on create/update, any IANA name outside
a fixed list (``TimeZoneNotSupportedException``). So the plugin always pushes Windows names, taken
from CLDR's windowsZones table as icalendar ships it. That copy holds only CLDR's main column (one
IANA zone per Windows zone), so a zone it does not name is matched, in order, through the zones
icalendar knows to have had the same history (``Europe/Vienna`` → ``Europe/Berlin`` → "W. Europe
Standard Time"), then by keeping the same UTC offsets over the coming years (``America/Toronto``,
whose 1970s rules differ from New York's, → "Eastern Standard Time").
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar.timezone.tzid import get_equivalent_tzids
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

UTC_NAMES = {"utc", "etc/utc", "tzone://microsoft/utc", "coordinated universal time"}
#: IANA name -> Windows name, for the zone CLDR names for each Windows zone
OLSON_TO_WINDOWS = {olson: windows for windows, olson in sorted(WINDOWS_TO_OLSON.items())}


def zone_name(name: str | None) -> str | None:
    """An IANA zone name for a Graph zone name (Windows or IANA); None when unknown."""
    if not name:
        return None
    if name.strip().lower() in UTC_NAMES:
        return "UTC"
    candidate = WINDOWS_TO_OLSON.get(name, name)
    try:
        ZoneInfo(candidate)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return candidate


@lru_cache(maxsize=None)
def windows_name(name: str | None) -> str | None:
    """The Windows zone name Graph accepts for an IANA zone; None when no Windows zone keeps its time."""
    if not name or name.strip().lower() in UTC_NAMES:
        return "UTC"
    if name in WINDOWS_TO_OLSON:
        return name  # already a Windows name
    for candidate in get_equivalent_tzids(name):
        if candidate in OLSON_TO_WINDOWS:
            return OLSON_TO_WINDOWS[candidate]
    try:
        wanted = _offsets(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    # hand-written: no installed library maps the remaining IANA zones; equal offsets at every
    # moment of three years from this one means equal wall times for the events being pushed
    return next((windows for windows, olson in sorted(WINDOWS_TO_OLSON.items()) if _offsets(olson) == wanted), None)


@lru_cache(maxsize=None)
def _offsets(name: str) -> tuple:
    """The zone's UTC offset changes over three years from this one: ((minute, new offset), …)."""
    zone = ZoneInfo(name)
    moment = datetime.now(timezone.utc).replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    first = offset = zone.utcoffset(moment)
    changes = []
    for _ in range(3 * 366):
        following = moment + timedelta(days=1)
        if zone.utcoffset(following) != offset:
            lo, hi = moment, following  # bisect the change to the minute
            while hi - lo > timedelta(minutes=1):
                middle = lo + (hi - lo) / 2
                lo, hi = (middle, hi) if zone.utcoffset(middle) == offset else (lo, middle)
            offset = zone.utcoffset(following)
            changes.append((hi, offset))
        moment = following
    return first, tuple(changes)
