"""Team types under a race: 50 guests, each in its own thread and session, for one slot of a 3-member
team (SQLite, or PostgreSQL with HUB_TEST_DATABASE_URL). Round-robin: at most one booking per member;
collective: exactly one."""

from __future__ import annotations

import sqlalchemy as sa

from hub.models import Booking, Meeting, OutboxEntry
from tests.sync.calendar.test_booking_concurrency import race
from tests.sync.calendar_world import local, next_weekday
from tests.sync.team_world import team_type

GUESTS = 50


def test_fifty_guests_on_a_round_robin_slot_get_at_most_one_booking_per_member(hub, team):
    monday = next_weekday(0)
    team_type(hub, team, "round_robin", "sales", weekly_hours={"mon": [["09:00", "12:00"]]})
    won, lost, errors = race(hub, [local(monday, 10)] * GUESTS, slug="sales")
    assert errors == []
    assert len(won) == 3 and len(lost) == GUESTS - 3
    with hub.db.session() as s:
        hosts = s.scalars(sa.select(Booking.host_user_id)).all()
        assert sorted(hosts) == sorted(team.members)
        assert s.scalar(sa.select(sa.func.count(Meeting.id))) == 3
        assert s.scalar(sa.select(sa.func.count(OutboxEntry.id))) == 3


def test_fifty_guests_on_a_collective_slot_make_exactly_one_booking(hub, team):
    monday = next_weekday(0)
    team_type(hub, team, "collective", "panel", weekly_hours={"mon": [["09:00", "12:00"]]})
    won, lost, errors = race(hub, [local(monday, 10)] * GUESTS, slug="panel")
    assert errors == []
    assert len(won) == 1 and len(lost) == GUESTS - 1
    with hub.db.session() as s:
        assert s.scalar(sa.select(sa.func.count(Booking.id))) == 1
        assert s.scalar(sa.select(sa.func.count(Meeting.id))) == 1
        assert s.scalar(sa.select(sa.func.count(OutboxEntry.id))) == 1


def test_a_member_s_own_type_and_a_round_robin_racing_for_one_slot_book_that_member_once(hub, team):
    from tests.sync.calendar_world import meeting_type

    monday = next_weekday(0)
    hours = {"mon": [["09:00", "12:00"]]}
    team_type(hub, team, "round_robin", "sales", members=[team.alice, team.bob], weekly_hours=hours)
    meeting_type(hub, team.bob, slug="bob-30", weekly_hours=hours)
    slugs = ["sales", "bob-30"] * (GUESTS // 2)
    won, lost, errors = race(hub, [local(monday, 10)] * GUESTS, slugs=slugs)
    assert errors == []
    with hub.db.session() as s:
        hosts = s.scalars(sa.select(Booking.host_user_id)).all()
    assert len(won) == len(hosts) and sorted(hosts) == sorted(set(hosts))  # nobody twice
    assert team.bob in hosts and len(hosts) == 2  # Alice through the team, Bob once (either way)
