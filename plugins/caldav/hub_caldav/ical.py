"""iCalendar objects ⇄ :class:`hub.types.RemoteEvent`, with the ``icalendar`` library.

A CalDAV resource holds one UID: the recurring master and its overrides (VEVENTs with a
RECURRENCE-ID) live together. The hub sees them as separate events:

* the master (or a single event) gets the resource's href as remote id;
* each override gets ``"<href>#<occurrence key>"`` with ``recurring_event_id`` = the href and
  ``original_start`` = its RECURRENCE-ID;
* each EXDATE of the master becomes a cancelled occurrence with the same kind of id, so the hub
  learns about cancelled occurrences the way Google and Microsoft report them.

Objects the hub cannot read (no start, an end before the start, a time zone nobody defines) raise
:class:`MalformedObject`; the sync logs and skips them.

Public API: :class:`CalendarObject`, :class:`MalformedObject`, :func:`occurrence_key`,
:func:`parse_key`, :func:`exception_id`, :func:`split_id`, :data:`MARKER`, :func:`resolve_zone`,
:func:`read`, :func:`exdate_values`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar
import recurring_ical_events

from hub.rrules import fast_forward, rule_problem, steps_problem
from hub.timezones import pinned
from hub.types import Participant, RemoteEvent

from hub_caldav.content_lines import read_calendar

#: the property that marks an event the hub wrote (its value is the change's client id)
MARKER = "X-CRM-HUB-MARKER"

_STATUS = {"CONFIRMED": "confirmed", "TENTATIVE": "tentative", "CANCELLED": "cancelled"}
_PARTSTAT = {"ACCEPTED": "accepted", "DECLINED": "declined", "TENTATIVE": "tentative"}


class MalformedObject(ValueError):
    """An iCalendar object the hub cannot read; the message says why (never the data itself)."""


def occurrence_key(value: date | datetime) -> str:
    """A stable text key for a RECURRENCE-ID / EXDATE value (UTC for aware times)."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            return value.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        return value.strftime("%Y%m%dT%H%M%S")
    return value.strftime("%Y%m%d")


def parse_key(key: str) -> date | datetime:
    """The value an :func:`occurrence_key` was made from (floating times stay naive).

    :raises ValueError: not a key.
    """
    if key.endswith("Z"):
        return datetime.strptime(key, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    if "T" in key:
        return datetime.strptime(key, "%Y%m%dT%H%M%S")
    return datetime.strptime(key, "%Y%m%d").date()


def exception_id(href: str, key: str) -> str:
    """The remote id of one occurrence (override or cancellation) of the series at ``href``."""
    return f"{href}#{key}"


def split_id(remote_id: str) -> tuple[str, str | None]:
    """``"<href>#<key>"`` → ``(href, key)``; a plain href → ``(href, None)``."""
    href, _, key = remote_id.partition("#")
    return href, key or None


_VTIMEZONE = re.compile(r"^BEGIN:VTIMEZONE\r?\n(.*?)^END:VTIMEZONE\r?\n", re.S | re.M)
_TZID = re.compile(r"^TZID:([^\r\n]+)\r?$", re.M)


def without_known_zones(data: str | bytes) -> str | bytes:
    """``data`` without the VTIMEZONEs of IANA zones (``TZID:Europe/Berlin``), which need no definition.

    Clients send the VTIMEZONE of every zone they use with every object, and icalendar parses it line
    by line each time — most of the parsing of a typical object. References to an IANA zone resolve
    by name just the same (RFC 7809); other zones (Outlook's "W. Europe Standard Time", custom
    ones) keep their definitions. Written by hand: icalendar has no option to skip components.
    """
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    if "BEGIN:VTIMEZONE" not in text:
        return data

    def drop_known(match: re.Match) -> str:
        tzid = _TZID.search(match.group(1))
        return "" if tzid and "/" in tzid.group(1) and resolve_zone(tzid.group(1).strip()) else match.group(0)

    return _VTIMEZONE.sub(drop_known, text)


def resolve_zone(name: str | None) -> tzinfo | None:
    """The IANA zone called ``name``, or ``None`` when there is no such zone."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def read(data: str | bytes, fast: bool = True) -> icalendar.Calendar:
    """``data`` as an icalendar ``Calendar``: plain objects by :func:`hub_caldav.content_lines.read_calendar`
    (``fast``), the rest by icalendar itself, which builds the same components more slowly.

    :raises MalformedObject: not iCalendar, not one VCALENDAR, or a content line icalendar cannot read.
    """
    text = without_known_zones(data)
    try:
        calendar = (read_calendar(text) if fast and isinstance(text, str) else None) or icalendar.Calendar.from_ical(text)
    except Exception as exc:  # icalendar raises ValueError and friends for broken text
        raise MalformedObject(f"not valid iCalendar ({type(exc).__name__}: {str(exc)[:120]})") from None
    if not isinstance(calendar, icalendar.Calendar):
        raise MalformedObject("not a VCALENDAR")
    broken = [error for component in calendar.walk() for _name, error in component.errors]
    if broken:  # icalendar skips what it cannot read; the object would be stored incomplete
        raise MalformedObject(f"a broken content line ({str(broken[0]).partition(':')[0][:120]})")
    return calendar


@dataclass
class CalendarObject:
    """One parsed CalDAV resource: its master VEVENT and overrides, keyed by occurrence."""

    href: str
    etag: str | None
    calendar: icalendar.Calendar
    uid: str
    master: icalendar.Event | None
    overrides: dict[str, icalendar.Event] = field(default_factory=dict)
    #: zone for floating times and all-day busy time: the calendar's; ``None`` keeps floating times
    #: naive, so the hub reads them in the zone it knows for the calendar (its owner's)
    default_zone: tzinfo | None = None

    @classmethod
    def parse(cls, data: str | bytes, href: str, etag: str | None = None,
              default_zone: tzinfo | None = None) -> "CalendarObject":
        """Parse one resource's iCalendar text.

        :raises MalformedObject: not iCalendar, no VEVENT, VEVENTs with different UIDs, or a VEVENT
            without a usable start and end.
        """
        return cls.from_calendar(read(data), href, etag, default_zone)

    @classmethod
    def from_calendar(cls, calendar: icalendar.Calendar, href: str, etag: str | None = None,
                      default_zone: tzinfo | None = None) -> "CalendarObject":
        """The resource of an already read ``calendar`` (see :meth:`parse`)."""
        vevents = [c for c in calendar.walk("VEVENT")]
        if not vevents:
            raise MalformedObject("holds no VEVENT")
        uids = {str(v.get("UID", "")) for v in vevents}
        if len(uids) != 1 or not next(iter(uids)):
            raise MalformedObject("VEVENTs without a UID or with different UIDs in one resource")
        obj = cls(href=href, etag=etag, calendar=calendar, uid=uids.pop(), master=None,
                  default_zone=default_zone)
        for vevent in vevents:
            if "RECURRENCE-ID" in vevent:
                obj.overrides[occurrence_key(obj._when(vevent, "RECURRENCE-ID"))] = vevent
            elif obj.master is None:
                obj.master = vevent
                for rule in _as_list(vevent.get("RRULE")):  # expanders loop for ever on some broken rules
                    problem = rule_problem(rule.to_ical().decode())
                    if problem:
                        raise MalformedObject(problem)
            else:
                raise MalformedObject("two VEVENTs without RECURRENCE-ID for one UID")
            obj._span(vevent)  # every consumer (sync, free/busy, writer) sees the same verdict
        return obj

    # --- reading -----------------------------------------------------------------------------------

    def events(self) -> list[RemoteEvent]:
        """The master, its overrides and its cancelled occurrences as hub events.

        :raises MalformedObject: a VEVENT has no usable start or end.
        """
        out: list[RemoteEvent] = []
        master_event = None
        if self.master is not None:
            master_event = self._event(self.master, self.href)
            out.append(master_event)
        for key, vevent in self.overrides.items():
            event = self._event(vevent, exception_id(self.href, key))
            event.recurring_event_id = self.href
            event.original_start = self._when(vevent, "RECURRENCE-ID")
            out.append(event)
        if master_event is not None:
            out.extend(self._cancelled_occurrences(master_event))
        return out

    def exception_keys(self) -> set[str]:
        """Keys of every occurrence reported on its own (overrides and EXDATEs)."""
        keys = set(self.overrides)
        if self.master is not None:
            keys.update(occurrence_key(v) for v in self._exdates(self.master))
        return keys

    def occurs_between(self, start: datetime, end: datetime) -> bool:
        """Whether any occurrence of this resource overlaps ``[start, end)``.

        A series too dense to step through up to ``start`` counts as inside: the sync engine then
        expands it from a later start, or refuses it and says so (hub.sync.busy)."""
        first, near = self._moved_near(start)
        if self._too_dense(near, start):
            return True
        try:  # lazily: a rule repeating every minute must not be expanded in full to answer this
            for occurrence in recurring_ical_events.of(near).after(first):
                begin, finish = (self._instant(v) for v in self._span(occurrence))
                if begin >= end:
                    return False
                if finish > start or begin >= start:
                    return True
            return False
        except Exception as exc:  # a rule dateutil cannot expand
            raise MalformedObject(f"recurrence cannot be expanded ({type(exc).__name__})") from None

    def busy_between(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """Busy ``(start, end)`` pairs of the occurrences overlapping ``[start, end)``.

        Transparent and cancelled occurrences are free; all-day ones are busy from midnight to
        midnight in the default zone.
        """
        _, near = self._moved_near(start)
        problem = self._too_dense(near, end)
        if problem:
            raise MalformedObject(problem)
        try:
            occurrences = recurring_ical_events.of(near).between(start, end)
        except Exception as exc:
            raise MalformedObject(f"recurrence cannot be expanded ({type(exc).__name__})") from None
        busy = []
        for occurrence in occurrences:
            if str(occurrence.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
                continue
            if str(occurrence.get("STATUS", "")).upper() == "CANCELLED":
                continue
            begin, finish = self._span(occurrence)
            busy.append((self._instant(begin), self._instant(finish)))
        return busy

    # --- helpers -----------------------------------------------------------------------------------

    def _longest(self) -> timedelta:
        return max((self._length(v) for v in [self.master, *self.overrides.values()] if v is not None),
                   default=timedelta(0))

    def _near(self, start: datetime) -> icalendar.Calendar:
        """The object with its master's DTSTART (and DTEND) moved on close to ``start`` when its rule
        repeats within a day (:func:`hub.rrules.fast_forward`): the expander walks every instance from
        DTSTART, and a MINUTELY series begun a year ago is half a million of them. Overrides stay."""
        master = self.master
        if master is None or not isinstance(master.get("RRULE"), icalendar.vRecur):
            return self.calendar
        raw = master.decoded("DTSTART")
        if not isinstance(raw, datetime):
            return self.calendar
        rule = "RRULE:" + master["RRULE"].to_ical().decode()
        moved, rules = fast_forward(raw, [rule], start, raw.tzinfo or self.default_zone or timezone.utc)
        if moved == raw and rules == [rule]:
            return self.calendar
        copy = icalendar.Calendar.from_ical(self.calendar.to_ical())
        vevent = next(v for v in copy.walk("VEVENT") if "RECURRENCE-ID" not in v and "RRULE" in v)
        shift = _wall(moved) - _wall(raw)
        for name in ("DTSTART", "DTEND"):
            if name in vevent:
                vevent[name] = _moved_property(vevent[name], vevent.decoded(name), shift)
        del vevent["RRULE"]
        if rules:
            vevent.add("RRULE", icalendar.vRecur.from_ical(rules[0].partition(":")[2]))
        return copy

    def _moved_near(self, start: datetime) -> tuple[datetime, icalendar.Calendar]:
        """The instant from which occurrences touching ``start`` must be looked for (the longest
        occurrence and a day before it), and the object moved on close to it (:meth:`_near`), made once
        for both the density check and the expansion."""
        try:
            first = start - self._longest() - timedelta(days=1)
            return first, self._near(first)
        except Exception as exc:  # a rule dateutil cannot read
            raise MalformedObject(f"recurrence cannot be expanded ({type(exc).__name__})") from None

    def _too_dense(self, near: icalendar.Calendar, until: datetime) -> str | None:
        """Why expanding the series (``near``: already moved on, :meth:`_moved_near`) up to ``until`` would
        take too many steps (an outsider's invitation can repeat every second for years), or ``None``."""
        master = next((v for v in near.walk("VEVENT") if "RECURRENCE-ID" not in v), None)
        if master is None:
            return None
        rules = [rule.to_ical().decode() for rule in _as_list(master.get("RRULE"))]
        rdates = sum(len(prop.dts) for prop in _as_list(master.get("RDATE")))
        if not rules and not rdates:
            return None
        return steps_problem(rules, rdates, until - self._instant(self._span(master)[0]))

    def _when(self, vevent: icalendar.Event, name: str) -> date | datetime:
        """A date or aware datetime property; floating times take the default zone."""
        prop = vevent.get(name)
        try:
            value = vevent.decoded(name)
        except Exception:
            raise MalformedObject(f"{name} is not a date or time") from None
        if isinstance(value, list):  # a multi-valued property used where one value belongs
            value = value[0]
        if isinstance(value, datetime) and value.tzinfo is None:
            tzid = prop.params.get("TZID") if hasattr(prop, "params") else None
            if tzid:
                raise MalformedObject(f"{name} uses the time zone {tzid!r}, which the object does not define")
            if self.default_zone is not None:
                value = value.replace(tzinfo=self.default_zone)
        if not isinstance(value, date):
            raise MalformedObject(f"{name} is not a date or time")
        return value

    def _span(self, vevent: icalendar.Event) -> tuple[date | datetime, date | datetime]:
        if "DTSTART" not in vevent:
            raise MalformedObject("a VEVENT has no DTSTART")
        start = self._when(vevent, "DTSTART")
        all_day = not isinstance(start, datetime)
        if "DTEND" in vevent:
            end = self._when(vevent, "DTEND")
        elif "DURATION" in vevent:
            duration = vevent.decoded("DURATION")
            if not isinstance(duration, timedelta):
                raise MalformedObject("DURATION is not a duration")
            if _exact_duration(vevent) is not None and isinstance(start, datetime) and start.tzinfo is not None:
                # RFC 5545 §3.3.6: hours, minutes and seconds are exact, across a DST change too
                end = pinned(start).astimezone(timezone.utc) + duration
            else:  # days and weeks are nominal: the same wall-clock time
                end = start + duration
        else:  # RFC 5545 §3.6.1: a date lasts one day, a date-time no time at all
            end = start + timedelta(days=1) if all_day else start
        if isinstance(end, datetime) != (not all_day):
            raise MalformedObject("DTSTART and DTEND mix a date with a date-time")
        aware = isinstance(end, datetime) and end.tzinfo is not None
        if all_day is False and aware != (start.tzinfo is not None):
            raise MalformedObject("DTSTART and DTEND mix a floating time with a time in a zone")
        if (pinned(end) < pinned(start)) if aware else end < start:
            raise MalformedObject("the event ends before it starts")
        return start, end

    def _length(self, vevent: icalendar.Event) -> timedelta:
        begin, finish = (self._instant(v) for v in self._span(vevent))
        return finish - begin

    def _instant(self, value: date | datetime) -> datetime:
        zone = self.default_zone or timezone.utc
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=zone)
        return datetime.combine(value, datetime.min.time(), zone)

    def _event(self, vevent: icalendar.Event, remote_id: str) -> RemoteEvent:
        start, end = self._span(vevent)
        all_day = not isinstance(start, datetime)
        exact = _exact_duration(vevent) if not all_day and "DTEND" not in vevent else None
        return RemoteEvent(
            remote_id=remote_id,
            start=start,
            end=end,
            summary=str(vevent.get("SUMMARY", "")),
            ical_uid=self.uid,
            etag=self.etag,
            status=_STATUS.get(str(vevent.get("STATUS", "CONFIRMED")).upper(), "confirmed"),
            description=str(vevent.get("DESCRIPTION", "")),
            location=str(vevent.get("LOCATION", "")),
            all_day=all_day,
            timezone=None if all_day else _zone_name(vevent.get("DTSTART"), start),
            vtimezone=None if all_day else self._definition(vevent.get("DTSTART"), start),
            recurrence=_recurrence_lines(vevent),
            organizer=_participant(vevent.get("ORGANIZER"), organizer=True),
            attendees=[p for p in (_participant(a) for a in _as_list(vevent.get("ATTENDEE"))) if p],
            transparent=str(vevent.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT",
            video_url=_conference_url(vevent),
            duration_seconds=int(exact.total_seconds()) if exact is not None else None,
            hub_marker=str(vevent[MARKER]) if MARKER in vevent else None,
            updated=self._updated(vevent),
            sequence=_int(vevent.get("SEQUENCE")),
        )

    def _definition(self, prop, start: datetime) -> str | None:
        """The object's VTIMEZONE for a zone without an IANA name (Outlook's "Customized Time Zone")."""
        tzid = prop.params.get("TZID") if hasattr(prop, "params") else None
        if not tzid or start.tzinfo is None or getattr(start.tzinfo, "key", None):
            return None
        for vtimezone in self.calendar.walk("VTIMEZONE"):
            if str(vtimezone.get("TZID")) == str(tzid):
                return vtimezone.to_ical().decode()
        return None

    def _updated(self, vevent: icalendar.Event) -> datetime | None:
        for name in ("LAST-MODIFIED", "DTSTAMP"):
            if name in vevent:
                try:
                    value = self._when(vevent, name)
                except MalformedObject:
                    continue
                if isinstance(value, datetime):
                    return value
        return None

    def _exdates(self, vevent: icalendar.Event) -> list[date | datetime]:
        return exdate_values(_as_list(vevent.get("EXDATE")), self.default_zone)

    def _cancelled_occurrences(self, master: RemoteEvent) -> list[RemoteEvent]:
        length = master.end - master.start
        out = []
        for value in self._exdates(self.master):
            key = occurrence_key(value)
            if key in self.overrides:
                continue
            out.append(master.replace(
                remote_id=exception_id(self.href, key), start=value, end=value + length, status="cancelled",
                recurrence=[], recurring_event_id=self.href, original_start=value, attendees=[],
            ))
        return out


def exdate_values(props: list, default_zone: tzinfo | None) -> list[date | datetime]:
    """The dates of EXDATE properties; floating times take ``default_zone``."""
    values: list[date | datetime] = []
    for prop in props:
        for item in getattr(prop, "dts", []):
            value = item.dt
            if isinstance(value, datetime) and value.tzinfo is None and default_zone is not None:
                value = value.replace(tzinfo=default_zone)
            values.append(value)
    return values


def _wall(value: datetime) -> datetime:
    return value.replace(tzinfo=None)


def _moved_property(prop, value: datetime, shift: timedelta):
    """A DTSTART/DTEND ``shift`` later on its own wall clock, written with the property's own TZID or Z."""
    moved = icalendar.vDDDTypes((_wall(value) + shift).replace(tzinfo=value.tzinfo))
    if "TZID" in prop.params:  # the name as written (the tzinfo may be one the object's VTIMEZONE built)
        moved.params["TZID"] = prop.params["TZID"]
    return moved


def _exact_duration(vevent: icalendar.Event) -> timedelta | None:
    """The VEVENT's DURATION when it is exact — hours, minutes and seconds only (RFC 5545 §3.3.6)."""
    if "DURATION" not in vevent:
        return None
    text = vevent["DURATION"].to_ical().decode().upper()
    value = vevent.decoded("DURATION")
    if "W" in text or "D" in text.split("T")[0] or not isinstance(value, timedelta):
        return None
    return value


def _as_list(value) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _zone_name(prop, start: datetime) -> str | None:
    """The IANA name of the zone ``start`` is in, else the TZID as written, else None (UTC)."""
    key = getattr(start.tzinfo, "key", None)
    if key:
        return key
    tzid = prop.params.get("TZID") if hasattr(prop, "params") else None
    if tzid:
        return str(tzid)
    return "UTC" if start.utcoffset() == timedelta(0) else None


def _recurrence_lines(vevent: icalendar.Event) -> list[str]:
    """RRULE/RDATE/EXDATE as content lines (``"RRULE:FREQ=WEEKLY;COUNT=3"``), as Google lists them:
    unfolded (icalendar folds at 75 octets, and a folded rule no longer parses as one)."""
    lines = []
    for name in ("RRULE", "RDATE", "EXDATE"):
        for prop in _as_list(vevent.get(name)):
            lines.append(re.sub(r"\r?\n[ \t]", "", vevent.content_line(name, prop).to_ical().decode()))
    return lines


def _participant(prop, organizer: bool = False) -> Participant | None:
    if prop is None:
        return None
    address = str(prop)
    if address.lower().startswith("mailto:"):
        address = address[7:]
    if "@" not in address:
        return None
    params = getattr(prop, "params", {})
    cutype = str(params.get("CUTYPE", "")).upper()
    return Participant(
        email=address,
        name=str(params.get("CN", "")),
        response=_PARTSTAT.get(str(params.get("PARTSTAT", "")).upper(), "needsAction"),
        organizer=organizer,
        optional=str(params.get("ROLE", "")).upper() == "OPT-PARTICIPANT",
        resource=cutype in ("RESOURCE", "ROOM"),
    )


def _conference_url(vevent: icalendar.Event) -> str | None:
    for prop in _as_list(vevent.get("CONFERENCE")):
        value = str(prop)
        if value.startswith("https://"):
            return value
    return None
