"""Plan limits: the per-user daily cap defers mail to the next day without losing or duplicating any;
the per-company mailbox cap leaves extra accounts Pending until a slot frees up."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from hub.accounts import disconnect_account, promote_pending_accounts
from hub.models import (
    Account,
    AccountStatus,
    MailMessage,
    MailUsage,
    Organization,
    Plan,
    TimelineEntry,
    User,
)
from hub.plugins import hookimpl
from hub.sync.mail import folder_progress, sync_folder
from hub.testing.memory import MemoryProvider
from tests.mail_corpus.world import connect, mail

ALICE = "alice@acme.com"
DAY1 = datetime(2030, 3, 4, 9, 0, tzinfo=timezone.utc)


def put_on_plan(hub, user_id: int, cap: int | None, name: str = "free") -> None:
    with hub.db.session() as s:
        plan = s.scalar(sa.select(Plan).where(Plan.name == name)) or Plan(name=name, daily_mail_cap=cap)
        s.add(plan)
        s.flush()
        s.get(User, user_id).plan_id = plan.id


def stored(hub) -> list[str]:
    with hub.db.session() as s:
        return sorted(s.scalars(sa.select(MailMessage.subject)).all())


def deliver(backend, email, folder, raw):
    """Mail that arrived just before the tests' first day (inside the initial window)."""
    backend.deliver(email, folder, raw, received=DAY1 - timedelta(hours=1))


def usage(hub, user_id) -> dict:
    with hub.db.session() as s:
        return {u.day: (u.count, u.deferred) for u in s.scalars(sa.select(MailUsage).where(MailUsage.user_id == user_id))}


def test_free_plan_syncs_100_a_day_and_defers_the_rest_to_the_next_day(hub, backend, acme):
    put_on_plan(hub, acme.alice, 100)
    backend.add_account(ALICE, "correct horse")
    for i in range(130):
        deliver(backend, ALICE, "inbox", mail("dan@globex.com", ALICE, f"m{i:03}"))
    account = connect(hub, backend, acme.alice, ALICE)

    first = sync_folder(hub, account, "inbox", now=DAY1)
    assert (first["stored"], first["deferred"]) == (100, True)
    assert folder_progress(hub, account)["inbox"] == (100, 130, False)

    calls = backend.calls["hub_sync_mail"]
    later_that_day = sync_folder(hub, account, "inbox", now=DAY1 + timedelta(hours=5))
    assert (later_that_day["stored"], later_that_day["deferred"]) == (0, True)
    assert backend.calls["hub_sync_mail"] == calls  # the cap is spent: the provider is not even asked

    next_day = sync_folder(hub, account, "inbox", now=DAY1 + timedelta(days=1))
    assert (next_day["stored"], next_day["deferred"], next_day["duplicates"]) == (30, False, 0)
    assert stored(hub) == [f"m{i:03}" for i in range(130)]
    with hub.db.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(TimelineEntry).where(
            TimelineEntry.contact_id == acme.dan)) == 130
    assert usage(hub, acme.alice) == {DAY1.date(): (100, True),
                                      (DAY1 + timedelta(days=1)).date(): (30, False)}


class IgnoresLimit(MemoryProvider):
    """A provider that hands over more than asked for (a sloppy plugin)."""

    @hookimpl
    def hub_sync_mail(self, account, folder, cursor, limit, since):
        return super().hub_sync_mail(account=account, folder=folder, cursor=cursor, limit=1000, since=since)


class TestProviderIgnoringTheLimit:
    @pytest.fixture
    def hub_plugins(self, backend):
        return [("memory", IgnoresLimit(backend))]

    def test_the_page_is_cut_at_the_cap_and_its_cursor_not_stored(self, hub, backend, acme):
        put_on_plan(hub, acme.alice, 4, name="tiny")
        account = connect(hub, backend, acme.alice, ALICE)
        for i in range(10):
            deliver(backend, ALICE, "inbox", mail("dan@globex.com", ALICE, f"m{i}"))
        first = sync_folder(hub, account, "inbox", now=DAY1)
        assert (first["fetched"], first["stored"], first["deferred"]) == (10, 4, True)
        assert usage(hub, acme.alice)[DAY1.date()] == (4, True)
        second = sync_folder(hub, account, "inbox", now=DAY1 + timedelta(days=1))
        assert (second["stored"], second["duplicates"], second["deferred"]) == (4, 4, True)
        third = sync_folder(hub, account, "inbox", now=DAY1 + timedelta(days=2))
        assert (third["stored"], third["deferred"]) == (2, False)
        assert stored(hub) == [f"m{i}" for i in range(10)]


def test_the_cap_is_per_user_across_folders_and_accounts(hub, backend, acme):
    put_on_plan(hub, acme.alice, 5, name="tiny")
    work = connect(hub, backend, acme.alice, ALICE)
    other = connect(hub, backend, acme.alice, "alice@acme.de")
    for i in range(3):
        deliver(backend, ALICE, "inbox", mail("dan@globex.com", ALICE, f"in{i}"))
        deliver(backend, ALICE, "sent", mail(ALICE, "dan@globex.com", f"out{i}"))
        deliver(backend, "alice@acme.de", "inbox", mail("dan@globex.com", "alice@acme.de", f"de{i}"))
    totals = [sync_folder(hub, a, f, now=DAY1)["stored"] for a, f in ((work, "inbox"), (work, "sent"), (other, "inbox"))]
    assert totals == [3, 2, 0]
    assert usage(hub, acme.alice)[DAY1.date()] == (5, True)


def test_users_without_a_plan_have_no_cap(hub, backend, acme):
    account = connect(hub, backend, acme.alice, ALICE)
    for i in range(120):
        deliver(backend, ALICE, "inbox", mail("x@example.org", ALICE, f"m{i}"))
    assert sync_folder(hub, account, "inbox", now=DAY1)["stored"] == 120


def test_the_day_is_the_users_local_day(hub, backend, acme):
    put_on_plan(hub, acme.alice, 2, name="tiny")
    with hub.db.session() as s:
        s.get(User, acme.alice).timezone = "America/New_York"
    account = connect(hub, backend, acme.alice, ALICE)
    for i in range(4):
        deliver(backend, ALICE, "inbox", mail("dan@globex.com", ALICE, f"m{i}"))
    late_evening_in_new_york = datetime(2030, 3, 5, 3, 0, tzinfo=timezone.utc)  # 22:00 on the 4th there
    assert sync_folder(hub, account, "inbox", now=late_evening_in_new_york)["stored"] == 2
    assert sync_folder(hub, account, "inbox", now=late_evening_in_new_york + timedelta(hours=1))["stored"] == 0
    assert sync_folder(hub, account, "inbox", now=late_evening_in_new_york + timedelta(hours=3))["stored"] == 2
    assert set(usage(hub, acme.alice)) == {datetime(2030, 3, 4).date(), datetime(2030, 3, 5).date()}


# --- the company's mailbox cap (hub/accounts.py) -------------------------------------------------


def status(hub, account_id) -> AccountStatus:
    with hub.db.session() as s:
        return s.get(Account, account_id).status


def set_mailbox_cap(hub, org_id: int, cap: int | None) -> None:
    with hub.db.session() as s:
        s.get(Organization, org_id).mailbox_cap = cap


def test_over_the_mailbox_cap_is_pending_until_another_user_disconnects(hub, backend, acme, worker):
    set_mailbox_cap(hub, acme.org, 1)
    alice = connect(hub, backend, acme.alice, ALICE)
    bob = connect(hub, backend, acme.bob, "bob@acme-research.org")
    assert (status(hub, alice), status(hub, bob)) == (AccountStatus.ENABLED, AccountStatus.PENDING)

    backend.deliver("bob@acme-research.org", "inbox", mail("dan@globex.com", "bob@acme-research.org", "for Bob"))
    from hub import jobs, work

    work.enqueue_mail_sync(hub, bob, "inbox")
    worker.drain()
    assert stored(hub) == []  # a Pending mailbox does not sync

    disconnect_account(hub, alice)
    assert status(hub, bob) == AccountStatus.ENABLED
    jobs.poll_all()
    worker.drain()
    assert stored(hub) == ["for Bob"]


def test_raising_the_cap_enables_pending_mailboxes_and_starts_their_sync(hub, backend, acme, worker):
    set_mailbox_cap(hub, acme.org, 1)
    connect(hub, backend, acme.alice, ALICE)
    bob = connect(hub, backend, acme.bob, "bob@acme-research.org")
    backend.deliver("bob@acme-research.org", "inbox", mail("dan@globex.com", "bob@acme-research.org", "for Bob"))
    worker.drain()
    assert status(hub, bob) == AccountStatus.PENDING
    set_mailbox_cap(hub, acme.org, 2)
    assert promote_pending_accounts(hub, acme.org) == [bob]
    assert status(hub, bob) == AccountStatus.ENABLED
    worker.drain()
    assert stored(hub) == ["for Bob"]
