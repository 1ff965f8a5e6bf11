"""Free slots of a meeting type: weekly hours in its zone, buffers, notice and horizon, every conflict
calendar and existing bookings, transparent events, and failing closed when a calendar cannot be read."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from hub.accounts import disconnect_account
from hub.exceptions import NotActive, ValidationError
from hub.models import Account, Booking, Calendar, MeetingType
from hub.scheduling.availability import availability, free, merge
from hub.sync.calendars import set_conflict
from tests.sync.calendar_world import ALICE, PASSWORD, calendar_id, connect, event, local, meeting_type, next_weekday, sync

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def monday():
    return next_weekday(0)


@pytest.fixture
def synced(hub, acme):
    """Alice's calendars as the tests left them, synced (a never-synced conflict calendar fails closed)."""
    def run():
        sync(hub, acme.alice_account)
        with hub.db.session() as s:
            team = s.get(Calendar, calendar_id(hub, acme.alice_account, "team"))
            if team.is_conflict:
                sync(hub, acme.alice_account, "team")
    return run


def slots(hub, day, slug="alice-30", now=None, days=1):
    start = datetime.combine(day, time.min, timezone.utc)
    return availability(hub, slug, start, start + timedelta(days=days), now=now or start - timedelta(days=2))


def test_slots_follow_the_weekly_hours_in_the_meeting_types_zone(hub, acme, monday, synced):
    meeting_type(hub, acme.alice, weekly_hours={"mon": [["09:00", "12:00"]]})
    synced()
    answer = slots(hub, monday)
    assert answer.slots == [local(monday, 9) + timedelta(minutes=30 * i) for i in range(6)]
    assert answer.slots[0].astimezone(BERLIN).time() == time(9)
    assert not answer.limited and answer.duration == timedelta(minutes=30)
    assert slots(hub, monday + timedelta(days=5)).slots == [], "no hours on Saturday"


def test_busy_events_and_buffers_take_slots_away_but_free_events_do_not(hub, backend, acme, monday, synced):
    meeting_type(hub, acme.alice, weekly_hours={"mon": [["09:00", "12:00"]]}, buffer_before_minutes=15,
                 buffer_after_minutes=15)
    backend.put_event(ALICE, "primary", event("Busy", local(monday, 10), minutes=30))
    backend.put_event(ALICE, "primary", event("Free", local(monday, 11, 30), minutes=30, transparent=True))
    synced()
    # 10:00–10:30 busy; with 15 minutes each side 09:30 (ends 10:15 with buffer) and 10:30 (starts 10:15) go too
    assert slots(hub, monday).slots == [local(monday, 9), local(monday, 11), local(monday, 11, 30)]


def test_every_conflict_calendar_counts_and_others_do_not(hub, backend, acme, monday, synced):
    meeting_type(hub, acme.alice, weekly_hours={"mon": [["09:00", "11:00"]]})
    backend.put_event(ALICE, "team", event("Team sync", local(monday, 9), minutes=60))
    synced()
    assert len(slots(hub, monday).slots) == 4, "team is not a conflict calendar yet"
    set_conflict(hub, acme.alice, calendar_id(hub, acme.alice_account, "team"), True)
    synced()
    assert slots(hub, monday).slots == [local(monday, 10), local(monday, 10, 30)]


def test_existing_bookings_block_their_time(hub, acme, monday, synced):
    type_id = meeting_type(hub, acme.alice, weekly_hours={"mon": [["09:00", "11:00"]]})
    synced()
    with hub.db.session() as s:
        s.add(Booking(meeting_type_id=type_id, host_user_id=acme.alice, start=local(monday, 9, 30),
                      end=local(monday, 10), guest_name="Guest", guest_email="g@example.com"))
    assert slots(hub, monday).slots == [local(monday, 9), local(monday, 10), local(monday, 10, 30)]


def test_minimum_notice_and_horizon(hub, acme, monday, synced):
    meeting_type(hub, acme.alice, weekly_hours={"mon": [["09:00", "11:00"]]}, min_notice_minutes=90, horizon_days=10)
    synced()
    now = local(monday, 8)
    assert slots(hub, monday, now=now).slots == [local(monday, 9, 30), local(monday, 10), local(monday, 10, 30)]
    assert slots(hub, monday, now=now - timedelta(days=10, hours=23)).slots == [], "beyond the horizon"


def test_a_week_of_slots_in_one_answer(hub, acme, monday, synced):
    meeting_type(hub, acme.alice)  # Mon–Fri 09:00–17:00, 30 minutes
    synced()
    answer = slots(hub, monday, days=7)
    assert len(answer.slots) == 5 * 16
    assert answer.slots == sorted(answer.slots)


@pytest.mark.parametrize("how", ["unreadable", "needs reconnect", "error", "never synced"])
def test_availability_fails_closed_when_a_conflict_calendar_cannot_be_read(hub, acme, monday, synced, how):
    meeting_type(hub, acme.alice, weekly_hours={"mon": [["09:00", "11:00"]]})
    synced()
    with hub.db.session() as s:
        account = s.get(Account, acme.alice_account)
        team = s.get(Calendar, calendar_id(hub, acme.alice_account, "team"))
        if how == "unreadable":
            s.get(Calendar, calendar_id(hub, acme.alice_account)).unreadable_since = local(monday, 0) - timedelta(days=5)
        elif how == "needs reconnect":
            account.needs_reconnect = True
        elif how == "error":
            account.status = account.status.ERROR
        else:
            team.is_conflict = team.sync_enabled = True  # added, but its first sync has not run
    answer = slots(hub, monday)
    assert answer.limited and answer.slots == []
    assert answer.unreadable


def test_calendars_of_a_disconnected_account_stop_counting(hub, backend, acme, monday, synced):
    backend.add_account("alice.private@acme.com", PASSWORD)
    backend.put_event("alice.private@acme.com", "primary", event("Dentist", local(monday, 9), minutes=60))
    private = connect(hub, acme.alice, "alice.private@acme.com")
    set_conflict(hub, acme.alice, calendar_id(hub, private), True)
    sync(hub, private)
    meeting_type(hub, acme.alice, weekly_hours={"mon": [["09:00", "11:00"]]})
    synced()
    assert slots(hub, monday).slots == [local(monday, 10), local(monday, 10, 30)]
    disconnect_account(hub, private)
    assert len(slots(hub, monday).slots) == 4


def test_inactive_and_unknown_links(hub, acme, monday, synced):
    type_id = meeting_type(hub, acme.alice)
    synced()
    with hub.db.session() as s:
        s.get(MeetingType, type_id).active = False
    with pytest.raises(NotActive):
        slots(hub, monday)
    with pytest.raises(ValidationError):
        slots(hub, monday, slug="nobody")


def test_slots_across_a_dst_change_stay_at_local_hours(hub, acme, synced):
    every_day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    meeting_type(hub, acme.alice, weekly_hours={d: [["09:00", "09:30"]] for d in every_day}, horizon_days=400)
    synced()
    day = datetime.now(BERLIN).date()
    def noon_offset(d):
        return datetime.combine(d, time(12), BERLIN).utcoffset()

    while noon_offset(day) == noon_offset(day + timedelta(days=1)):
        day += timedelta(days=1)
    start = datetime.combine(day - timedelta(days=2), time.min, timezone.utc)
    answer = availability(hub, "alice-30", start, start + timedelta(days=5), now=start - timedelta(days=1))
    assert [s.astimezone(BERLIN).time() for s in answer.slots] == [time(9)] * 5
    assert len({s.astimezone(BERLIN).utcoffset() for s in answer.slots}) == 2


def test_merge_and_free_are_plain_interval_arithmetic():
    t = datetime(2030, 1, 7, 9, tzinfo=timezone.utc)
    m = timedelta(minutes=1)
    assert merge([(t + 30 * m, t + 60 * m), (t, t + 30 * m), (t + 10 * m, t + 20 * m), (t + 90 * m, t + 95 * m)]) == [
        (t, t + 60 * m), (t + 90 * m, t + 95 * m)]
    candidates = [t + i * 15 * m for i in range(8)]
    busy = [(t + 30 * m, t + 45 * m)]
    assert free(candidates, busy, 15 * m, 0 * m, 0 * m) == [c for c in candidates if c != t + 30 * m]
    assert free(candidates, busy, 15 * m, 15 * m, 15 * m) == [c for c in candidates if not (t + 15 * m <= c <= t + 45 * m)]
