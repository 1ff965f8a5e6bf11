"""Never a double booking: 20 guests racing for overlapping slots of one host, each in its own thread and
session, against the test database (SQLite, or PostgreSQL with HUB_TEST_DATABASE_URL)."""

from __future__ import annotations

import threading
from datetime import timedelta

import sqlalchemy as sa

from hub.exceptions import SlotUnavailable
from hub.models import Booking, Meeting, OutboxEntry
from hub.scheduling.booking import book
from tests.sync.calendar_world import local, meeting_type, next_weekday, sync

RACERS = 20


def race(hub, starts, slug="alice-60", slugs=None):
    """Start ``book`` of ``slug`` (or ``slugs[i]``) for each start at the same moment; return (booking ids,
    the losers, other errors)."""
    barrier = threading.Barrier(len(starts))
    won, lost, errors = [], [], []

    def guest(i, start):
        barrier.wait()
        try:
            won.append(book(hub, slugs[i] if slugs else slug, start, f"Guest {i}", f"guest{i}@example.org"))
        except SlotUnavailable:
            lost.append(i)
        except Exception as exc:  # anything else is a bug the test must show
            errors.append(repr(exc))

    threads = [threading.Thread(target=guest, args=(i, s)) for i, s in enumerate(starts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return won, lost, errors


def test_twenty_concurrent_bookings_of_overlapping_slots_make_exactly_one(hub, acme):
    monday = next_weekday(0)
    meeting_type(hub, acme.alice, slug="alice-60", duration_minutes=60, slot_step_minutes=15,
                 weekly_hours={"mon": [["09:00", "13:00"]]})
    sync(hub, acme.alice_account)
    # every start lies within 45 minutes of the others, so any two of these hour-long slots overlap
    starts = [local(monday, 10) + timedelta(minutes=15 * (i % 4)) for i in range(RACERS)]
    won, lost, errors = race(hub, starts)
    assert errors == []
    assert len(won) == 1 and len(lost) == RACERS - 1
    with hub.db.session() as s:
        assert s.scalar(sa.select(sa.func.count(Booking.id))) == 1
        assert s.scalar(sa.select(sa.func.count(Meeting.id))) == 1
        assert s.scalar(sa.select(sa.func.count(OutboxEntry.id))) == 1


def test_concurrent_bookings_of_separate_slots_all_succeed(hub, acme):
    monday = next_weekday(0)
    meeting_type(hub, acme.alice, slug="alice-60", duration_minutes=60, slot_step_minutes=60,
                 weekly_hours={"mon": [["08:00", "18:00"]]})
    sync(hub, acme.alice_account)
    starts = [local(monday, 8 + i) for i in range(10)]
    won, lost, errors = race(hub, starts)
    assert errors == [] and lost == [] and len(won) == 10


def test_a_booking_holding_the_host_lock_never_blocks_a_sync_writing_for_that_host(hub, acme):
    """The lock that serializes a host's bookings must not stop other writers' foreign-key checks on
    the host's row — else a booking waiting for a sync's calendar lock, while that sync inserts rows
    referencing the host, deadlocks (seen on PostgreSQL under load). Same for the calendar lock."""
    import pytest

    from hub.models import Calendar, CalendarEvent, MailThread
    from hub.scheduling.booking import lock_host
    from hub.sync.calendar_pull import lock_calendar

    if hub.db.is_sqlite:
        pytest.skip("row locks are PostgreSQL's; on SQLite one write lock serializes every writer")
    sync(hub, acme.alice_account)
    with hub.db.session() as s:
        calendar_id = s.scalar(sa.select(Calendar.id).where(Calendar.account_id == acme.alice_account))
    with hub.db.session() as booking:
        lock_host(booking, acme.alice)
        lock_calendar(booking, calendar_id)
        with hub.db.session() as sync_job:  # another connection, as a worker's would be
            sync_job.execute(sa.text("SET LOCAL lock_timeout = '2s'"))
            sync_job.add(MailThread(user_id=acme.alice, thread_key="t-while-booking", subject="x"))
            sync_job.add(CalendarEvent(calendar_id=calendar_id, remote_id="e-while-booking", summary="x",
                                       start=local(next_weekday(0), 9), end=local(next_weekday(0), 10)))
            sync_job.flush()  # would raise LockNotAvailable after 2 s if the host or calendar row blocked it
