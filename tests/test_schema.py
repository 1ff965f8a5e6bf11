"""Models and migrations: the same schema on SQLite and PostgreSQL, built by Alembic."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.exc import IntegrityError

from hub.models import (
    Account, AccountStatus, Base, Calendar, CalendarEvent, Company, CompanyDomain, Contact,
    ContactAddress, MailMessage, Meeting, MeetingParticipant, OutboxEntry, SyncCursor, User, UserAlias,
)


def test_migrations_match_the_models(hub):
    """`alembic upgrade head` builds exactly what the models describe — no drift, either way."""
    with hub.db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []


def test_upgrade_is_idempotent(hub):
    hub.db.upgrade()
    with hub.db.engine.connect() as conn:
        version = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one()
    from alembic.script import ScriptDirectory

    from hub.database import alembic_config

    assert version == ScriptDirectory.from_config(alembic_config(str(hub.db.engine.url))).get_current_head()


def test_datetimes_come_back_aware_utc(hub, make_user):
    uid = make_user("a@corp.test")
    start = datetime(2026, 3, 29, 1, 30, tzinfo=timezone(timedelta(hours=1)))
    with hub.db.session() as s:
        s.add(Meeting(owner_user_id=uid, title="t", start=start, end=start + timedelta(hours=1)))
    with hub.db.session() as s:
        m = s.scalars(sa.select(Meeting)).one()
        assert m.start == start and m.start.tzinfo is not None and m.start.utcoffset() == timedelta(0)


def test_naive_datetimes_are_refused(hub, make_user):
    uid = make_user("a@corp.test")
    with pytest.raises(sa.exc.StatementError):
        with hub.db.session() as s:
            s.add(Meeting(owner_user_id=uid, title="t", start=datetime(2026, 1, 1)))


def test_people_graph_users_aliases_companies_contacts(hub, make_user):
    uid = make_user("ann@corp.test")
    with hub.db.session() as s:
        s.add(UserAlias(user_id=uid, email="ann@corp-eu.test"))
        acme = Company(name="Acme", domains=[CompanyDomain(domain="acme.test"), CompanyDomain(domain="acme.example")])
        s.add(Contact(name="Bob", company=acme, addresses=[ContactAddress(email="bob@acme.test"),
                                                             ContactAddress(email="bob@acme.example")]))
    with hub.db.session() as s:
        contact = s.scalars(sa.select(Contact)).one()
        assert {a.email for a in contact.addresses} == {"bob@acme.test", "bob@acme.example"}
        assert {d.domain for d in contact.company.domains} == {"acme.test", "acme.example"}
        assert s.get(User, uid).aliases[0].email == "ann@corp-eu.test"


def test_contact_address_is_unique(hub):
    with pytest.raises(IntegrityError):
        with hub.db.session() as s:
            s.add(Contact(addresses=[ContactAddress(email="x@y.test")]))
            s.add(Contact(addresses=[ContactAddress(email="x@y.test")]))


def test_calendar_event_is_unique_per_calendar_and_remote_id(hub, make_user):
    uid = make_user("a@corp.test")
    with hub.db.session() as s:
        acc = Account(user_id=uid, provider="memory", email="a@corp.test", credentials={"p": 1})
        s.add(acc)
        s.flush()
        cal = Calendar(account_id=acc.id, remote_id="primary")
        s.add(cal)
        s.flush()
        cal_id = cal.id
        s.add(CalendarEvent(calendar_id=cal_id, remote_id="e1", start_date=date(2026, 1, 1), all_day=True))
    with pytest.raises(IntegrityError):
        with hub.db.session() as s:
            s.add(CalendarEvent(calendar_id=cal_id, remote_id="e1"))


def test_deleting_an_account_cascades_to_its_sync_state(hub, make_user):
    uid = make_user("a@corp.test")
    with hub.db.session() as s:
        acc = Account(user_id=uid, provider="memory", email="a@corp.test")
        s.add(acc)
        s.flush()
        cal = Calendar(account_id=acc.id, remote_id="primary")
        s.add(cal)
        s.flush()
        s.add_all([
            SyncCursor(account_id=acc.id, kind="calendar", key="primary", cursor="c1"),
            OutboxEntry(account_id=acc.id, calendar_id=cal.id, op="create", client_id="x"),
            MailMessage(account_id=acc.id, user_id=uid, folder="inbox", remote_id="1"),
        ])
        acc_id = acc.id
    with hub.db.session() as s:
        s.delete(s.get(Account, acc_id))
    with hub.db.session() as s:
        for model in (Calendar, SyncCursor, OutboxEntry, MailMessage):
            assert s.scalar(sa.select(sa.func.count()).select_from(model)) == 0


def test_account_status_enum_round_trips(hub, make_user):
    uid = make_user("a@corp.test")
    with hub.db.session() as s:
        s.add(Account(user_id=uid, provider="memory", email="a@corp.test", status=AccountStatus.PENDING))
    with hub.db.engine.connect() as conn:
        raw = conn.execute(sa.text("SELECT status FROM accounts")).scalar_one()
    assert raw == "pending"


def test_meeting_participants_unique_per_meeting(hub, make_user):
    uid = make_user("a@corp.test")
    with pytest.raises(IntegrityError):
        with hub.db.session() as s:
            s.add(Meeting(owner_user_id=uid, participants=[MeetingParticipant(email="x@y.test"),
                                                           MeetingParticipant(email="x@y.test")]))
