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


def test_a_rule_longer_than_a_folded_line_stays_one_readable_rule():
    """icalendar folds content lines at 75 octets; the hub gets the rule unfolded, or it cannot read it."""
    from hub.rrules import rule_problem

    days = ",".join(str(d) for d in range(1, 29))
    text = calendar(BERLIN, "Europe/Berlin", "20270104T100000").replace(
        "RRULE:FREQ=WEEKLY;COUNT=30", f"RRULE:FREQ=MONTHLY;BYMONTHDAY={days};COUNT=30")
    rules = CalendarObject.parse(text, "/cal/u1.ics").events()[0].recurrence
    assert len(rules) == 1 and "\n" not in rules[0] and rule_problem(rules[0]) is None
    assert f"BYMONTHDAY={days}" in rules[0]
