"""Models and migrations: the same schema on SQLite and PostgreSQL, built by Alembic."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.exc import IntegrityError

from hub.models import (
    Account,
    AccountStatus,
    Base,
    Calendar,
    CalendarEvent,
    Company,
    CompanyDomain,
    Contact,
    ContactAddress,
    MailMessage,
    Meeting,
    MeetingParticipant,
    OutboxEntry,
    SyncCursor,
    User,
    UserAlias,
)


# expression indexes (lower(email)) cannot be reflected, so they are left out of the comparison
@pytest.mark.filterwarnings("ignore:.*expression-based index")
def test_migrations_match_the_models(hub):
    """`alembic upgrade head` builds exactly what the models describe — no drift, either way."""
    with hub.db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []


def test_upgrade_is_idempotent(hub):
    def version() -> str:
        with hub.db.engine.connect() as conn:
            return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one()

    before = version()
    hub.db.upgrade()
    from alembic.script import ScriptDirectory

    from hub.database import alembic_config

    head = ScriptDirectory.from_config(alembic_config(str(hub.db.engine.url))).get_current_head()
    assert version() == before == head


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


def test_an_opportunitys_one_contact_moves_into_its_contacts_and_back(tmp_path):
    """The migration to several contacts per opportunity keeps each opportunity's contact (both ways)."""
    from alembic import command

    from hub.database import Database, alembic_config, make_engine

    url = f"sqlite:///{tmp_path / 'old.db'}"
    cfg = alembic_config(url)
    command.upgrade(cfg, "issue20_sign_in_sessions")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO contacts (id, name, is_lead, source, created_at, updated_at) "
                                 "VALUES (1, 'Dan', false, 'crm', '2026-01-01', '2026-01-01')"))
            conn.execute(sa.text("INSERT INTO opportunities (id, name, contact_id, stage, is_open, created_at, "
                                 "updated_at) VALUES (1, 'Deal', 1, '', true, '2026-01-01', '2026-01-01'), "
                                 "(2, 'No one', NULL, '', true, '2026-01-01', '2026-01-01')"))
            conn.execute(sa.text("INSERT INTO users (id, email, name, role, timezone, active, bcc_token, "
                                 "created_at, updated_at) VALUES (1, 'a@corp.test', 'A', 'salesperson', 'UTC', "
                                 "true, 'x', '2026-01-01', '2026-01-01')"))
            conn.execute(sa.text("INSERT INTO timeline_entries (id, kind, user_id, opportunity_id, at) "
                                 "VALUES (1, 'mail', 1, 1, '2026-01-01')"))
        Database(url).upgrade()  # as `hub` runs it
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT opportunity_id, contact_id FROM opportunity_contacts")).all() == [(1, 1)]
            assert conn.execute(sa.text("SELECT opportunity_id FROM timeline_entries")).all() == [(1,)]
        command.downgrade(alembic_config(url), "issue20_sign_in_sessions")  # as `alembic downgrade` runs it
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT id, contact_id FROM opportunities ORDER BY id")).all() == [(1, 1), (2, None)]
            assert conn.execute(sa.text("SELECT opportunity_id FROM timeline_entries")).all() == [(1,)]
    finally:
        engine.dispose()


def test_upgrading_an_sqlite_database_with_data_loses_none_of_it(tmp_path):
    """SQLite alters a table by copying it and dropping the old one; with foreign keys on, that drop
    would cascade to every row pointing at the table (0003 copies contacts and opportunities)."""
    from alembic import command

    from hub.database import Database, alembic_config, make_engine

    url = f"sqlite:///{tmp_path / 'old.db'}"
    command.upgrade(alembic_config(url), "issue19_recipient_count")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            for statement in (
                "INSERT INTO users (id, email, name, role, timezone, active, bcc_token, created_at, updated_at) "
                "VALUES (1, 'a@corp.test', 'A', 'salesperson', 'UTC', true, 'x', '2026-01-01', '2026-01-01')",
                "INSERT INTO contacts (id, name, is_lead, source, created_at, updated_at) "
                "VALUES (1, 'Dan', false, 'crm', '2026-01-01', '2026-01-01')",
                "INSERT INTO contact_addresses (id, contact_id, email) VALUES (1, 1, 'dan@globex.test')",
                "INSERT INTO opportunities (id, name, contact_id, is_open, created_at, updated_at) "
                "VALUES (1, 'Deal', 1, true, '2026-01-01', '2026-01-01')",
                "INSERT INTO timeline_entries (id, kind, user_id, contact_id, at) VALUES (1, 'mail', 1, 1, '2026-01-01')",
                "INSERT INTO timeline_entries (id, kind, user_id, opportunity_id, at) "
                "VALUES (2, 'mail', 1, 1, '2026-01-01')",
            ):
                conn.execute(sa.text(statement))
        Database(url).upgrade()  # as `hub` runs it
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT email FROM contact_addresses")).scalars().all() == ["dan@globex.test"]
            assert conn.execute(sa.text("SELECT id FROM timeline_entries ORDER BY id")).scalars().all() == [1, 2]
            assert conn.execute(sa.text("SELECT opportunity_id, contact_id FROM opportunity_contacts")).all() == [(1, 1)]
            assert conn.execute(sa.text("PRAGMA foreign_keys")).scalar() == 1
    finally:
        engine.dispose()
