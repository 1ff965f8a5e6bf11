"""Time, as the busy blocks see it: recurring series with exceptions and cancelled occurrences, all-day
events (also recurring), IANA zones across DST, and events that must not block."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from hub.sync import busy, calendar_pull
from hub.sync.calendars import refresh_calendars
from hub.types import EventPage, Participant, RemoteEvent
from tests.sync.calendar_world import ALICE, DAN, at, busy_blocks, calendar_id, day, event, live_meetings, sync

BERLIN = ZoneInfo("Europe/Berlin")


def next_dst_change(tz: ZoneInfo, after: date) -> date:
    """The first day after ``after`` whose UTC offset differs from the day before."""
    d = after
    while True:
        d += timedelta(days=1)
        yesterday = d - timedelta(days=1)
        if datetime.combine(d, time(12), tz).utcoffset() != datetime.combine(yesterday, time(12), tz).utcoffset():
            return d


@pytest.fixture
def hub_settings_overrides():
    return {"sync_window_days": 400}  # long enough to hold the next DST change whatever today is


def test_a_weekly_series_keeps_its_local_hour_across_a_dst_change(hub, backend, acme):
    change = next_dst_change(BERLIN, date.today() + timedelta(days=14))
    first = datetime.combine(change - timedelta(days=14), time(10), BERLIN)
    series = backend.put_event(ALICE, "primary", RemoteEvent(
        "", first, first + timedelta(minutes=45), summary="Weekly", timezone="Europe/Berlin",
        recurrence=["RRULE:FREQ=WEEKLY;COUNT=4"]))
    sync(hub, acme.alice_account)
    blocks = busy_blocks(hub, calendar_id(hub, acme.alice_account))
    assert [s.astimezone(BERLIN).time() for s, _ in blocks] == [time(10)] * 4
    offsets = {s.astimezone(BERLIN).utcoffset() for s, _ in blocks}
    assert len(offsets) == 2, "two occurrences on each side of the change, at different UTC hours"
    assert all(e - s == timedelta(minutes=45) for s, e in blocks)
    assert series.recurrence


def test_exceptions_move_occurrences_and_cancelled_ones_free_their_time(hub, backend, acme):
    start = at(2, 9)
    master = backend.put_event(ALICE, "primary", event("Daily", start, minutes=30, timezone="UTC",
                                                        recurrence=["RRULE:FREQ=DAILY;COUNT=5"]))
    backend.put_event(ALICE, "primary", event("Daily (moved)", at(3, 15), minutes=30, recurring_event_id=master.remote_id,
                                              original_start=at(3, 9)))
    backend.put_event(ALICE, "primary", event("Daily", at(4, 9), minutes=30, status="cancelled",
                                              recurring_event_id=master.remote_id, original_start=at(4, 9)))
    backend.put_event(ALICE, "primary", event("Daily", at(5, 9), minutes=30, transparent=True,
                                              recurring_event_id=master.remote_id, original_start=at(5, 9)))
    sync(hub, acme.alice_account)
    cal = calendar_id(hub, acme.alice_account)
    assert [s for s, _ in busy_blocks(hub, cal)] == [at(2, 9), at(3, 15), at(6, 9)]

    backend.put_event(ALICE, "primary", master.replace(recurrence=["RRULE:FREQ=DAILY;COUNT=5", "EXDATE:" +
                                                                   at(6, 9).strftime("%Y%m%dT%H%M%SZ")]))
    sync(hub, acme.alice_account)
    assert [s for s, _ in busy_blocks(hub, cal)] == [at(2, 9), at(3, 15)], "an EXDATE frees that day"
    backend.delete_event(ALICE, "primary", master.remote_id)
    sync(hub, acme.alice_account)
    assert busy_blocks(hub, cal) == [], "deleting the series takes its exceptions along"


def test_all_day_events_block_whole_days_in_the_calendars_zone(hub, backend, acme):
    backend.accounts[ALICE].calendars["primary"].info.timezone = "Europe/Berlin"
    refresh_calendars(hub, acme.alice_account)
    backend.put_event(ALICE, "primary", RemoteEvent("", day(3), day(4), summary="Holiday", all_day=True))
    backend.put_event(ALICE, "primary", RemoteEvent("", day(10), day(11), summary="Gym", all_day=True,
                                                    recurrence=["RRULE:FREQ=WEEKLY;COUNT=3"]))
    sync(hub, acme.alice_account)
    blocks = busy_blocks(hub, calendar_id(hub, acme.alice_account))
    expected_days = [day(3), day(10), day(17), day(24)]
    assert [(s.astimezone(BERLIN), e.astimezone(BERLIN)) for s, e in blocks] == [
        (datetime.combine(d, time.min, BERLIN), datetime.combine(d + timedelta(days=1), time.min, BERLIN))
        for d in expected_days]


def test_free_and_declined_events_do_not_block(hub, backend, acme):
    backend.put_event(ALICE, "primary", event("Focus (free)", at(2, 9), transparent=True))
    backend.put_event(ALICE, "primary", event("Declined", at(2, 11), organizer=DAN,
                                              attendees=[Participant(ALICE, response="declined"), DAN]))
    backend.put_event(ALICE, "primary", event("Accepted", at(2, 13), organizer=DAN,
                                              attendees=[Participant(ALICE, response="accepted"), DAN]))
    sync(hub, acme.alice_account)
    assert busy_blocks(hub, calendar_id(hub, acme.alice_account)) == [(at(2, 13), at(2, 14))]
    assert {m.title for m in live_meetings(hub)} == {"Declined", "Accepted"}, "they are still meetings"


def test_an_unreadable_recurrence_rule_does_not_stop_the_page(hub, acme):
    # straight into the engine: a provider would not store such a rule, but one may still send it
    page = EventPage(events=[
        RemoteEvent("broken", at(2, 9), at(2, 10), summary="Broken rule", recurrence=["RRULE:FREQ=SOMETIMES"]),
        RemoteEvent("fine", at(2, 12), at(2, 13), summary="Fine"),
    ], next_cursor="c1", done=True)
    cal = calendar_id(hub, acme.alice_account)
    with hub.db.session() as s:
        calendar_pull.apply_page(s, calendar_pull.load_context(s, cal, hub.settings.sync_window_days), page)
    starts = [s for s, _ in busy_blocks(hub, cal)]
    assert starts == [at(2, 9), at(2, 12)], "the broken series counts its first occurrence (fail closed)"


def test_expansion_is_bounded_by_the_window():
    window_start, window_end = at(0, 0), at(10, 0)
    daily = RemoteEvent("m", at(-3, 8), at(-3, 9), recurrence=["RRULE:FREQ=DAILY"], timezone="UTC")
    blocks = busy.blocks(daily, [], window_start, window_end)
    assert [s for s, _ in blocks] == [at(d, 8) for d in range(0, 10)]


def test_a_series_in_new_york_repeats_at_new_york_time():
    ny = ZoneInfo("America/New_York")
    start = datetime(2025, 3, 3, 9, 0, tzinfo=ny)  # DST starts in the US on 9 March 2025
    series = RemoteEvent("m", start.astimezone(timezone.utc), (start + timedelta(hours=1)).astimezone(timezone.utc),
                         timezone="America/New_York", recurrence=["RRULE:FREQ=WEEKLY;COUNT=2"])
    blocks = busy.blocks(series, [], datetime(2025, 3, 1, tzinfo=timezone.utc), datetime(2025, 3, 20, tzinfo=timezone.utc))
    assert [s.astimezone(ny).hour for s, _ in blocks] == [9, 9]
    assert [s.hour for s, _ in blocks] == [14, 13]


def test_an_open_ended_series_keeps_blocking_as_the_window_moves_on(hub, backend, acme):
    backend.put_event(ALICE, "primary", event("Standup", at(1, 9), minutes=15, timezone="UTC",
                                              recurrence=["RRULE:FREQ=WEEKLY"]))
    hub.settings.sync_window_days = 30
    sync(hub, acme.alice_account)
    cal = calendar_id(hub, acme.alice_account)
    assert max(s for s, _ in busy_blocks(hub, cal)) <= at(31, 0)
    hub.settings.sync_window_days = 60  # as if a month went by: the window's end moved on
    assert sync(hub, acme.alice_account) == {}, "nothing changed at the provider"
    starts = [s for s, _ in busy_blocks(hub, cal)]
    assert max(starts) > at(52, 0) and starts == [at(1 + 7 * i, 9) for i in range(len(starts))]
