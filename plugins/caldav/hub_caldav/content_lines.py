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

Public API: :func:`read_calendar`, :func:`walk`, :func:`value`, :func:`moment`, :func:`factory`,
:class:`Declined`.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import lru_cache
from typing import Iterator
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


class Declined(Exception):
    """The text is not plain enough to be sure of reading it as icalendar does."""


def walk(text: str) -> Iterator[tuple[str, str, dict[str, str] | None, str]]:
    """The content lines of one plain VCALENDAR: ``("BEGIN"|"END", component, None, "")`` and
    ``(name, component, params, raw value)``; the parameters by name, unquoted.

    :raises Declined: unusual text (see the module docstring), malformed or not.
    """
    stack: list[str] = []
    done = False
    for line in NEWLINE.split(UFOLD.sub("", text)):
        if not line:
            continue
        if done:
            raise Declined  # something after the calendar: icalendar decides
        if line.startswith("BEGIN:"):
            name = line[6:]
            if not _COMPONENT.fullmatch(name) or name == "VTIMEZONE" or not (stack or name == "VCALENDAR"):
                raise Declined
            stack.append(name)
            yield "BEGIN", name, None, ""
        elif line.startswith("END:"):
            if not stack or stack[-1] != line[4:]:
                raise Declined
            yield "END", stack.pop(), None, ""
            done = not stack
        else:
            match = _LINE.fullmatch(line)
            if match is None or not stack:
                raise Declined
            name, param_text, raw = match.groups()
            if name in _SPECIAL or name in ("BEGIN", "END"):
                raise Declined
            params: dict[str, str] = {}
            for key, quoted, plain in _PARAM.findall(param_text):
                if key in params:
                    raise Declined
                params[key] = quoted if quoted or not plain else plain
            yield name, stack[-1], params, raw
    if not done:
        raise Declined


def read_calendar(text: str) -> icalendar.Calendar | None:
    """``text`` as the :class:`icalendar.Calendar` icalendar would build, or ``None`` when the text is
    not plain enough to be sure of that (then parse it with icalendar)."""
    stack: list[icalendar.cal.component.Component] = []
    try:
        for name, _component, params, raw in walk(text):
            if params is not None:
                stack[-1].add(name, value(name, params, raw), encode=False)
            elif name == "BEGIN":
                component = _COMPONENTS.get_component_class(_component)()
                if not getattr(component, "name", ""):
                    return None
                stack.append(component)
            elif len(stack) > 1:
                done = stack.pop()
                stack[-1].add_component(done)
    except Declined:
        return None
    return stack[0] if isinstance(stack[0], icalendar.Calendar) else None


def value(name: str, params: dict[str, str], raw: str):
    """The property icalendar's parser makes of one content line (its type, value and parameters).

    :raises Declined: icalendar would record the value as broken (or raise): let it.
    """
    parameters = icalendar.Parameters(params)
    kind = factory(name, parameters.value if params else None)
    if hasattr(kind, "get_value_from_content_line"):
        text = raw  # value types whose text is taken verbatim (icalendar: Contentline.raw_parts)
    else:
        text = unescape_backslash(raw) if "\\" in raw else raw
    tzid = params.get("TZID") if params and name in _TZID_NAMES else None
    try:
        parsed = moment(text, tzid) if kind is icalendar.vDDDTypes else None
        if parsed is None:
            parsed = kind.from_ical(text, tzid) if tzid else kind.from_ical(text)
    except (ValueError, TypeError):
        raise Declined from None
    instance = kind(parsed)
    instance.params = parameters
    return instance


def moment(value: str, tzid: str | None) -> date | datetime | None:
    """A DATE or DATE-TIME as icalendar reads it, in the zone it gives ``tzid``; ``None`` for anything else.

    icalendar looks the zone up again for every value; the lookup is cached here, only for zones it
    resolves to the IANA zone of that very name (other names may come from VTIMEZONEs it cached)."""
    match = _STAMP.fullmatch(value)
    if match is None:
        return None
    year, month, day, hour, minute, second, utc = match.groups()
    if hour is None:
        if tzid:
            return None
        try:
            return date(int(year), int(month), int(day))
        except ValueError:
            return None
    if utc and tzid:
        return None
    zone = _UTC if utc else _zone(tzid) if tzid else None
    if zone is None and tzid:
        return None
    try:
        return datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=zone)
    except ValueError:  # no such day or time: icalendar's reading says how broken it is
        return None


@lru_cache(maxsize=1024)
def factory(name: str, value_type: str | None) -> type:
    """The value type icalendar's parser gives property ``name`` with the VALUE parameter ``value_type``."""
    return _FACTORY.for_property(name, value_type)


@lru_cache(maxsize=256)
def _zone(tzid: str):
    try:
        zone = icalendar.vDDDTypes.from_ical("20000101T000000", tzid).tzinfo
    except (ValueError, TypeError):
        return None
    return zone if isinstance(zone, ZoneInfo) and zone.key == tzid else None


_UTC = icalendar.vDDDTypes.from_ical("20000101T000000Z").tzinfo
