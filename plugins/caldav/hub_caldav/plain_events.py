"""The sync's fast path: hub events straight from plain iCalendar text, without building icalendar objects.

Even read by :mod:`hub_caldav.content_lines`, an object costs ~0.2 ms in icalendar's property types
and component lookups before :class:`hub_caldav.ical.CalendarObject` has its events — most of an
initial sync's CPU in the plugin. A sync needs only the events and the keys of the occurrences
reported on their own, so :func:`read_events` reads the properties the hub maps (times, texts,
people, status) itself, with the line grammar of :mod:`hub_caldav.content_lines`, and lets icalendar
make only the rest: recurrence rules and dates (the hub keeps their text as icalendar writes it)
and properties it does not map (made and dropped, so a value icalendar would call broken declines).
The mapping is :meth:`CalendarObject._event`'s, through its helpers where they take plain values.

Anything else — a DURATION, a time zone without an IANA name, a VEVENT the hub would refuse, two
values where one belongs — returns ``None``: the caller reads the object with :class:`CalendarObject`,
which gives the same events or the per-item error (``plugins/caldav/tests/test_caldav_content_lines.py``
compares the two on generated objects).

Public API: :func:`read_events`.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, tzinfo

import icalendar
from icalendar.parser.property import unescape_backslash

from hub.rrules import rule_problem
from hub.timezones import pinned
from hub.types import RemoteEvent

from hub_caldav.content_lines import Declined, factory, moment, value, walk
from hub_caldav.ical import (
    _STATUS,
    MARKER,
    _participant,
    _recurrence_lines,
    _zone_name,
    exception_id,
    exdate_values,
    occurrence_key,
    without_known_zones,
)

#: properties read here, as text (icalendar: vText, or vUnknown for X- names, taken verbatim)
_TEXTS = frozenset({"UID", "SUMMARY", "DESCRIPTION", "LOCATION", "STATUS", "TRANSP", MARKER})
_MOMENTS = frozenset({"DTSTART", "DTEND", "RECURRENCE-ID", "DTSTAMP", "LAST-MODIFIED"})
#: kept as icalendar values: the hub stores their text as icalendar writes it
_RECURRENCE = frozenset({"RRULE", "RDATE", "EXDATE"})
_REPEATED = frozenset({"ATTENDEE", "CONFERENCE"})
_ONCE = _TEXTS | _MOMENTS | {"SEQUENCE", "ORGANIZER"}


class _Prop(str):
    """A property's value with its parameters, as the helpers of :mod:`hub_caldav.ical` read them."""

    params: dict[str, str]

    def __new__(cls, text: str, params: dict[str, str]) -> "_Prop":
        prop = super().__new__(cls, text)
        prop.params = params
        return prop


def read_events(text: str, href: str, etag: str | None,
                default_zone: tzinfo | None) -> tuple[list[RemoteEvent], set[str]] | None:
    """The events of one resource and the keys of its overrides and EXDATEs, as
    :meth:`CalendarObject.events` and :meth:`CalendarObject.exception_keys` give them; ``None`` where
    the object is not plain (then read it with :class:`hub_caldav.ical.CalendarObject`)."""
    plain = without_known_zones(text)
    if not isinstance(plain, str):
        return None
    try:
        return _Resource(href, etag, default_zone).read(_vevents(plain))
    except Declined:
        return None


def _vevents(text: str) -> list[dict]:
    """The VEVENTs of ``text``: name → property (a list for repeatable ones), recurrence properties
    as icalendar values; everything else made by icalendar and dropped (checking it is readable)."""
    vevents: list[dict] = []
    inside = False
    for name, component, params, raw in walk(text):
        if params is None:
            if component not in ("VCALENDAR", "VEVENT", "VALARM") or (inside and name == "BEGIN" and component == "VEVENT"):
                raise Declined  # a VTODO, an X- component, a VEVENT in a VEVENT: icalendar decides
            if component == "VEVENT":
                inside = name == "BEGIN"
                if inside:
                    vevents.append({})
            continue
        if component != "VEVENT":
            _check(name, params, raw)
            continue
        vevent = vevents[-1]
        if name in _RECURRENCE:
            vevent.setdefault(name, []).append(value(name, params, raw))
            continue
        if name in _ONCE or name in _REPEATED:
            if "VALUE" in params and factory(name, params["VALUE"].upper()) is not factory(name, None):
                raise Declined  # another value type than the hub reads here
            if name in ("DTSTAMP", "LAST-MODIFIED") and "TZID" in params:
                raise Declined  # icalendar reads these without their TZID
            if name in _ONCE and name in vevent:
                raise Declined  # icalendar would make a list where the hub reads one value
            # as icalendar's parser: backslash escapes undone, except in X- names (taken verbatim)
            prop = _Prop(raw if name == MARKER or "\\" not in raw else unescape_backslash(raw), params)
            if name in _REPEATED:
                vevent.setdefault(name, []).append(prop)
            else:
                vevent[name] = prop
        elif name == "DURATION":
            raise Declined
        else:
            _check(name, params, raw)
    return vevents


#: value types whose reading cannot fail (the text itself): nothing to check
_VERBATIM = (icalendar.vText, icalendar.vUnknown, icalendar.vCalAddress, icalendar.vUri)


def _check(name: str, params: dict[str, str], raw: str) -> None:
    """Let icalendar read a property the hub does not map: a value it calls broken declines."""
    if factory(name, params["VALUE"].upper() if "VALUE" in params else None) not in _VERBATIM:
        value(name, params, raw)


class _Resource:
    """One resource's VEVENTs mapped as :class:`hub_caldav.ical.CalendarObject` maps them."""

    def __init__(self, href: str, etag: str | None, default_zone: tzinfo | None):
        self.href, self.etag, self.default_zone = href, etag, default_zone

    def read(self, vevents: list[dict]) -> tuple[list[RemoteEvent], set[str]]:
        if not vevents:
            raise Declined
        uids = {str(v.get("UID", "")) for v in vevents}
        if len(uids) != 1 or not next(iter(uids)):
            raise Declined
        uid = uids.pop()
        master = None
        overrides: dict[str, tuple[dict, date | datetime]] = {}
        spans = {}
        for vevent in vevents:
            if "RECURRENCE-ID" in vevent:
                original = self._when(vevent["RECURRENCE-ID"])
                overrides[occurrence_key(original)] = (vevent, original)
            elif master is None:
                master = vevent
                if any(rule_problem(rule.to_ical().decode()) for rule in vevent.get("RRULE", [])):
                    raise Declined
            else:
                raise Declined
            spans[id(vevent)] = self._span(vevent)
        events: list[RemoteEvent] = []
        keys = set(overrides)
        master_event = None
        if master is not None:
            master_event = self._event(master, spans[id(master)], self.href, uid)
            events.append(master_event)
        for key, (vevent, original) in overrides.items():
            events.append(self._event(vevent, spans[id(vevent)], exception_id(self.href, key), uid).replace(
                recurring_event_id=self.href, original_start=original))
        if master is not None and master_event is not None:
            length = master_event.end - master_event.start
            for when in exdate_values(master.get("EXDATE", []), self.default_zone):
                key = occurrence_key(when)
                keys.add(key)
                if key not in overrides:
                    events.append(master_event.replace(
                        remote_id=exception_id(self.href, key), start=when, end=when + length, status="cancelled",
                        recurrence=[], recurring_event_id=self.href, original_start=when, attendees=[]))
        return events, keys

    def _when(self, prop: _Prop) -> date | datetime:
        """:meth:`CalendarObject._when`: floating times take the default zone."""
        when = moment(prop, prop.params.get("TZID"))
        if when is None:
            raise Declined
        if isinstance(when, datetime) and when.tzinfo is None and self.default_zone is not None:
            when = when.replace(tzinfo=self.default_zone)
        return when

    def _span(self, vevent: dict) -> tuple[date | datetime, date | datetime]:
        """:meth:`CalendarObject._span` for VEVENTs without DURATION; what it would refuse declines."""
        if "DTSTART" not in vevent:
            raise Declined
        start = self._when(vevent["DTSTART"])
        all_day = not isinstance(start, datetime)
        if "DTEND" in vevent:
            end = self._when(vevent["DTEND"])
        else:
            end = start + timedelta(days=1) if all_day else start
        if isinstance(end, datetime) == all_day:
            raise Declined
        if isinstance(start, datetime) and isinstance(end, datetime):
            aware = end.tzinfo is not None
            if aware != (start.tzinfo is not None):
                raise Declined
            if (pinned(end) < pinned(start)) if aware else end < start:
                raise Declined
        elif end < start:
            raise Declined
        return start, end

    def _event(self, vevent: dict, span: tuple[date | datetime, date | datetime], remote_id: str,
               uid: str) -> RemoteEvent:
        start, end = span
        all_day = not isinstance(start, datetime)
        recurrence = {name: vevent[name] for name in _RECURRENCE if name in vevent}
        return RemoteEvent(
            remote_id=remote_id,
            start=start,
            end=end,
            summary=str(vevent.get("SUMMARY", "")),
            ical_uid=uid,
            etag=self.etag,
            status=_STATUS.get(vevent.get("STATUS", "CONFIRMED").upper(), "confirmed"),
            description=str(vevent.get("DESCRIPTION", "")),
            location=str(vevent.get("LOCATION", "")),
            all_day=all_day,
            timezone=None if all_day else _zone_name(vevent["DTSTART"], start),
            vtimezone=None,
            recurrence=_recurrence_lines(_as_event(recurrence)) if recurrence else [],
            organizer=_participant(vevent.get("ORGANIZER"), organizer=True),
            attendees=[p for p in (_participant(a) for a in vevent.get("ATTENDEE", [])) if p],
            transparent=vevent.get("TRANSP", "OPAQUE").upper() == "TRANSPARENT",
            video_url=next((str(c) for c in vevent.get("CONFERENCE", []) if c.startswith("https://")), None),
            duration_seconds=None,
            hub_marker=str(vevent[MARKER]) if MARKER in vevent else None,
            updated=self._updated(vevent),
            sequence=_sequence(vevent.get("SEQUENCE")),
        )

    def _updated(self, vevent: dict) -> datetime | None:
        for name in ("LAST-MODIFIED", "DTSTAMP"):
            if name in vevent:
                when = self._when(vevent[name])
                if isinstance(when, datetime):
                    return when
        return None


def _as_event(properties: dict[str, list]) -> icalendar.Event:
    event = icalendar.Event()
    for name, values in properties.items():
        for prop in values:
            event.add(name, prop, encode=False)
    return event


def _sequence(prop: _Prop | None) -> int:
    if prop is None:
        return 0
    if not prop.isdigit() or not prop.isascii():
        raise Declined  # icalendar's integer reading decides
    return int(prop)
