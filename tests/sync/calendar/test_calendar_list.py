"""The calendar list: default (linked) calendar, conflict calendars and sync preferences."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from hub.accounts import disconnect_account
from hub.exceptions import ValidationError
from hub.models import Account, Calendar, SyncDirection, User
from hub.sync.calendars import (
    default_calendar,
    refresh_calendars,
    set_conflict,
    set_default_calendar,
    set_preferences,
)
from tests.sync.calendar_world import ALICE, PASSWORD, calendar_id, connect


def calendars(hub, account_id):
    with hub.db.session() as s:
        return {c.remote_id: c for c in s.scalars(sa.select(Calendar).where(Calendar.account_id == account_id))}


def test_the_first_accounts_primary_calendar_becomes_default_conflict_and_synced(hub, acme):
    cals = calendars(hub, acme.alice_account)
    assert set(cals) == {"primary", "team"}
    primary, team = cals["primary"], cals["team"]
    assert (primary.is_default, primary.is_conflict, primary.sync_enabled, primary.is_primary) == (True, True, True, True)
    assert (team.is_default, team.is_conflict, team.sync_enabled) == (False, False, False)
    assert primary.access_role == "owner" and team.import_meetings


def test_a_second_account_does_not_take_the_default(hub, backend, acme):
    backend.add_account("alice.private@acme.com", PASSWORD)
    second = connect(hub, acme.alice, "alice.private@acme.com")
    assert not calendars(hub, second)["primary"].is_default
    with hub.db.session() as s:
        assert default_calendar(s, acme.alice).id == calendar_id(hub, acme.alice_account)


def test_read_only_calendars_can_block_time_but_never_be_the_default(hub, backend, acme):
    mine = backend.accounts[ALICE]
    backend.add_calendar(mine, "boss", access_role="reader")
    backend.add_calendar(mine, "room", access_role="freeBusyReader")
    refresh_calendars(hub, acme.alice_account)
    cals = calendars(hub, acme.alice_account)
    for remote_id in ("boss", "room"):
        assert not cals[remote_id].import_meetings, "events of calendars one cannot write are not imported by default"
        with pytest.raises(ValidationError) as caught:
            set_default_calendar(hub, acme.alice, cals[remote_id].id)
        assert caught.value.field == "calendar" and caught.value.fix
        set_conflict(hub, acme.alice, cals[remote_id].id, True)
    cals = calendars(hub, acme.alice_account)
    assert cals["boss"].is_conflict and cals["boss"].sync_enabled and not cals["boss"].is_default
    assert cals["room"].is_conflict and cals["primary"].is_default


def test_a_read_only_primary_calendar_is_not_made_the_default(hub, backend, acme):
    account = backend.add_account("carol@acme.com", PASSWORD, calendars=())
    backend.add_calendar(account, "shared", primary=True, access_role="reader")
    with hub.db.session() as s:
        carol = User(email="carol@acme.com")
        s.add(carol)
        s.flush()
        carol_id = carol.id
    connected = connect(hub, carol_id, "carol@acme.com")
    assert not calendars(hub, connected)["shared"].is_default


def test_refresh_keeps_the_users_choices_and_drops_calendars_that_are_gone(hub, backend, acme):
    team = calendar_id(hub, acme.alice_account, "team")
    set_conflict(hub, acme.alice, team, True)
    set_preferences(hub, acme.alice, team, sync_direction="from_calendar", propagate_deletions=False,
                    appointment_type="Demo")
    backend.accounts[ALICE].calendars["team"].info.name = "Team (renamed)"
    backend.add_calendar(backend.accounts[ALICE], "holidays")
    refresh_calendars(hub, acme.alice_account)
    cals = calendars(hub, acme.alice_account)
    assert cals["team"].name == "Team (renamed)"
    assert (cals["team"].is_conflict, cals["team"].sync_direction, cals["team"].propagate_deletions,
            cals["team"].appointment_type) == (True, SyncDirection.FROM_CALENDAR, False, "Demo")
    assert not cals["holidays"].is_conflict and not cals["holidays"].sync_enabled

    del backend.accounts[ALICE].calendars["holidays"]
    refresh_calendars(hub, acme.alice_account)
    assert set(calendars(hub, acme.alice_account)) == {"primary", "team"}


def test_changing_the_default_moves_it_and_keeps_one_per_user(hub, acme):
    team = calendar_id(hub, acme.alice_account, "team")
    set_default_calendar(hub, acme.alice, team)
    cals = calendars(hub, acme.alice_account)
    assert cals["team"].is_default and cals["team"].is_conflict and cals["team"].sync_enabled
    assert not cals["primary"].is_default
    with pytest.raises(ValidationError):
        set_conflict(hub, acme.alice, team, False)  # the default always blocks time
    with pytest.raises(ValidationError):
        set_default_calendar(hub, acme.bob, cals["primary"].id)  # not Bob's calendar


def test_after_the_default_account_is_disconnected_the_next_account_provides_one(hub, backend, acme):
    disconnect_account(hub, acme.alice_account)
    with hub.db.session() as s:
        assert default_calendar(s, acme.alice) is None
    backend.add_account("alice.private@acme.com", PASSWORD)
    second = connect(hub, acme.alice, "alice.private@acme.com")
    with hub.db.session() as s:
        assert default_calendar(s, acme.alice).account_id == second
        assert s.get(Account, acme.alice_account).status.value == "disconnected"


def test_preferences_are_validated(hub, acme):
    primary = calendar_id(hub, acme.alice_account)
    with pytest.raises(ValidationError) as caught:
        set_preferences(hub, acme.alice, primary, sync_direction="sideways")
    assert caught.value.field == "sync_direction"
    with pytest.raises(ValidationError):
        set_preferences(hub, acme.alice, primary, sync_enabled=False)  # a conflict calendar stays synced
    set_preferences(hub, acme.alice, primary, sync_direction=SyncDirection.TO_CALENDAR, import_meetings=False)
    cal = calendars(hub, acme.alice_account)["primary"]
    assert cal.sync_direction == SyncDirection.TO_CALENDAR and not cal.import_meetings
