"""A fast reader of plain iCalendar text into ``icalendar`` components, with icalendar as the fallback.

``icalendar.Calendar.from_ical`` spends most of a CalDAV sync's CPU: its content-line parser walks
each line character by character and re-reads the parameters with a lenient grammar, about 40 µs a
line (measured: 0.65 s for the 2,000 objects of ``bench/calendar_sync.py``). Calendar objects as
servers store them are plain: upper-case names, simple parameters, one component per BEGIN/END.
:func:`read_calendar` splits such text with two regular expressions and builds the *same*
components icalendar would — the same component classes, the same value types made by the same
``from_ical`` calls, the same :class:`icalendar.Parameters` — so everything downstream
(:class:`hub_caldav.ical.CalendarObject`, recurring-ical-events, serialising) cannot tell the
difference. Written by hand because icalendar has no faster parser to choose.

Anything outside that plain grammar — lower-case or spaced names, backslashes or carets in
parameters, a VTIMEZONE (icalendar caches it process-wide), a value icalendar would record as
broken, several top-level components — returns ``None`` and the caller parses with icalendar
itself, so unusual or malformed objects get exactly icalendar's reading and errors.
``plugins/caldav/tests/test_caldav_content_lines.py`` checks the two agree on generated objects.

Public API: :func:`read_calendar`.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import icalendar
from icalendar.parser.content_line import NEWLINE, UFOLD
from icalendar.parser.ical.component import ComponentIcalParser
from icalendar.parser.property import unescape_backslash

#: a content line with upper-case name and parameters that icalendar reads the same way: no
#: whitespace, backslash or caret outside quotes, no comma in an unquoted value
_LINE = re.compile(r'([A-Z0-9-]+)((?:;[A-Z0-9-]+=(?:"[^"\\^\x00-\x1f\x7f]*"|[^";:,\\^\s\x00-\x1f\x7f]*))*):(.*)')
_PARAM = re.compile(r';([A-Z0-9-]+)=(?:"([^"]*)"|([^";:,]*))')
_COMPONENT = re.compile(r"[A-Z0-9-]+")
_STAMP = re.compile(r"(\d{4})(\d\d)(\d\d)(?:T(\d\d)(\d\d)(\d\d)(Z?))?")

_FACTORY = icalendar.Calendar.types_factory
_COMPONENTS = icalendar.Calendar._get_component_factory()
_TZID_NAMES = frozenset(ComponentIcalParser.datetime_names)
#: properties icalendar's parser treats specially (split values, broken-file workarounds)
_SPECIAL = frozenset({"CATEGORIES", "FREEBUSY", "RDATE"})


def read_calendar(text: str) -> icalendar.Calendar | None:
    """``text`` as the :class:`icalendar.Calendar` icalendar would build, or ``None`` when the text is
    not plain enough to be sure of that (then parse it with icalendar)."""
    stack: list[icalendar.cal.component.Component] = []
    root = None
    for line in NEWLINE.split(UFOLD.sub("", text)):
        if not line:
            continue
        if root is not None:
            return None  # something after the calendar: icalendar decides
        if line.startswith("BEGIN:"):
            name = line[6:]
            if not _COMPONENT.fullmatch(name) or name == "VTIMEZONE" or not (stack or name == "VCALENDAR"):
                return None
            component = _COMPONENTS.get_component_class(name)()
            if not getattr(component, "name", ""):
                return None
            stack.append(component)
            continue
        if line.startswith("END:"):
            if not stack or stack[-1].name != line[4:]:
                return None
            component = stack.pop()
            if stack:
                stack[-1].add_component(component)
            else:
                root = component
            continue
        match = _LINE.fullmatch(line)
        if match is None or not stack or not _add(stack[-1], *match.groups()):
            return None
    return root if isinstance(root, icalendar.Calendar) and not stack else None


def _add(component, name: str, param_text: str, raw: str) -> bool:
    """Add one property as icalendar's parser does; ``False`` where it would not be certain to match."""
    if name in _SPECIAL or name in ("BEGIN", "END"):
        return False
    params = icalendar.Parameters()
    if param_text:
        for key, quoted, plain in _PARAM.findall(param_text):
            if key in params:
                return False
            params[key] = quoted if quoted or not plain else plain
        factory = _factory(name, params.value)
    else:
        factory = _factory(name, None)
    if hasattr(factory, "get_value_from_content_line"):
        value = raw  # value types whose text is taken verbatim (icalendar: Contentline.raw_parts)
    else:
        value = unescape_backslash(raw) if "\\" in raw else raw
    tzid = params.get("TZID") if params and name in _TZID_NAMES else None
    try:
        parsed = _moment(value, tzid) if factory is icalendar.vDDDTypes else None
        if parsed is None:
            parsed = factory.from_ical(value, tzid) if tzid else factory.from_ical(value)
    except (ValueError, TypeError):
        return False  # icalendar records it as broken or raises: let it
    instance = factory(parsed)
    instance.params = params
    component.add(name, instance, encode=False)
    return True


def _moment(value: str, tzid: str | None) -> date | datetime | None:
    """A DATE or DATE-TIME in the zone icalendar gives ``tzid``; ``None`` for anything else.

    icalendar looks the zone up again for every value; the lookup is cached here, only for zones it
    resolves to the IANA zone of that very name (other names may come from VTIMEZONEs it cached)."""
    match = _STAMP.fullmatch(value)
    if match is None:
        return None
    year, month, day, hour, minute, second, utc = match.groups()
    if hour is None:
        return None if tzid else date(int(year), int(month), int(day))
    if utc and tzid:
        return None
    zone = _UTC if utc else _zone(tzid) if tzid else None
    if zone is None and tzid:
        return None
    return datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=zone)


@lru_cache(maxsize=1024)
def _factory(name: str, value_type: str | None) -> type:
    return _FACTORY.for_property(name, value_type)


@lru_cache(maxsize=256)
def _zone(tzid: str):
    try:
        zone = icalendar.vDDDTypes.from_ical("20000101T000000", tzid).tzinfo
    except (ValueError, TypeError):
        return None
    return zone if isinstance(zone, ZoneInfo) and zone.key == tzid else None


_UTC = icalendar.vDDDTypes.from_ical("20000101T000000Z").tzinfo
