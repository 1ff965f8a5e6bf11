"""Reading iCalendar objects: VTIMEZONEs of IANA zones are skipped before parsing (they are most of
a typical object), other zones keep their definitions — the events read the same either way."""

from __future__ import annotations

from datetime import timedelta

import icalendar

from hub_caldav.ical import CalendarObject, without_known_zones

BERLIN = "\r\n".join([
    "BEGIN:VTIMEZONE", "TZID:Europe/Berlin",
    "BEGIN:DAYLIGHT", "TZOFFSETFROM:+0100", "TZOFFSETTO:+0200", "DTSTART:19700329T020000",
    "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU", "END:DAYLIGHT",
    "BEGIN:STANDARD", "TZOFFSETFROM:+0200", "TZOFFSETTO:+0100", "DTSTART:19701025T030000",
    "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU", "END:STANDARD", "END:VTIMEZONE"])
OFFICE = "\r\n".join([
    "BEGIN:VTIMEZONE", "TZID:Head Office Time",
    "BEGIN:STANDARD", "TZOFFSETFROM:+0530", "TZOFFSETTO:+0530", "DTSTART:19700101T000000", "END:STANDARD",
    "END:VTIMEZONE"])


def calendar(zone_text: str, tzid: str, start: str) -> str:
    return "\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//other client//EN", zone_text,
                        "BEGIN:VEVENT", "UID:u1", "DTSTAMP:20270101T000000Z", f"DTSTART;TZID={tzid}:{start}",
                        f"DTEND;TZID={tzid}:{start[:-6]}110000", "RRULE:FREQ=WEEKLY;COUNT=30", "SUMMARY:s",
                        "END:VEVENT", "END:VCALENDAR", ""])


def test_an_iana_zone_needs_no_definition_and_reads_the_same():
    text = calendar(BERLIN, "Europe/Berlin", "20270325T100000")
    assert "VTIMEZONE" not in without_known_zones(text)
    [event] = CalendarObject.parse(text, "/c/u1.ics").events()
    full = icalendar.Calendar.from_ical(text).walk("VEVENT")[0].decoded("DTSTART")
    assert event.start == full and event.timezone == "Europe/Berlin"
    assert event.start.utcoffset() == timedelta(hours=1)  # before the switch to summer time
    # the weekly series crosses the DST change at the same wall-clock time
    obj = CalendarObject.parse(text, "/c/u1.ics")
    busy = obj.busy_between(event.start, event.start + timedelta(days=14))
    assert [b[0].hour for b in busy] == [10, 10] and busy[1][0].utcoffset() == timedelta(hours=2)


def test_other_zones_keep_their_definition():
    text = calendar(OFFICE, "Head Office Time", "20270325T100000")
    assert without_known_zones(text) == text
    [event] = CalendarObject.parse(text, "/c/u1.ics").events()
    assert event.start.utcoffset() == timedelta(hours=5, minutes=30)


def test_an_exact_duration_is_passed_on_and_a_nominal_one_is_not():
    """RFC 5545 §3.3.6: PT1H30M is exact, P1D nominal; only the exact length goes into duration_seconds."""
    def event(start: str, duration: str):
        text = "\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//other client//EN", "BEGIN:VEVENT",
                            "UID:u1", "DTSTAMP:20270101T000000Z", f"DTSTART{start}", f"DURATION:{duration}",
                            "END:VEVENT", "END:VCALENDAR", ""])
        [read] = CalendarObject.parse(text, "/c/u1.ics").events()
        return read

    assert event(":20271031T013000", "PT1H30M").duration_seconds == 5400  # floating
    assert event(";TZID=Europe/Berlin:20271031T013000", "PT90M").duration_seconds == 5400
    assert event(":20271031T013000", "P1D").duration_seconds is None
    assert event(":20271031T013000", "P1W").duration_seconds is None
    assert event(";VALUE=DATE:20271031", "P2D").duration_seconds is None
