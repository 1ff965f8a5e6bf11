"""A sales team for team meeting types: Alice and Bob of calendar_world's Acme plus Carol, each with a
connected, synced MemoryProvider calendar. Its fixture comes from tests/sync/calendar/conftest.py."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from hub.models import MeetingType, MeetingTypeMember, User
from tests.sync.calendar_world import PASSWORD, connect, meeting_type, sync

CAROL = "carol@acme.com"


@dataclass
class Team:
    alice: int
    bob: int
    carol: int
    accounts: dict[int, int]

    @property
    def members(self) -> list[int]:
        return [self.alice, self.bob, self.carol]


@pytest.fixture
def team(hub, backend, acme) -> Team:
    """Alice, Bob and Carol with synced calendars (Carol's account added at the provider)."""
    backend.add_account(CAROL, PASSWORD, "Carol")
    with hub.db.session() as s:
        alice = s.get(User, acme.alice)
        carol = User(email=CAROL, name="Carol", organization_id=alice.organization_id, timezone="Europe/Berlin")
        s.add(carol)
        s.flush()
        carol_id = carol.id
    accounts = {acme.alice: acme.alice_account, acme.bob: acme.bob_account, carol_id: connect(hub, carol_id, CAROL)}
    for account_id in accounts.values():
        sync(hub, account_id)
    return Team(acme.alice, acme.bob, carol_id, accounts)


def team_type(hub, team: Team, kind: str, slug: str, members=None, weights=None, **fields) -> int:
    """A team meeting type owned by Alice with ``members`` (default: all three)."""
    type_id = meeting_type(hub, team.alice, slug=slug, kind=kind, **fields)
    with hub.db.session() as s:
        mt = s.get(MeetingType, type_id)
        for uid in members or team.members:
            mt.members.append(MeetingTypeMember(user_id=uid, weight=(weights or {}).get(uid, 1)))
    return type_id
