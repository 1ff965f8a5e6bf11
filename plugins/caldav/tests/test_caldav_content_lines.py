"""The fast readers of plain iCalendar text against icalendar itself (the oracle): on generated objects —
plain ones, and ones bent the ways real clients and broken servers bend them — each either declines
(``None``: the caller parses with icalendar) or gives exactly what icalendar gives: the same
components (:mod:`hub_caldav.content_lines`), the same events (:mod:`hub_caldav.plain_events`)."""

from __future__ import annotations

from datetime import timezone
from zoneinfo import ZoneInfo

import icalendar
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from hub_caldav.content_lines import read_calendar
from hub_caldav.ical import CalendarObject, MalformedObject, read
from hub_caldav.plain_events import read_events

ZONES = ["Europe/Berlin", "America/New_York", "UTC", "Etc/GMT+5", "US/Eastern", "Head Office Time",
         "W. Europe Standard Time", "europe/berlin", "Mars/Olympus"]
TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=30)
ESCAPED = st.lists(st.sampled_from(["a", "B c", "\\,", "\\;", "\\n", "\\N", "\\\\", ",", ";", ":", "\\x", "é", "\t",
                                    "%2C", "^n", '"']), max_size=6).map("".join)
DIGITS = st.sampled_from(["20270325", "20270230", "2027032", "20271301", "19000101"])
CLOCK = st.sampled_from(["T100000", "T235959", "T240000", "T100060", "T1000", ""])


@st.composite
def moment(draw, name: str) -> str:
    """A DTSTART-like line: date or date-time, floating, UTC or in a zone, sometimes with VALUE."""
    value = draw(DIGITS) + draw(CLOCK) + draw(st.sampled_from(["", "", "Z"]))
    params = draw(st.lists(st.sampled_from([f"TZID={draw(st.sampled_from(ZONES))}", 'TZID="Europe/Berlin"',
                                            "VALUE=DATE", "VALUE=date", "VALUE=DATE-TIME", "X-P=1"]),
                           max_size=2, unique=True))
    return ";".join([name, *params]) + ":" + value


@st.composite
def address(draw, name: str) -> str:
    params = draw(st.lists(st.sampled_from(['CN="Doe, John"', "CN=Ann", 'CN="a:b;c"', "CN=", 'CN=""', "PARTSTAT=ACCEPTED",
                                            "PARTSTAT=declined", "ROLE=OPT-PARTICIPANT", "CUTYPE=ROOM", "CN=a^nb",
                                            'CN="x\\y"', "CN=Doe, John", "RSVP=TRUE", "X-NUM-GUESTS=0", "EMAIL=a@b.c"]),
                           max_size=3))
    mail = draw(st.sampled_from(["mailto:guest@client.example", "MAILTO:x@y.z", "urn:uuid:1", "mailto:a\\,b@c.d"]))
    return ";".join([name, *params]) + ":" + mail


def line(name: str) -> st.SearchStrategy[str]:
    return {
        "UID": st.sampled_from(["UID:u1", "UID:u1", "UID:u2", "UID:", "UID:u\\,1"]),
        "DTSTAMP": moment("DTSTAMP"), "DTSTART": moment("DTSTART"), "DTEND": moment("DTEND"),
        "RECURRENCE-ID": moment("RECURRENCE-ID"), "LAST-MODIFIED": moment("LAST-MODIFIED"),
        "EXDATE": moment("EXDATE"), "RDATE": moment("RDATE"), "CREATED": moment("CREATED"),
        "DURATION": st.sampled_from(["DURATION:PT1H", "DURATION:P1D", "DURATION:PT", "DURATION:1H"]),
        "SUMMARY": ESCAPED.map("SUMMARY:{}".format), "DESCRIPTION": TEXT.map("DESCRIPTION:{}".format),
        "LOCATION": ESCAPED.map("LOCATION;LANGUAGE=de:{}".format),
        "STATUS": st.sampled_from(["STATUS:CONFIRMED", "STATUS:cancelled", "STATUS:TENTATIVE", "STATUS:"]),
        "TRANSP": st.sampled_from(["TRANSP:TRANSPARENT", "TRANSP:OPAQUE"]),
        "SEQUENCE": st.sampled_from(["SEQUENCE:0", "SEQUENCE:3", "SEQUENCE:x", "SEQUENCE:-1", "SEQUENCE: 2"]),
        "RRULE": st.sampled_from(["RRULE:FREQ=WEEKLY;COUNT=12", "RRULE:FREQ=DAILY;UNTIL=20271231T000000Z",
                                  "RRULE:FREQ=WEEKLY;BYDAY=MO,WE", "RRULE:FREQ=SOMETIMES", "RRULE:"]),
        "ORGANIZER": address("ORGANIZER"), "ATTENDEE": address("ATTENDEE"),
        "CONFERENCE": st.sampled_from(["CONFERENCE;VALUE=URI;FEATURE=VIDEO:https://meet.example/x\\,y",
                                       "CONFERENCE;VALUE=URI:tel:+1", "CONFERENCE:https://a.example"]),
        "X-CRM-HUB-MARKER": st.sampled_from(["X-CRM-HUB-MARKER:c1", "X-CRM-HUB-MARKER:a\\,b"]),
        "OTHER": st.sampled_from(["CLASS:PUBLIC", "PRIORITY:5", "PRIORITY:high", "URL:https://x.example/",
                                  "CATEGORIES:a,b\\,c", "X-MOZ-GENERATION:2", "X-APPLE-TRAVEL:a\\,b;c",
                                  "X-NUM;VALUE=INTEGER:x", "GEO:1.5;2.5", "GEO:x", "summary:lower", " SUMMARY:space",
                                  "SUMMARY :x", "SUMMARY;LANGUAGE = de:x", "ATTACH;FMTTYPE=text/plain:https://a.b/c",
                                  "DTSTART;TZID=Europe/Berlin:20270325T100000Z", "X-EMPTY:", "NOCOLON",
                                  "REQUEST-STATUS:2.0;Success", "COMMENT;ALTREP=\"cid:x@y\":c"]),
    }[name]


NAMES = ["UID", "DTSTAMP", "DTSTART", "DTEND", "RECURRENCE-ID", "LAST-MODIFIED", "EXDATE", "RDATE", "CREATED",
         "DURATION", "SUMMARY", "DESCRIPTION", "LOCATION", "STATUS", "TRANSP", "SEQUENCE", "RRULE", "ORGANIZER",
         "ATTENDEE", "CONFERENCE", "X-CRM-HUB-MARKER", "OTHER"]


@st.composite
def vevent(draw) -> list[str]:
    lines = ["UID:u1", draw(moment("DTSTART"))] if draw(st.booleans()) else []
    for name in draw(st.lists(st.sampled_from(NAMES), max_size=8)):
        lines.append(draw(line(name)))
    if draw(st.booleans()):
        lines += ["BEGIN:VALARM", "ACTION:DISPLAY", draw(st.sampled_from(["TRIGGER:-PT15M", "TRIGGER:x",
                  "TRIGGER;VALUE=DATE-TIME:20270101T000000Z", "TRIGGER;RELATED=END:PT0S"])), "END:VALARM"]
    return ["BEGIN:VEVENT", *lines, "END:VEVENT"]


@st.composite
def calendar_text(draw) -> str:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//gen//EN"]
    for _ in range(draw(st.integers(1, 3))):
        lines += draw(vevent())
    lines.append("END:VCALENDAR")
    bend = draw(st.sampled_from(["none", "none", "lf", "fold", "blank", "lower", "after", "unclosed", "other"]))
    if bend == "after":
        lines += draw(st.sampled_from([["X-COMMENT:x"], ["BEGIN:VCALENDAR", "END:VCALENDAR"], ["SUMMARY:x"]]))
    elif bend == "unclosed":
        lines.remove("END:VEVENT")
    elif bend == "lower":
        lines[3] = lines[3].lower()
    elif bend == "other":
        lines.insert(draw(st.integers(1, len(lines) - 1)),
                     draw(st.sampled_from(["BEGIN:VTODO\r\nSUMMARY:t\r\nEND:VTODO", "END:VALARM",
                                           "BEGIN:X-THING\r\nEND:X-THING", "BEGIN:VEVENT"])))
    text = "\r\n".join(lines) + "\r\n"
    if bend == "lf":
        text = text.replace("\r\n", "\n")
    elif bend == "fold":  # fold one line somewhere in its middle, as clients do at 75 octets
        at = draw(st.integers(1, len(text) - 2))
        if text[at - 1] not in "\r\n" and text[at] not in "\r\n":
            text = text[:at] + "\r\n" + draw(st.sampled_from([" ", "\t"])) + text[at:]
    elif bend == "blank":
        text = text.replace("\r\nEND:VEVENT", "\r\n\r\nEND:VEVENT", 1)
    return text


@st.composite
def plain_text(draw) -> str:
    """Mostly well-formed objects (a master, overrides, EXDATEs), the shape the hub reads events from."""
    all_day = draw(st.booleans())
    tzid = draw(st.sampled_from(["", "Europe/Berlin", "America/New_York", "Z", "UTC"]))

    def when(name: str, day: int, hour: int) -> str:
        if all_day:
            return f"{name};VALUE=DATE:202703{day:02d}" if draw(st.booleans()) else f"{name}:202703{day:02d}"
        stamp = f"202703{day:02d}T{hour:02d}0000"
        if tzid == "Z":
            return f"{name}:{stamp}Z"
        return f"{name};TZID={tzid}:{stamp}" if tzid else f"{name}:{stamp}"

    def vevent(override: int | None) -> list[str]:
        day = override or draw(st.integers(1, 9))
        lines = ["BEGIN:VEVENT", "UID:u1", draw(st.sampled_from(["DTSTAMP:20270101T000000Z", "DTSTAMP:20270101T000000"]))]
        if override:
            lines.append(when("RECURRENCE-ID", override, 10))
        lines.append(when("DTSTART", day, 10 + (1 if override else 0)))
        if draw(st.booleans()):
            lines.append(when("DTEND", day + draw(st.integers(0, 1)), draw(st.integers(9, 12))))
        for name in draw(st.lists(st.sampled_from(["SUMMARY", "DESCRIPTION", "LOCATION", "STATUS", "TRANSP",
                                                   "SEQUENCE", "ORGANIZER", "ATTENDEE", "ATTENDEE", "CONFERENCE",
                                                   "X-CRM-HUB-MARKER", "LAST-MODIFIED", "OTHER"]), max_size=6)):
            if name == "LAST-MODIFIED":
                lines.append(draw(st.sampled_from(["LAST-MODIFIED:20270102T030405Z", "LAST-MODIFIED:20270102"])))
            else:
                lines.append(draw(line(name)))
        if override is None and draw(st.booleans()):
            lines.append(draw(st.sampled_from(["RRULE:FREQ=WEEKLY;COUNT=12", "RRULE:FREQ=DAILY;COUNT=3"])))
            for exday in draw(st.lists(st.sampled_from([15, 22, 29]), max_size=2, unique=True)):
                lines.append(when("EXDATE", exday, 10))
        if draw(st.booleans()):
            lines += ["BEGIN:VALARM", "ACTION:DISPLAY", "TRIGGER:-PT15M", "DESCRIPTION:x", "END:VALARM"]
        return [*lines, "END:VEVENT"]

    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//gen//EN", *vevent(None)]
    for day in draw(st.lists(st.sampled_from([15, 22, 29]), max_size=2, unique=True)):
        lines += vevent(day)
    return "\r\n".join([*lines, "END:VCALENDAR", ""])


def oracle(text: str):
    try:
        return icalendar.Calendar.from_ical(text)
    except Exception as exc:
        return exc


def same_component(fast, slow) -> None:
    assert type(fast) is type(slow) and fast.name == slow.name
    assert fast.errors == slow.errors == []
    assert list(fast.keys()) == list(slow.keys())
    for name in slow:
        mine, theirs = fast[name], slow[name]
        assert type(mine) is type(theirs), name
        for one, other in zip(mine if isinstance(mine, list) else [mine],
                              theirs if isinstance(theirs, list) else [theirs], strict=True):
            assert type(one) is type(other) and dict(one.params) == dict(other.params), name
            assert one.to_ical() == other.to_ical(), name
        value, expected = fast.decoded(name), slow.decoded(name)
        assert value == expected and repr(value) == repr(expected), name
    assert len(fast.subcomponents) == len(slow.subcomponents)
    for mine, theirs in zip(fast.subcomponents, slow.subcomponents):
        same_component(mine, theirs)


def events_or_error(text: str, fast: bool, zone=None) -> object:
    try:
        obj = CalendarObject.from_calendar(read(text, fast=fast), "/c/u1.ics", '"e"', zone)
        return obj.events(), obj.exception_keys()
    except MalformedObject as exc:
        return str(exc)


def exactly(result) -> object:
    """Events compared field by field, times with their zones (equal instants in other zones differ)."""
    if isinstance(result, str) or result is None:
        return result
    events, keys = result
    return [(e, repr(e.start), repr(e.end), repr(e.original_start), repr(e.updated)) for e in events], keys


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(plain_text(), calendar_text()))
@example("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:u1\r\nDTSTART;TZID=Europe/Berlin:20270325T100000\r\n"
         'ATTENDEE;CN="Doe, John";PARTSTAT=ACCEPTED:mailto:a@b.c\r\nSUMMARY:a\\,b\\nc\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n')
def test_the_fast_reader_builds_what_icalendar_builds_or_declines(text):
    fast, slow = read_calendar(text), oracle(text)
    if fast is None:
        return
    assert isinstance(slow, icalendar.Calendar), f"icalendar refused what the fast reader read: {slow!r}"
    same_component(fast, slow)
    assert fast.to_ical() == slow.to_ical()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(plain_text(), calendar_text()), st.sampled_from([None, ZoneInfo("Europe/Berlin"), timezone.utc]))
@example("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:u1\r\nBEGIN:VEVENT\r\nUID:u1\r\nDTSTART:20270101T100000Z\r\n"
         "END:VEVENT\r\nDTSTART:20270102T100000Z\r\nSUMMARY:outer\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", None)
def test_objects_read_any_way_give_the_same_events_or_the_same_error(text, zone):
    """What the sync sees — events, occurrence keys, or the per-item error — does not depend on the reader."""
    slow = exactly(events_or_error(text, fast=False, zone=zone))
    assert exactly(events_or_error(text, fast=True, zone=zone)) == slow
    plain = read_events(text, "/c/u1.ics", '"e"', zone)
    if plain is not None:
        assert exactly(plain) == slow


def test_plain_objects_take_the_fast_path():
    """The shape servers store (and the bench's objects) must not fall back, or the speed is lost."""
    text = "\r\n".join([
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//x//EN", "BEGIN:VEVENT", "UID:u1", "DTSTAMP:20270101T000000Z",
        "DTSTART;TZID=Europe/Berlin:20270325T100000", "DTEND;TZID=Europe/Berlin:20270325T110000",
        "RRULE:FREQ=WEEKLY;COUNT=12", "EXDATE;TZID=Europe/Berlin:20270401T100000", "SUMMARY:Plan\\, review",
        'ORGANIZER;CN="Doe, Jane":mailto:me@acme.example', "ATTENDEE;CN=Guest;PARTSTAT=ACCEPTED:mailto:g@c.example",
        "X-MOZ-GENERATION:1", "BEGIN:VALARM", "ACTION:DISPLAY", "TRIGGER:-PT15M", "END:VALARM", "END:VEVENT",
        "BEGIN:VEVENT", "UID:u1", "RECURRENCE-ID;TZID=Europe/Berlin:20270408T100000",
        "DTSTART;TZID=Europe/Berlin:20270408T120000", "DTEND;TZID=Europe/Berlin:20270408T130000", "END:VEVENT",
        "BEGIN:VEVENT", "UID:u1", "RECURRENCE-ID;VALUE=DATE:20270415", "DTSTART;VALUE=DATE:20270415", "END:VEVENT",
        "END:VCALENDAR", ""])
    assert read_calendar(text) is not None
    same_component(read_calendar(text), icalendar.Calendar.from_ical(text))
    assert exactly(read_events(text, "/c/u1.ics", '"e"', None)) == exactly(events_or_error(text, fast=False))
