"""Calendar truth, through the real sync path: iCalendar written into Radicale by another client, read by
the iCloud plugin, expanded by the engine into busy blocks — every busy instant checked against what
RFC 5545 says, with the expected instants computed here from ``zoneinfo`` alone.

Zones: all-day and floating times are the calendar's (or its owner's) zone, never silently UTC
(§3.3.4, §3.3.5); Windows zone names and in-object VTIMEZONEs are used as defined (§3.2.19, §3.6.5);
a series keeps its exact duration across DST changes (§3.8.5.3) and a nonexistent local start takes
the offset before the gap, an ambiguous one its first occurrence (§3.3.5) — north and south, gap and
overlap.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.sync.caldav_truth import CUSTOM_SYDNEY, OUTLOOK_BERLIN, UTC, local, today, transition_days, vcalendar

BERLIN, SYDNEY, NEW_YORK = ZoneInfo("Europe/Berlin"), ZoneInfo("Australia/Sydney"), ZoneInfo("America/New_York")


def midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tz).astimezone(UTC)


def at(day: date, hour: int, minute: int, tz) -> datetime:
    """``day hour:minute`` in ``tz`` as UTC; fold=0 — §3.3.5's reading of gap and overlap times."""
    return datetime.combine(day, time(hour, minute), tz).astimezone(UTC)


# --- defect 1: all-day events -------------------------------------------------------------------------


def test_all_day_events_block_the_days_of_the_owners_zone_when_the_calendar_has_none(caldav):
    caldav.set_owner_zone("America/New_York")
    first = today() + timedelta(days=5)
    caldav.put("holiday", vcalendar(
        f"UID:holiday\nDTSTAMP:20260101T000000Z\nDTSTART;VALUE=DATE:{first:%Y%m%d}\n"
        f"DTEND;VALUE=DATE:{first + timedelta(days=2):%Y%m%d}\nSUMMARY:Holiday"))
    caldav.sync()
    assert caldav.blocks() == [(midnight(first, NEW_YORK), midnight(first + timedelta(days=2), NEW_YORK))]


def test_all_day_events_use_the_calendars_own_zone_first(caldav):
    caldav.set_owner_zone("America/New_York")
    caldav.set_calendar_zone("Australia/Sydney")
    first = today() + timedelta(days=5)
    caldav.put("holiday", vcalendar(
        f"UID:holiday\nDTSTAMP:20260101T000000Z\nDTSTART;VALUE=DATE:{first:%Y%m%d}\nSUMMARY:Holiday"))
    caldav.sync()
    assert caldav.blocks() == [(midnight(first, SYDNEY), midnight(first + timedelta(days=1), SYDNEY))], \
        "a DATE without DTEND lasts one day (§3.6.1), in the calendar's zone"


def test_no_zone_known_at_all_is_said_in_the_error_log(caldav):
    caldav.sync()
    [entry] = [e for e in caldav.errors() if e.error == "ZoneUnknown"]
    assert "Home" in entry.message and "UTC" in entry.message
    caldav.sync()
    assert len([e for e in caldav.errors() if e.error == "ZoneUnknown"]) == 1, "said once, not at every sync"


def test_an_all_day_series_across_a_dst_change_blocks_whole_local_days(caldav):
    caldav.set_calendar_zone("Europe/Berlin")
    gap = transition_days(BERLIN, today() + timedelta(days=3))["gap"]
    first = gap - timedelta(days=2)
    caldav.put("trip", vcalendar(
        f"UID:trip\nDTSTAMP:20260101T000000Z\nDTSTART;VALUE=DATE:{first:%Y%m%d}\n"
        f"DTEND;VALUE=DATE:{first + timedelta(days=1):%Y%m%d}\nRRULE:FREQ=DAILY;COUNT=5\nSUMMARY:Trip"))
    caldav.sync()
    days = [first + timedelta(days=i) for i in range(5)]
    assert caldav.blocks() == [(midnight(d, BERLIN), midnight(d + timedelta(days=1), BERLIN)) for d in days]
    assert caldav.blocks()[2][1] - caldav.blocks()[2][0] == timedelta(hours=23), "the gap day is 23 hours long"


# --- defect 2: floating times -------------------------------------------------------------------------


def test_floating_times_are_local_to_the_owners_zone(caldav):
    caldav.set_owner_zone("America/New_York")
    day = today() + timedelta(days=4)
    caldav.put("floating", vcalendar(
        f"UID:floating\nDTSTAMP:20260101T000000Z\nDTSTART:{local(datetime.combine(day, time(9)))}\n"
        f"DTEND:{local(datetime.combine(day, time(10)))}\nSUMMARY:Dentist"))
    caldav.put("weekly-floating", vcalendar(
        f"UID:weekly-floating\nDTSTAMP:20260101T000000Z\nDTSTART:{local(datetime.combine(day, time(14)))}\n"
        f"DURATION:PT30M\nRRULE:FREQ=WEEKLY;COUNT=2\nSUMMARY:Piano"))
    caldav.sync()
    assert caldav.blocks() == [(at(day, 9, 0, NEW_YORK), at(day, 10, 0, NEW_YORK)),
                               (at(day, 14, 0, NEW_YORK), at(day, 14, 30, NEW_YORK)),
                               (at(day + timedelta(days=7), 14, 0, NEW_YORK),
                                at(day + timedelta(days=7), 14, 30, NEW_YORK))]


def test_floating_times_follow_the_calendars_zone_when_it_has_one(caldav):
    caldav.set_calendar_zone("Europe/Berlin")
    day = today() + timedelta(days=4)
    caldav.put("floating", vcalendar(
        f"UID:floating\nDTSTAMP:20260101T000000Z\nDTSTART:{local(datetime.combine(day, time(9)))}\n"
        f"DTEND:{local(datetime.combine(day, time(10)))}\nSUMMARY:Dentist"))
    caldav.sync()
    assert caldav.blocks() == [(at(day, 9, 0, BERLIN), at(day, 10, 0, BERLIN))]


def test_a_floating_event_with_an_exact_duration_lasts_it_across_the_owners_dst_change(caldav):
    """RFC 5545 §3.3.6: PT90M is exact. Written from 01:30 on the fall-back day of the owner's zone (the
    calendar names none, so the plugin hands the floating time on as it is), it ends 90 minutes later, at
    02:00 after the change — not at 03:00, its wall-clock end (2 h 30)."""
    caldav.set_owner_zone("Europe/Berlin")
    change = transition_days(BERLIN, today() + timedelta(days=3))["overlap"]
    caldav.put("floating-duration", vcalendar(
        f"UID:floating-duration\nDTSTAMP:20260101T000000Z\nDTSTART:{local(datetime.combine(change, time(1, 30)))}\n"
        "DURATION:PT90M\nSUMMARY:Night shift"))
    caldav.sync()
    begin = at(change, 1, 30, BERLIN)
    assert caldav.blocks() == [(begin, begin + timedelta(minutes=90))]


# --- defects 3 and 4: Windows names and in-object VTIMEZONEs --------------------------------------------


@pytest.mark.parametrize("tzid, definition, tz, hemisphere", [
    ("W. Europe Standard Time", OUTLOOK_BERLIN, BERLIN, "north"),
    ("Customized Time Zone", CUSTOM_SYDNEY, SYDNEY, "south"),
])
def test_outlook_invitations_repeat_by_their_zones_rules_across_dst(caldav, tzid, definition, tz, hemisphere):
    change = min(transition_days(tz, today() + timedelta(days=15)).values())
    first = change - timedelta(days=14)
    caldav.put("outlook", vcalendar(
        f"UID:outlook\nDTSTAMP:20260101T000000Z\nDTSTART;TZID={tzid}:{local(datetime.combine(first, time(10)))}\n"
        f"DTEND;TZID={tzid}:{local(datetime.combine(first, time(11)))}\nRRULE:FREQ=WEEKLY;COUNT=4\n"
        "SUMMARY:Weekly sync\nORGANIZER:mailto:dan@globex.example", timezones=definition))
    caldav.sync()
    days = [first + timedelta(weeks=i) for i in range(4)]
    assert caldav.blocks() == [(at(d, 10, 0, tz), at(d, 11, 0, tz)) for d in days]
    assert len({s - at(d, 10, 0, UTC) for (s, _), d in zip(caldav.blocks(), days)}) == 2, \
        "two UTC hours: the occurrences follow the zone across its DST change"


def test_a_windows_name_alone_is_mapped_through_cldr(caldav):
    """No VTIMEZONE at all (RFC 5545 §3.2.19 wants one; some Exchange exports leave it out)."""
    gap = transition_days(BERLIN, today() + timedelta(days=15))["gap"]
    first = gap - timedelta(days=7)
    caldav.put("exchange", vcalendar(
        f"UID:exchange\nDTSTAMP:20260101T000000Z\nDTSTART;TZID=W. Europe Standard Time:"
        f"{local(datetime.combine(first, time(9)))}\nDTEND;TZID=W. Europe Standard Time:"
        f"{local(datetime.combine(first, time(9, 45)))}\nRRULE:FREQ=WEEKLY;COUNT=2\nSUMMARY:Review"))
    caldav.sync()
    days = [first, first + timedelta(weeks=1)]
    assert caldav.blocks() == [(at(d, 9, 0, BERLIN), at(d, 9, 45, BERLIN)) for d in days]


# --- defect 5: exact durations, gap and overlap, both hemispheres ----------------------------------------


@pytest.mark.parametrize("zone_name", ["Europe/Berlin", "Australia/Sydney"])
@pytest.mark.parametrize("transition", ["gap", "overlap"])
def test_a_daily_series_keeps_its_exact_duration_over_a_dst_change(caldav, zone_name, transition):
    tz = ZoneInfo(zone_name)
    change = transition_days(tz, today() + timedelta(days=5))[transition]
    first = change - timedelta(days=2)
    caldav.put("night", vcalendar(
        f"UID:night\nDTSTAMP:20260101T000000Z\nDTSTART;TZID={zone_name}:{local(datetime.combine(first, time(2, 30)))}\n"
        f"DTEND;TZID={zone_name}:{local(datetime.combine(first, time(3, 30)))}\nRRULE:FREQ=DAILY;COUNT=5\n"
        "SUMMARY:Night shift", timezones=""))
    caldav.sync()
    blocks = caldav.blocks()
    assert [e - s for s, e in blocks] == [timedelta(hours=1)] * 5, "§3.8.5.3: the same exact duration every day"
    offset_before = datetime.combine(change - timedelta(days=1), time(12), tz).utcoffset()
    on_change_day = datetime.combine(change, time(2, 30)).replace(tzinfo=UTC) - offset_before
    assert blocks[2][0] == on_change_day, "§3.3.5: a gap time takes the offset before it, an overlap time its first"
    assert [s for s, _ in blocks] == [at(first + timedelta(days=i), 2, 30, tz) for i in range(5)]
