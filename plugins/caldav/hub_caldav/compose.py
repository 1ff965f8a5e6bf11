"""Composing iCalendar from hub events: the VEVENTs and VCALENDARs the writer PUTs.

Every VEVENT the hub writes carries :data:`~hub_caldav.ical.MARKER` with the change's client id,
so the sync recognises the hub's own writes. When an event already exists, its VEVENT is the
starting point: properties the hub does not manage (alarms, Apple's structured location, other
apps' X- properties) survive an update.

Public API: :func:`vevent_for`, :func:`calendar_for`, :func:`serialize`.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import icalendar

from hub.exceptions import ValidationError
from hub.types import Participant, RemoteEvent

from hub_caldav.ical import MARKER, resolve_zone

PRODID = "-//CRM Integration Hub//iCloud provider//EN"

#: what the hub owns in a VEVENT; everything else on an existing event is kept
_MANAGED = ("DTSTART", "DTEND", "DURATION", "SUMMARY", "DESCRIPTION", "LOCATION", "STATUS", "TRANSP",
            "RRULE", "RDATE", "EXDATE", "ORGANIZER", "ATTENDEE", "SEQUENCE", "DTSTAMP", "LAST-MODIFIED",
            "CONFERENCE", MARKER)
_PARTSTAT = {"accepted": "ACCEPTED", "declined": "DECLINED", "tentative": "TENTATIVE", "needsAction": "NEEDS-ACTION"}


def vevent_for(event: RemoteEvent, uid: str, marker: str | None, base: icalendar.Event | None = None,
               send_invites: bool = True, recurrence_id: date | datetime | None = None) -> icalendar.Event:
    """The VEVENT for ``event``.

    :param uid: the resource's UID (kept from ``base`` by the caller on updates).
    :param marker: the client id to mark the event with; ``None`` keeps ``base``'s marker.
    :param base: the VEVENT on the server, whose unmanaged properties are kept.
    :param send_invites: ``False`` asks the server not to e-mail attendees (RFC 6638 SCHEDULE-AGENT).
    :param recurrence_id: set for an override of one occurrence.
    :raises ValidationError: the event's recurrence lines are not iCalendar.
    """
    vevent = icalendar.Event()
    if base is not None:
        for name in base.keys():
            if name not in _MANAGED:
                vevent[name] = base[name]
        for component in base.subcomponents:  # VALARMs
            vevent.add_component(component)
        old_marker = base.get(MARKER)
        marker = marker or (str(old_marker) if old_marker else None)
    if "UID" not in vevent:
        vevent.add("UID", uid)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    vevent.add("DTSTAMP", now)
    vevent.add("LAST-MODIFIED", now)
    sequence = int(base.get("SEQUENCE", 0)) + 1 if base is not None else event.sequence
    vevent.add("SEQUENCE", sequence)
    if recurrence_id is not None and "RECURRENCE-ID" not in vevent:
        vevent.add("RECURRENCE-ID", recurrence_id)
    vevent.add("DTSTART", _value(event.start, event))
    vevent.add("DTEND", _value(event.end, event))
    vevent.add("SUMMARY", event.summary or "")
    if event.description:
        vevent.add("DESCRIPTION", event.description)
    if event.location:
        vevent.add("LOCATION", event.location)
    vevent.add("STATUS", event.status.upper())
    vevent.add("TRANSP", "TRANSPARENT" if event.transparent else "OPAQUE")
    if event.video_url:
        vevent.add("CONFERENCE", event.video_url, parameters={"VALUE": "URI", "FEATURE": "VIDEO"})
    if recurrence_id is None and "RECURRENCE-ID" not in vevent:  # an override never repeats itself
        _add_recurrence(vevent, event.recurrence)
    if event.organizer:
        vevent.add("ORGANIZER", _address(event.organizer))
    for attendee in event.attendees:
        vevent.add("ATTENDEE", _address(attendee, send_invites))
    if marker:
        vevent.add(MARKER, marker)
    return vevent


def calendar_for(vevents: list[icalendar.Event]) -> icalendar.Calendar:
    """A VCALENDAR holding ``vevents`` and a VTIMEZONE for every zone they use.

    The VTIMEZONEs cover a year before the first event until well after the last one, with one
    RDATE per line: some servers (Radicale's vobject) keep only the first value of an RDATE list.
    """
    calendar = icalendar.Calendar()
    calendar.add("PRODID", PRODID)
    calendar.add("VERSION", "2.0")
    for vevent in vevents:
        calendar.add_component(vevent)
    starts = [_day(v.decoded("DTSTART")) for v in vevents if "DTSTART" in v]
    first = min(starts, default=icalendar.Timezone.DEFAULT_FIRST_DATE) - timedelta(days=366)
    last = max(max(starts, default=first) + timedelta(days=3 * 366), icalendar.Timezone.DEFAULT_LAST_DATE)
    calendar.add_missing_timezones(first_date=first, last_date=last)
    for zone in calendar.walk("VTIMEZONE"):
        for rule in zone.subcomponents:
            values = [d.dt for prop in _as_list(rule.get("RDATE")) for d in prop.dts]
            if len(values) > 1:
                del rule["RDATE"]
                for value in values:
                    rule.add("RDATE", value)
    return calendar


def _day(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def _as_list(value) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def serialize(calendar: icalendar.Calendar) -> bytes:
    """The calendar as iCalendar bytes, checked to parse back to the same events.

    :raises ValidationError: the text would not round-trip (a bug, or bad input from the CRM).
    """
    data = calendar.to_ical()
    try:
        back = icalendar.Calendar.from_ical(data)
        same = len(back.walk("VEVENT")) == len(calendar.walk("VEVENT"))
    except Exception:
        same = False
    if not same:
        raise ValidationError("The event could not be written as valid iCalendar.",
                              fix="Check the meeting's dates and recurrence, then save it again.")
    return data


def _value(value: date | datetime, event: RemoteEvent) -> date | datetime:
    """All-day values as dates; times in the event's own zone (keeps wall-clock time across DST)."""
    if event.all_day:
        return value.date() if isinstance(value, datetime) else value
    if not isinstance(value, datetime):
        raise ValidationError("A timed event needs a start and end time, not only a date.",
                              fix="Mark the meeting as all-day or give it a time.")
    if value.tzinfo is None:
        raise ValidationError("The meeting's time has no time zone.", fix="Save the meeting again.")
    zone = resolve_zone(event.timezone)
    if zone is not None and event.timezone != "UTC":
        return value.astimezone(zone)
    return value.astimezone(timezone.utc)


def _add_recurrence(vevent: icalendar.Event, lines: list[str]) -> None:
    if not lines:
        return
    text = "BEGIN:VEVENT\r\n" + "\r\n".join(line.strip() for line in lines) + "\r\nEND:VEVENT\r\n"
    try:
        parsed = icalendar.Event.from_ical(text)
    except Exception:
        parsed = None
    names = ("RRULE", "RDATE", "EXDATE")
    if parsed is None or parsed.errors or not any(n in parsed for n in names) or set(parsed) - set(names):
        raise ValidationError("The meeting's recurrence is not a valid iCalendar rule.",
                              fix="Edit the meeting's repeat settings and save it again.")
    for name in names:
        if name in parsed:
            vevent[name] = parsed[name]


def _address(person: Participant, send_invites: bool = True) -> icalendar.vCalAddress:
    address = icalendar.vCalAddress(f"mailto:{person.email}")
    if person.name:
        address.params["CN"] = person.name
    if not person.organizer:
        address.params["PARTSTAT"] = _PARTSTAT.get(person.response, "NEEDS-ACTION")
        address.params["ROLE"] = "OPT-PARTICIPANT" if person.optional else "REQ-PARTICIPANT"
        if person.resource:
            address.params["CUTYPE"] = "RESOURCE"
        if not send_invites:
            address.params["SCHEDULE-AGENT"] = "CLIENT"
    return address
