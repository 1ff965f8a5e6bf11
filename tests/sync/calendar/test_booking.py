"""Booking a slot: the meeting, the contact, the pushed event with the guest and a video link, the
re-check at the provider (failing closed), inactive links and disconnect/reconnect."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

import pytest
import sqlalchemy as sa

from hub.accounts import connect_account, disconnect_account
from hub.exceptions import (
    AuthExpired,
    NotActive,
    ProviderUnavailable,
    SlotUnavailable,
    ValidationError,
)
from hub.models import (
    Account,
    Booking,
    Contact,
    ContactAddress,
    Meeting,
    MeetingType,
    OutboxEntry,
)
from hub.scheduling.availability import availability
from hub.scheduling.booking import book
from hub.scheduling.self_service import cancel_booking
from tests.sync.calendar_world import (
    ALICE,
    DAN,
    PASSWORD,
    event,
    links,
    local,
    meeting_type,
    meetings,
    next_weekday,
    outbox,
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


def test_a_booking_makes_a_meeting_a_contact_and_an_event_with_the_guest_and_a_video_link(hub, backend, ready,
                                                                                       monday, worker):
    slot = local(monday, 10)
    booking_id = book(hub, "alice-30", slot, "Grace Hopper", GUEST, "America/New_York")
    with hub.db.session() as s:
        booking = s.get(Booking, booking_id)
        meeting = s.get(Meeting, booking.meeting_id)
        contact = s.get(Contact, booking.contact_id)
        assert (booking.start, booking.end, booking.guest_timezone) == (slot, slot + timedelta(minutes=30),
                                                                       "America/New_York")
        assert booking.account_id == ready.alice_account
        assert (meeting.origin, meeting.want_video, meeting.owner_user_id) == ("booking", True, ready.alice)
        assert (contact.name, contact.source) == ("Grace Hopper", "booking")
        guest = next(p for p in meeting.participants if p.email == GUEST)
        assert guest.contact_id == contact.id
    [entry] = outbox(hub)
    assert entry.op == "create" and entry.send_invites
    assert slot not in offered(hub, monday), "the slot is gone for the next guest"

    worker.drain()
    [remote] = remote_events(backend)
    assert (remote.start, remote.end) == (slot, slot + timedelta(minutes=30))
    assert GUEST in {a.email for a in remote.attendees}
    assert (remote.remote_id, GUEST) in backend.invitations
    assert meetings(hub)[0].video_url == remote.video_url and remote.video_url.startswith("https://")


def test_a_known_guest_is_matched_not_duplicated(hub, ready, monday):
    booking_id = book(hub, "alice-30", local(monday, 9), "Dan", DAN.upper())
    with hub.db.session() as s:
        assert s.get(Booking, booking_id).contact_id == ready.dan
        assert s.scalar(sa.select(sa.func.count(ContactAddress.id)).where(ContactAddress.email == DAN)) == 1


def test_a_taken_or_unoffered_slot_is_refused(hub, ready, monday):
    book(hub, "alice-30", local(monday, 10), "Grace", GUEST)
    for start in (local(monday, 10), local(monday, 9, 45), local(monday, 13), local(monday, 10, 10)):
        with pytest.raises(SlotUnavailable) as caught:
            book(hub, "alice-30", start, "Ada", "ada@lovelace.example")
        assert str(caught.value) == "This slot is no longer available." and caught.value.fix
    assert len(meetings(hub)) == 1


def test_busy_time_at_the_provider_is_rechecked_before_confirming(hub, backend, ready, monday):
    # made in the calendar app a moment ago; the hub has not synced it yet
    backend.put_event(ALICE, "primary", event("Just added", local(monday, 11), minutes=60))
    assert local(monday, 11) in offered(hub, monday)
    with pytest.raises(SlotUnavailable):
        book(hub, "alice-30", local(monday, 11), "Grace", GUEST)
    assert meetings(hub) == [] and outbox(hub) == []


@pytest.mark.parametrize("error", [ProviderUnavailable("503"), AuthExpired("revoked")])
def test_a_failing_free_busy_check_fails_closed(hub, backend, ready, monday, error):
    backend.fail_next("hub_free_busy", error)
    with pytest.raises(SlotUnavailable) as caught:
        book(hub, "alice-30", local(monday, 10), "Grace", GUEST)
    assert "could not be confirmed" in str(caught.value)
    assert meetings(hub) == []


def test_inactive_links_and_bad_guest_details(hub, ready, monday):
    with pytest.raises(ValidationError) as caught:
        book(hub, "alice-30", local(monday, 10), "", GUEST)
    assert caught.value.field == "guest_name"
    with pytest.raises(ValidationError) as caught:
        book(hub, "alice-30", local(monday, 10), "Grace", "grace at hopper")
    assert caught.value.field == "guest_email"
    with pytest.raises(ValidationError):
        book(hub, "nobody", local(monday, 10), "Grace", GUEST)
    with hub.db.session() as s:
        s.scalar(sa.select(MeetingType)).active = False
    with pytest.raises(NotActive):
        book(hub, "alice-30", local(monday, 10), "Grace", GUEST)


def test_disconnecting_deactivates_the_link_keeps_booked_events_and_reconnecting_restores_it(hub, backend, ready,
                                                                                           monday):
    book(hub, "alice-30", local(monday, 10), "Grace", GUEST)
    from hub.sync.calendar_push import push_outbox

    push_outbox(hub, ready.alice_account)
    disconnect_account(hub, ready.alice_account)
    with pytest.raises(NotActive):
        book(hub, "alice-30", local(monday, 11), "Ada", "ada@lovelace.example")
    with pytest.raises(NotActive):
        offered(hub, monday)
    assert len(remote_events(backend)) == 1, "the booked meeting stays on the calendar"

    connect_account(hub, ready.alice, "memory", {"email": ALICE, "password": PASSWORD})
    sync(hub, ready.alice_account)
    book(hub, "alice-30", local(monday, 11), "Ada", "ada@lovelace.example")
    assert len(meetings(hub)) == 2


def test_booking_into_an_account_that_lost_its_grant_fails_clearly(hub, ready, monday):
    with hub.db.session() as s:
        s.get(Account, ready.alice_account).needs_reconnect = True
    with pytest.raises(NotActive) as caught:
        book(hub, "alice-30", local(monday, 10), "Grace", GUEST)
    assert "not connected" in str(caught.value) and caught.value.fix


def test_a_cancelled_booking_frees_the_slot_and_deletes_the_event(hub, backend, ready, monday):
    from hub.sync.calendar_push import push_outbox

    booking_id = book(hub, "alice-30", local(monday, 10), "Grace", GUEST)
    push_outbox(hub, ready.alice_account)
    cancel_booking(hub, booking_id)
    push_outbox(hub, ready.alice_account)
    assert remote_events(backend) == []
    assert local(monday, 10) in offered(hub, monday)
    assert outbox(hub, OutboxEntry.done_at.is_(None)) == []
    assert links(hub, meetings(hub)[0].id) == []
