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
#: the IANA names Graph's dateTimeTimeZone reference lists as accepted next to Windows names (others
#: are refused on create/update with TimeZoneNotSupportedException); the reference writes a few as
#: "Europe/Kyiv (Kiev)" — both spellings are taken
GRAPH_IANA_NAMES = frozenset("""
Etc/GMT+12 Etc/GMT+11 Pacific/Honolulu America/Anchorage America/Santa_Isabel America/Los_Angeles America/Phoenix
America/Chihuahua America/Denver America/Guatemala America/Chicago America/Mexico_City America/Regina America/Bogota
America/New_York America/Indiana/Indianapolis America/Caracas America/Asuncion America/Halifax America/Cuiaba
America/La_Paz America/Santiago America/St_Johns America/Sao_Paulo America/Argentina/Buenos_Aires America/Cayenne
America/Godthab America/Montevideo America/Bahia Etc/GMT+2 Atlantic/Azores Atlantic/Cape_Verde Africa/Casablanca
Etc/GMT Europe/London Atlantic/Reykjavik Europe/Berlin Europe/Budapest Europe/Paris Europe/Warsaw Africa/Lagos
Africa/Windhoek Europe/Bucharest Asia/Beirut Africa/Cairo Asia/Damascus Africa/Johannesburg Europe/Kyiv Europe/Kiev
Europe/Istanbul Asia/Jerusalem Asia/Amman Asia/Baghdad Europe/Kaliningrad Asia/Riyadh Africa/Nairobi Asia/Tehran
Asia/Dubai Asia/Baku Europe/Moscow Indian/Mauritius Asia/Tbilisi Asia/Yerevan Asia/Kabul Asia/Karachi Asia/Tashkent
Asia/Kolkata Asia/Colombo Asia/Kathmandu Asia/Astana Asia/Almaty Asia/Dhaka Asia/Yekaterinburg Asia/Yangon
Asia/Rangoon Asia/Bangkok Asia/Novosibirsk Asia/Shanghai Asia/Krasnoyarsk Asia/Singapore Australia/Perth Asia/Taipei
Asia/Ulaanbaatar Asia/Irkutsk Asia/Tokyo Asia/Seoul Australia/Adelaide Australia/Darwin Australia/Brisbane
Australia/Sydney Pacific/Port_Moresby Australia/Hobart Asia/Yakutsk Pacific/Guadalcanal Asia/Vladivostok
Pacific/Auckland Etc/GMT-12 Pacific/Fiji Asia/Magadan Pacific/Tongatapu Pacific/Apia Pacific/Kiritimati
""".split())


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


def check_writable(name: str | None) -> None:
    """Refuse, as Graph does on create/update, a zone that is neither Windows nor on Graph's IANA list.

    :raises ValueError: with Graph's message.
    """
    if name is None:
        return
    if name.strip().lower() in UTC_NAMES or name in WINDOWS_TO_OLSON or name in GRAPH_IANA_NAMES:
        return
    raise ValueError(f"A valid TimeZone value must be specified. The following TimeZone value is not supported: "
                     f"'{name}'.")


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
