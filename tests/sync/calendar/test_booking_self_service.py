"""Rescheduling and cancelling a booking (guest links, host): the booking, its meeting and the provider's
event move or go; the old time is freed; links are single-purpose and stop working when they should."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

import pytest
import sqlalchemy as sa

from hub.exceptions import SlotUnavailable
from hub.models import Booking, BookingStatus, Event, Meeting
from hub.scheduling import links
from hub.scheduling.availability import availability
from hub.scheduling.booking import book
from hub.scheduling.self_service import cancel_booking, reschedule
from tests.sync.calendar_world import (
    ALICE,
    event,
    local,
    meeting_type,
    meetings,
    next_weekday,
    remote_events,
    sync,
)

GUEST = "grace@hopper.example"


@pytest.fixture
def monday():
    return next_weekday(0)


@pytest.fixture
def ready(hub, acme):
    meeting_type(hub, acme.alice, slug="alice-30", weekly_hours={"mon": [["09:00", "12:00"]]})
    sync(hub, acme.alice_account)
    return acme


def offered(hub, monday):
    start = datetime.combine(monday, time.min, timezone.utc)
    return availability(hub, "alice-30", start, start + timedelta(days=1)).slots


def booking(hub, booking_id) -> Booking:
    with hub.db.session() as s:
        return s.get(Booking, booking_id)


def event_types(hub) -> list[tuple[str, dict]]:
    with hub.db.session() as s:
        return [(e.type, e.payload["data"]) for e in s.scalars(sa.select(Event).order_by(Event.id))]


def test_a_reschedule_moves_the_booking_the_meeting_and_the_event_and_frees_the_old_time(hub, backend, ready, monday,
                                                                                       worker):
    booking_id = book(hub, "alice-30", local(monday, 10), "Grace Hopper", GUEST)
    worker.drain()
    sync(hub, ready.alice_account)  # the pushed event is now busy time of its own
    reschedule(hub, booking_id, local(monday, 11))
    moved = booking(hub, booking_id)
    assert (moved.start, moved.end, moved.version, moved.status) == (
        local(monday, 11), local(monday, 11, 30), 2, BookingStatus.CONFIRMED)
    [meeting] = meetings(hub)
    assert (meeting.start, meeting.end) == (local(monday, 11), local(monday, 11, 30))
    worker.drain()
    [remote] = remote_events(backend)
    assert (remote.start, remote.end) == (local(monday, 11), local(monday, 11, 30))
    sync(hub, ready.alice_account)
    slots = offered(hub, monday)
    assert local(monday, 10) in slots and local(monday, 11) not in slots
    [(kind, data)] = [(t, d) for t, d in event_types(hub) if t == "booking.rescheduled"]
    assert (data["booking_id"], data["start"], data["previous_start"]) == (
        booking_id, local(monday, 11).isoformat(), local(monday, 10).isoformat())


def test_a_booking_can_move_into_a_slot_overlapping_its_own_time(hub, ready, monday, worker):
    meeting_type(hub, ready.alice, slug="alice-60", duration_minutes=60, slot_step_minutes=15,
                 weekly_hours={"mon": [["09:00", "12:00"]]})
    booking_id = book(hub, "alice-60", local(monday, 10), "Grace", GUEST)
    worker.drain()
    sync(hub, ready.alice_account)  # its event is busy 10:00–11:00 at the provider and in the busy blocks
    reschedule(hub, booking_id, local(monday, 10, 30))
    assert booking(hub, booking_id).start == local(monday, 10, 30)


def test_a_reschedule_into_a_taken_or_busy_slot_is_refused_and_changes_nothing(hub, backend, ready, monday):
    booking_id = book(hub, "alice-30", local(monday, 10), "Grace", GUEST)
    book(hub, "alice-30", local(monday, 11), "Ada", "ada@lovelace.example")
    backend.put_event(ALICE, "primary", event("Just added", local(monday, 9), minutes=30))
    for start in (local(monday, 11), local(monday, 9), local(monday, 13)):
        with pytest.raises(SlotUnavailable):
            reschedule(hub, booking_id, start)
    kept = booking(hub, booking_id)
    assert (kept.start, kept.version, kept.status) == (local(monday, 10), 1, BookingStatus.CONFIRMED)
    assert local(monday, 10) not in offered(hub, monday), "a refused move keeps the booking's own time"


def test_a_cancel_marks_booking_and_meeting_cancelled_and_the_provider_notifies_the_guest(hub, backend, ready,
                                                                                          monday, worker):
    booking_id = book(hub, "alice-30", local(monday, 10), "Grace", GUEST)
    worker.drain()
    [remote] = remote_events(backend)
    cancel_booking(hub, booking_id, reason="  Something came up  ")
    cancel_booking(hub, booking_id, reason="again")  # a second click changes nothing
    worker.drain()
    cancelled = booking(hub, booking_id)
    assert (cancelled.status, cancelled.cancel_reason, cancelled.version) == (
        BookingStatus.CANCELLED, "Something came up", 2)
    assert meetings(hub)[0].cancelled
    assert remote_events(backend) == []
    assert (remote.remote_id, GUEST) in backend.cancellations
    assert local(monday, 10) in offered(hub, monday)
    [data] = [d for t, d in event_types(hub) if t == "booking.cancelled"]
    assert (data["booking_id"], data["reason"], data["by"]) == (booking_id, "Something came up", "guest")


def test_links_are_single_purpose_and_stop_after_a_cancel_or_the_meeting(hub, ready, monday):
    booking_id = book(hub, "alice-30", local(monday, 10), "Grace", GUEST)
    move, drop = links.token(hub, booking_id, "reschedule"), links.token(hub, booking_id, "cancel")
    assert links.booking_for_link(hub, move, "reschedule") == booking_id
    assert links.booking_for_link(hub, drop, "cancel") == booking_id
    with pytest.raises(links.InvalidLink):
        links.booking_for_link(hub, move, "cancel")
    with pytest.raises(links.InvalidLink):
        links.booking_for_link(hub, move[:-2] + ("AA" if not move.endswith("AA") else "BB"), "reschedule")
    with pytest.raises(links.InvalidLink) as caught:
        links.booking_for_link(hub, drop, "cancel", now=local(monday, 10, 30))
    assert "over" in str(caught.value)
    cancel_booking(hub, booking_id)
    with pytest.raises(links.InvalidLink) as caught:
        links.booking_for_link(hub, move, "reschedule")
    assert "cancelled" in str(caught.value)
    with pytest.raises(links.InvalidLink):
        reschedule(hub, booking_id, local(monday, 11))


def test_a_reschedule_racing_new_bookings_for_the_same_slot_exactly_one_wins(hub, ready, monday):
    """On SQLite and on PostgreSQL (HUB_TEST_DATABASE_URL): the move and ten guests meet at the host lock."""
    import threading

    target = local(monday, 11)
    for round_ in range(3):
        booking_id = book(hub, "alice-30", local(monday, 9) + timedelta(minutes=30 * round_), "Mover",
                          f"mover{round_}@example.org")
        barrier = threading.Barrier(11)
        won, lost, errors = [], [], []

        # this round's barrier and lists, bound now: a thread outliving its join must not write into the next round's
        def run(what, *args, barrier=barrier, won=won, lost=lost, errors=errors):
            barrier.wait()
            try:
                what(hub, *args)
                won.append(what.__name__)
            except SlotUnavailable:
                lost.append(what.__name__)
            except Exception as exc:  # anything else is a bug the test must show
                errors.append(repr(exc))

        threads = [threading.Thread(target=run, args=(reschedule, booking_id, target))]
        threads += [threading.Thread(target=run, args=(book, "alice-30", target, f"Guest {i}",
                                                       f"guest{round_}-{i}@example.org")) for i in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert errors == []
        assert len(won) == 1 and len(lost) == 10, (won, lost)
        with hub.db.session() as s:
            at_target = s.scalars(sa.select(Booking).where(Booking.start == target,
                                                           Booking.status == BookingStatus.CONFIRMED)).all()
            assert len(at_target) == 1
            assert s.scalar(sa.select(sa.func.count(Meeting.id)).where(
                Meeting.start == target, Meeting.cancelled.is_(False))) == 1
        mover = booking(hub, booking_id)
        assert mover.start == (target if won == ["reschedule"] else local(monday, 9) + timedelta(minutes=30 * round_))
        cancel_booking(hub, at_target[0].id)  # free the target for the next round
