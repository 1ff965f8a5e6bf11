"""Team meeting types: round-robin (any free member; the one booked least recently; weights) and
collective (every member free; one event on the owner's calendar with the members invited); each
member's calendars, hours and failures counting on their own; date overrides, per-day limits and
booking questions."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

import pytest
import sqlalchemy as sa

from hub.accounts import disconnect_account
from hub.exceptions import SlotUnavailable, ValidationError
from hub.models import (
    Booking,
    BookingHost,
    Calendar,
    Contact,
    Event,
    Meeting,
    MeetingTypeMember,
    User,
)
from hub.scheduling.availability import availability
from hub.scheduling.booking import book
from hub.scheduling.self_service import cancel_booking, reschedule
from tests.sync.calendar_world import (
    ALICE,
    BOB,
    calendar_id,
    event,
    local,
    meeting_type,
    next_weekday,
    remote_events,
    sync,
)
from tests.sync.team_world import CAROL, team_type

HOURS = {"mon": [["09:00", "12:00"]]}


@pytest.fixture
def monday():
    return next_weekday(0)


def slots(hub, slug, monday):
    start = datetime.combine(monday, time.min, timezone.utc)
    return availability(hub, slug, start, start + timedelta(days=1))


def host_of(hub, booking_id):
    with hub.db.session() as s:
        return s.get(Booking, booking_id).host_user_id


def test_round_robin_offers_a_slot_while_any_member_is_free_and_gives_each_booking_to_a_free_member(
        hub, backend, team, monday):
    team_type(hub, team, "round_robin", "sales", weekly_hours=HOURS)
    for email in (ALICE, BOB):
        backend.put_event(email, "primary", event("Busy", local(monday, 10)))
    for uid in (team.alice, team.bob):
        sync(hub, team.accounts[uid])
    assert local(monday, 10) in slots(hub, "sales", monday).slots  # Carol is free
    booking = book(hub, "sales", local(monday, 10), "Grace", "grace@hopper.example")
    assert host_of(hub, booking) == team.carol
    assert local(monday, 10) not in slots(hub, "sales", monday).slots
    with pytest.raises(SlotUnavailable):
        book(hub, "sales", local(monday, 10), "Ada", "ada@lovelace.example")


def book_nth(hub, monday, i):
    """Book the i-th half-hour from 09:00 of "sales"; the host it went to."""
    start = local(monday, 9) + timedelta(minutes=30 * i)
    return host_of(hub, book(hub, "sales", start, f"G{i}", f"g{i}@guests.example"))


def test_round_robin_goes_to_the_member_booked_least_recently(hub, team, monday):
    team_type(hub, team, "round_robin", "sales", weekly_hours=HOURS)
    hosts = [book_nth(hub, monday, i) for i in range(5)]
    # nobody booked yet: by id; then always the one whose last booking is oldest
    assert hosts == [team.alice, team.bob, team.carol, team.alice, team.bob]


def test_round_robin_weights_give_a_heavier_member_more_bookings(hub, team, monday):
    team_type(hub, team, "round_robin", "sales", members=[team.alice, team.bob], weights={team.alice: 2},
              weekly_hours=HOURS)
    hosts = [book_nth(hub, monday, i) for i in range(6)]
    assert (hosts.count(team.alice), hosts.count(team.bob)) == (4, 2)


def test_the_same_round_robin_slot_books_each_member_at_most_once(hub, team, monday):
    team_type(hub, team, "round_robin", "sales", weekly_hours=HOURS)
    hosts = [host_of(hub, book(hub, "sales", local(monday, 10), f"G{i}", f"g{i}@guests.example")) for i in range(3)]
    assert sorted(hosts) == sorted(team.members)
    with pytest.raises(SlotUnavailable):
        book(hub, "sales", local(monday, 10), "G4", "g4@guests.example")


def test_collective_offers_only_slots_every_member_is_free_and_invites_them_all(hub, backend, team, monday, worker):
    team_type(hub, team, "collective", "panel", members=[team.bob, team.carol], weekly_hours=HOURS)
    backend.put_event(CAROL, "primary", event("Dentist", local(monday, 10)))
    sync(hub, team.accounts[team.carol])
    offered = slots(hub, "panel", monday).slots
    assert local(monday, 10) not in offered and local(monday, 9) in offered
    booking_id = book(hub, "panel", local(monday, 9), "Grace", "grace@hopper.example")
    worker.drain()
    with hub.db.session() as s:
        booking = s.get(Booking, booking_id)
        meeting = s.get(Meeting, booking.meeting_id)
        assert booking.host_user_id == team.alice and meeting.owner_user_id == team.alice
        assert {p.email for p in meeting.participants} == {ALICE, BOB, CAROL, "grace@hopper.example"}
        assert set(s.scalars(sa.select(BookingHost.user_id).where(BookingHost.booking_id == booking_id))) == \
            {team.bob, team.carol}
        assert s.scalar(sa.select(sa.func.count(Meeting.id))) == 1
    [pushed] = remote_events(backend, ALICE)  # one event, on the organizer's calendar
    assert {a.email for a in pushed.attendees} >= {BOB, CAROL, "grace@hopper.example"}
    with pytest.raises(SlotUnavailable):
        book(hub, "panel", local(monday, 9), "Ada", "ada@lovelace.example")


def test_a_collective_booking_makes_its_members_busy_on_their_own_types(hub, team, monday):
    team_type(hub, team, "collective", "panel", weekly_hours=HOURS)
    meeting_type(hub, team.bob, slug="bob-30", weekly_hours=HOURS)
    book(hub, "panel", local(monday, 9), "Grace", "grace@hopper.example")
    assert local(monday, 9) not in slots(hub, "bob-30", monday).slots
    with pytest.raises(SlotUnavailable):
        book(hub, "bob-30", local(monday, 9), "Ada", "ada@lovelace.example")


@pytest.mark.parametrize("how", ["unreadable", "disconnected"])
def test_an_unreadable_member_calendar_makes_only_that_member_busy_and_says_limited(hub, team, monday, how):
    team_type(hub, team, "round_robin", "sales", weekly_hours=HOURS)
    team_type(hub, team, "collective", "panel", weekly_hours=HOURS)
    if how == "disconnected":  # Bob has no calendar left to check his time against, or to book into
        disconnect_account(hub, team.accounts[team.bob])
    else:
        with hub.db.session() as s:
            s.get(Calendar, calendar_id(hub, team.accounts[team.bob])).unreadable_since = datetime.now(timezone.utc)
    rr = slots(hub, "sales", monday)
    assert rr.limited and rr.unreadable and rr.slots and rr.hosts[team.bob] == []
    hosts = {host_of(hub, book(hub, "sales", local(monday, 10), f"G{i}", f"g{i}@guests.example")) for i in range(2)}
    assert hosts == {team.alice, team.carol}
    collective = slots(hub, "panel", monday)
    assert collective.limited and collective.slots == []


def test_a_member_s_own_working_hours_in_their_zone_count(hub, team, monday):
    team_type(hub, team, "round_robin", "sales", members=[team.bob], weekly_hours=HOURS)
    with hub.db.session() as s:
        row = s.scalar(sa.select(MeetingTypeMember).where(MeetingTypeMember.user_id == team.bob))
        row.weekly_hours = {"mon": [["04:00", "05:00"]]}  # New York: 10:00–11:00 in Berlin
        s.get(User, team.bob).timezone = "America/New_York"
    assert slots(hub, "sales", monday).slots == [local(monday, 10), local(monday, 10, 30)]


def test_date_overrides_take_a_day_off_or_change_its_hours(hub, team, monday):
    meeting_type(hub, team.alice, slug="alice-30", weekly_hours=HOURS,
                 date_overrides={monday.isoformat(): [["14:00", "15:00"]],
                                 (monday + timedelta(days=7)).isoformat(): []})
    assert slots(hub, "alice-30", monday).slots == [local(monday, 14), local(monday, 14, 30)]
    assert slots(hub, "alice-30", monday + timedelta(days=7)).slots == []
    assert len(slots(hub, "alice-30", monday + timedelta(days=14)).slots) == 6


def test_max_bookings_per_day_counts_per_host_and_type(hub, team, monday):
    team_type(hub, team, "round_robin", "sales", members=[team.alice, team.bob], weekly_hours=HOURS, max_per_day=1)
    meeting_type(hub, team.alice, slug="alice-30", weekly_hours=HOURS)
    first = book(hub, "sales", local(monday, 9), "G1", "g1@guests.example")
    second = book(hub, "sales", local(monday, 10), "G2", "g2@guests.example")
    assert {host_of(hub, first), host_of(hub, second)} == {team.alice, team.bob}
    assert slots(hub, "sales", monday).slots == []  # both hosts have their one booking today
    assert slots(hub, "sales", monday + timedelta(days=7)).slots  # another day
    assert local(monday, 11) in slots(hub, "alice-30", monday).slots  # another type of Alice's


QUESTIONS = [
    {"key": "company_size", "label": "Company size", "kind": "choice", "required": True, "choices": ["1-10", "11-50"]},
    {"key": "phone", "label": "Phone", "kind": "phone", "required": False, "choices": []},
    {"key": "topic", "label": "Topic", "kind": "text", "required": False, "choices": []},
]


def test_answers_are_stored_on_the_booking_the_meeting_and_the_contact(hub, team, monday):
    meeting_type(hub, team.alice, slug="alice-30", weekly_hours=HOURS, questions=QUESTIONS)
    booking_id = book(hub, "alice-30", local(monday, 9), "Grace", "grace@hopper.example",
                      answers={"q_company_size": "11-50", "q_phone": "+1 (555) 123-4567", "q_topic": " "})
    with hub.db.session() as s:
        booking = s.get(Booking, booking_id)
        assert booking.answers == [{"key": "company_size", "label": "Company size", "answer": "11-50"},
                                   {"key": "phone", "label": "Phone", "answer": "+1 (555) 123-4567"}]
        assert "Company size: 11-50\nPhone: +1 (555) 123-4567" in s.get(Meeting, booking.meeting_id).description
        assert s.get(Contact, booking.contact_id).booking_answers == {"Company size": "11-50",
                                                                       "Phone": "+1 (555) 123-4567"}


@pytest.mark.parametrize("answers, field", [
    ({}, "q_company_size"),
    ({"q_company_size": "5000+"}, "q_company_size"),
    ({"q_company_size": "1-10", "q_phone": "call me"}, "q_phone"),
    ({"q_company_size": "1-10", "q_topic": "line\nbreak"}, "q_topic"),
])
def test_bad_answers_are_refused_naming_the_field_and_book_nothing(hub, team, monday, answers, field):
    meeting_type(hub, team.alice, slug="alice-30", weekly_hours=HOURS, questions=QUESTIONS)
    with pytest.raises(ValidationError) as caught:
        book(hub, "alice-30", local(monday, 9), "Grace", "grace@hopper.example", answers=answers)
    assert caught.value.field == field
    with hub.db.session() as s:
        assert s.scalar(sa.select(sa.func.count(Booking.id))) == 0


def test_team_bookings_fire_booking_events_for_the_host_and_free_the_member_on_cancel(hub, team, monday):
    team_type(hub, team, "round_robin", "sales", weekly_hours=HOURS)
    booking_id = book(hub, "sales", local(monday, 10), "Grace", "grace@hopper.example")
    with hub.db.session() as s:
        created = s.scalars(sa.select(Event).where(Event.type == "booking.created")).all()
        said = [(e.payload["data"]["booking_id"], e.payload["data"]["user_id"]) for e in created]
    assert said == [(booking_id, team.alice)]
    cancel_booking(hub, booking_id)  # frees Alice's time, and a cancelled booking is no booking to rotate by
    assert host_of(hub, book(hub, "sales", local(monday, 10), "Ada", "ada@lovelace.example")) == team.alice


def test_the_host_s_why_names_date_overrides_the_day_limit_and_the_team_rule(hub, team, monday):
    from hub.models import MeetingType
    from hub.scheduling.availability_explained import why

    meeting_type(hub, team.alice, slug="alice-30", weekly_hours=HOURS, max_per_day=1,
                 date_overrides={(monday + timedelta(days=7)).isoformat(): []})
    panel = team_type(hub, team, "collective", "panel", weekly_hours=HOURS)
    book(hub, "alice-30", local(monday, 9), "Grace", "grace@hopper.example")
    book(hub, "panel", local(monday, 11), "Ada", "ada@lovelace.example")
    with hub.db.session() as s:
        mt = s.scalar(sa.select(MeetingType).where(MeetingType.slug == "alice-30"))
        assert "limit" in [r.kind for r in why(s, mt, local(monday, 10)).reasons]
        day_off = why(s, mt, local(monday + timedelta(days=7), 10)).reasons
        assert any(r.kind == "hours" and "hours set for" in r.text for r in day_off)
        team_reasons = why(s, s.get(MeetingType, panel), local(monday, 9)).reasons
        assert any(r.kind == "team" and "every member is free; 2 of 3" in r.text for r in team_reasons)


def test_a_rescheduled_team_booking_keeps_its_hosts_and_needs_all_of_a_collective_free(hub, backend, team, monday):
    team_type(hub, team, "round_robin", "sales", weekly_hours=HOURS)
    team_type(hub, team, "collective", "panel", members=[team.bob, team.carol], weekly_hours=HOURS)
    member = host_of(hub, book(hub, "sales", local(monday, 9), "Grace", "grace@hopper.example"))
    sales = host_of(hub, book(hub, "sales", local(monday, 9), "Ada", "ada@lovelace.example"))
    with hub.db.session() as s:
        moved = s.scalar(sa.select(Booking.id).where(Booking.host_user_id == member))
    reschedule(hub, moved, local(monday, 11))
    assert host_of(hub, moved) == member  # a round-robin booking moves with its member
    assert sales != member

    panel = book(hub, "panel", local(monday, 9, 30), "Linus", "linus@kernel.example")
    backend.put_event(CAROL, "primary", event("Dentist", local(monday, 10), minutes=30))
    sync(hub, team.accounts[team.carol])
    with pytest.raises(SlotUnavailable):  # Carol, a member, is busy then: the collective cannot move there
        reschedule(hub, panel, local(monday, 10))
    reschedule(hub, panel, local(monday, 10, 30))
    with hub.db.session() as s:
        assert s.get(Booking, panel).start == local(monday, 10, 30)
    assert local(monday, 10, 30) not in slots(hub, "panel", monday).slots
