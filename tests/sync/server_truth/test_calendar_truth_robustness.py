"""Calendar truth under bad input, through Radicale, the iCloud plugin and the engine: malformed objects are
reported one by one while the rest syncs, and hostile recurrence is expanded up to a cap and reported once.

Radicale refuses most broken iCalendar on PUT (an unknown FREQ, bad folding, a bad DTSTART, no UID, HTML),
so those are read by the plugin's parser directly — the same code the sync runs on what iCloud serves.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest

from hub.sync import busy
from hub.types import RemoteEvent
from tests.sync.caldav_truth import UTC, today, vcalendar

from hub_caldav.ical import CalendarObject, MalformedObject


def stamp(days: int, hour: int = 10, minute: int = 0, second: int = 0) -> str:
    return datetime.combine(today() + timedelta(days=days), time(hour, minute, second), UTC).strftime("%Y%m%dT%H%M%SZ")


def event(uid: str, *lines: str, days: int = 3) -> str:
    body = [f"UID:{uid}", "DTSTAMP:20260101T000000Z", f"DTSTART:{stamp(days)}", f"DTEND:{stamp(days, 11)}",
            f"SUMMARY:{uid}", *lines]
    return vcalendar("\n".join(body))


# --- defect 9: malformed objects --------------------------------------------------------------------------


def test_malformed_objects_are_each_reported_and_the_rest_syncs(caldav):
    caldav.put("good", event("good"))
    caldav.put("ends-before-start", event("ends-before-start").replace(f"DTEND:{stamp(3, 11)}", f"DTEND:{stamp(3, 9)}"))
    caldav.put("unknown-zone", vcalendar(
        f"UID:unknown-zone\nDTSTAMP:20260101T000000Z\nDTSTART;TZID=Nowhere/Land:{stamp(4)[:-1]}\n"
        f"DTEND;TZID=Nowhere/Land:{stamp(4, 11)[:-1]}\nSUMMARY:unknown zone"))
    caldav.put("interval-zero", event("interval-zero", "RRULE:FREQ=DAILY;INTERVAL=0", days=5))
    caldav.sync()

    reported = [e.message for e in caldav.errors() if e.error == "UnreadableItem"]
    for name in ("ends-before-start", "unknown-zone", "interval-zero"):
        assert len([m for m in reported if f"{name}.ics" in m]) == 1, (name, reported)
    assert caldav.blocks() == [(datetime.fromisoformat(stamp(3)), datetime.fromisoformat(stamp(3, 11)))], \
        "the good event syncs; the broken ones are not stored"


BROKEN = {
    "unknown FREQ": event("fortnightly", "RRULE:FREQ=FORTNIGHTLY"),
    "bad folding": event("folding").replace("SUMMARY:folding", "SUMMARY:a long title\r\nfolded without a space"),
    "bad DTSTART": event("bad-start").replace(f"DTSTART:{stamp(3)}", "DTSTART:2027-13-45T99:00"),
    "no UID": event("no-uid").replace("UID:no-uid\r\n", ""),
    "HTML": "<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>",
}


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_what_a_server_may_serve_broken_is_refused_with_a_reason(kind):
    """Each broken object is refused with its reason, which the sync reports per item (as above)."""
    with pytest.raises(MalformedObject) as refused:
        CalendarObject.parse(BROKEN[kind], f"/cal/{kind}.ics", '"1"').events()
    assert str(refused.value) and "BEGIN:" not in str(refused.value), "a reason, never the data"


def test_a_broken_rule_from_any_provider_fails_closed_and_says_why():
    """Google and Graph hand over rules as text too: the expander never sees a rule it would loop on."""
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    master = RemoteEvent("series-1", start, start + timedelta(hours=1), recurrence=["RRULE:FREQ=DAILY;INTERVAL=0"])
    intervals = busy.blocks(master, [], start - timedelta(days=1), start + timedelta(days=30))
    assert list(intervals) == [(start, start + timedelta(hours=1))], "its first occurrence blocks"
    assert "INTERVAL must be a positive number" in intervals.problem


# --- defect 10: hostile recurrence ---------------------------------------------------------------------------


def test_a_minutely_event_is_capped_and_reported_once(caldav):
    caldav.put("spam", vcalendar(
        f"UID:spam\nDTSTAMP:20260101T000000Z\nDTSTART:{stamp(-200)}\nDTEND:{stamp(-200, 10, 1)}\n"
        "RRULE:FREQ=MINUTELY\nSUMMARY:spam"))
    caldav.put("good", event("good"))
    caldav.sync()
    assert caldav.block_count() == 2000 + 1, "the default cap, plus the good event"
    capped = [e for e in caldav.errors() if e.error == "TooManyOccurrences"]
    assert len(capped) == 1 and "spam" in capped[0].message and "2000" in capped[0].message


def test_the_cap_is_a_setting(caldav, hub):
    hub.settings.max_occurrences = 300
    caldav.put("hourly", event("hourly", "RRULE:FREQ=HOURLY;COUNT=5000", days=1).replace(
        f"DTEND:{stamp(1, 11)}", f"DTEND:{stamp(1, 10, 0, 30)}"))
    caldav.sync()
    assert caldav.block_count() == 300
