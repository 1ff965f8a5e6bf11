"""The people, accounts and helpers the calendar, availability and booking tests share.

Acme runs the CRM on acme.com; everyone's calendar lives at the MemoryProvider:

* Alice (user, alice@acme.com) — connected with calendars "primary" and "team";
* Bob (user, bob@acme.com) — a colleague, connected with "primary";
* Dan (dan@globex.com) — a CRM contact at Globex; anyone else is unknown.

Its fixtures (``backend``, ``hub_plugins``, ``acme``) serve the tests in tests/sync/calendar/ through that
folder's conftest.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from hub.accounts import connect_account
from hub.models import (
    BusyBlock,
    Calendar,
    CalendarEvent,
    Company,
    CompanyDomain,
    Contact,
    ContactAddress,
    Meeting,
    MeetingType,
    Organization,
    OrganizationDomain,
    OutboxEntry,
    User,
)
from hub.sync import calendar_pull, calendar_push
from hub.sync.calendars import refresh_calendars
from hub.testing.memory import MemoryBackend, MemoryProvider
from hub.types import Participant, RemoteEvent

PASSWORD = "pw-for-tests"
ALICE, BOB, DAN = "alice@acme.com", "bob@acme.com", "dan@globex.com"


@dataclass
class Acme:
    """Ids of the people and accounts of the world."""

    alice: int
    bob: int
    dan: int
    globex: int
    alice_account: int
    bob_account: int


@pytest.fixture
def backend() -> MemoryBackend:
    """The provider side: Alice's and Bob's accounts at the MemoryProvider."""
    b = MemoryBackend(page_size=5)  # small pages, so syncs take several
    b.add_account(ALICE, PASSWORD, "Alice", calendars=("primary", "team"))
    b.add_account(BOB, PASSWORD, "Bob")
    return b


@pytest.fixture
def hub_plugins(backend):
    """Register the MemoryProvider on the test Hub."""
    return [("memory", MemoryProvider(backend))]


@pytest.fixture
def acme(hub, backend) -> Acme:
    """The organization, its users and contact, with Alice's and Bob's accounts connected."""
    with hub.db.session() as s:
        org = Organization(name="Acme", domains=[OrganizationDomain(domain="acme.com")])
        s.add(org)
        s.flush()
        alice = User(email=ALICE, name="Alice", organization_id=org.id, timezone="Europe/Berlin")
        bob = User(email=BOB, name="Bob", organization_id=org.id)
        globex = Company(name="Globex", domains=[CompanyDomain(domain="globex.com")])
        s.add_all([alice, bob, globex])
        s.flush()
        dan = Contact(name="Dan", company_id=globex.id, addresses=[ContactAddress(email=DAN)])
        s.add(dan)
        s.flush()
        ids = alice.id, bob.id, dan.id, globex.id
    alice_account = connect(hub, ids[0], ALICE)
    bob_account = connect(hub, ids[1], BOB)
    return Acme(*ids, alice_account, bob_account)


def connect(hub, user_id: int, email: str) -> int:
    """Connect ``email``'s MemoryProvider account for ``user_id`` and read its calendar list."""
    account_id = connect_account(hub, user_id, "memory", {"email": email, "password": PASSWORD})
    refresh_calendars(hub, account_id)
    return account_id


def calendar_id(hub, account_id: int, remote_id: str = "primary") -> int:
    """The hub's id of an account's calendar."""
    with hub.db.session() as s:
        return s.scalar(sa.select(Calendar.id).where(Calendar.account_id == account_id, Calendar.remote_id == remote_id))


def sync(hub, account_id: int, remote_id: str = "primary", **kw) -> dict:
    """Pull one calendar now."""
    return calendar_pull.sync_calendar(hub, account_id, calendar_id(hub, account_id, remote_id), **kw)


def push(hub, account_id: int, **kw) -> dict:
    """Push the account's outbox now."""
    return calendar_push.push_outbox(hub, account_id, **kw)


def day(days: int) -> date:
    """The date ``days`` from today."""
    return date.today() + timedelta(days=days)


def at(days: int, hour: int, minute: int = 0, tz=timezone.utc) -> datetime:
    """``days`` from today at ``hour:minute`` in ``tz``."""
    return datetime.combine(day(days), time(hour, minute), tz)


def event(summary: str, start: datetime, minutes: int = 60, attendees=(), organizer: str | None = None,
          **fields) -> RemoteEvent:
    """A RemoteEvent as someone would create it in their calendar app."""
    people = [Participant(a) if isinstance(a, str) else a for a in attendees]
    return RemoteEvent(remote_id="", start=start, end=start + timedelta(minutes=minutes), summary=summary,
                       attendees=people, organizer=Participant(organizer, organizer=True) if organizer else None,
                       **fields)


def meetings(hub, *where) -> list[Meeting]:
    """Meetings (participants loaded), oldest first."""
    with hub.db.session() as s:
        rows = s.scalars(sa.select(Meeting).where(*where).order_by(Meeting.id)).all()
        for m in rows:
            m.participants  # noqa: B018 (load while the session is open)
        return rows


def live_meetings(hub) -> list[Meeting]:
    """Meetings that are not cancelled."""
    return meetings(hub, Meeting.cancelled.is_(False))


def links(hub, meeting_id: int) -> list[CalendarEvent]:
    """The calendar events a meeting is linked to."""
    with hub.db.session() as s:
        return s.scalars(sa.select(CalendarEvent).where(CalendarEvent.meeting_id == meeting_id)).all()


def busy_blocks(hub, cal_id: int) -> list[tuple[datetime, datetime]]:
    """A calendar's busy blocks, sorted."""
    with hub.db.session() as s:
        return sorted(s.execute(sa.select(BusyBlock.start, BusyBlock.end).where(BusyBlock.calendar_id == cal_id)).all())


def outbox(hub, *where) -> list[OutboxEntry]:
    """Outbox entries, oldest first."""
    with hub.db.session() as s:
        return s.scalars(sa.select(OutboxEntry).where(*where).order_by(OutboxEntry.id)).all()


def remote_events(backend: MemoryBackend, email: str = ALICE, calendar: str = "primary") -> list[RemoteEvent]:
    """The live events on a calendar at the provider."""
    return [e for e in backend.events(email, calendar) if e.status != "cancelled"]


def meeting_type(hub, user_id: int, slug: str = "alice-30", **fields) -> int:
    """A meeting type: 30 minutes, Mondays to Fridays 09:00–17:00 Berlin time unless ``fields`` say otherwise."""
    values = dict(name="Intro call", duration_minutes=30, slot_step_minutes=30, timezone="Europe/Berlin",
                  weekly_hours={d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
                  min_notice_minutes=0, horizon_days=60, buffer_before_minutes=0, buffer_after_minutes=0,
                  want_video=True, active=True)
    values.update(fields)
    with hub.db.session() as s:
        row = MeetingType(user_id=user_id, slug=slug, **values)
        s.add(row)
        s.flush()
        return row.id


def next_weekday(weekday: int, at_least: int = 3) -> date:
    """The first date at least ``at_least`` days ahead falling on ``weekday`` (0 = Monday)."""
    d = date.today() + timedelta(days=at_least)
    return d + timedelta(days=(weekday - d.weekday()) % 7)


def local(d: date, hour: int, minute: int = 0, tz: str = "Europe/Berlin") -> datetime:
    """``hour:minute`` on ``d`` in ``tz``, as UTC."""
    return datetime.combine(d, time(hour, minute), ZoneInfo(tz)).astimezone(timezone.utc)
