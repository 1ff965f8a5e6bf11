"""The stuck-sync reconciler (:mod:`hub.jobs.reconciler`): what it re-enqueues, what it leaves alone.

Each test makes the database say something happened long ago (or moves the reconciler's clock) and
checks the jobs it queues. That abandoned jobs of a killed worker are recovered is shown end to end
in ``test_worker_kill.py``; that lost queues are re-derived, in ``test_redis_restart.py``.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from hub import jobs
from hub.crm import meetings
from hub.jobs.reconciler import OVERDUE_POLLS, reconcile
from hub.jobs.schedule import periodic_jobs
from hub.models import Account, AccountStatus, Calendar, OutboxEntry, SyncCursor, utcnow
from tests.faults.driving import drain_until_quiet, let_backoffs_expire
from tests.faults.worlds import at

pytestmark = pytest.mark.faults


@pytest.fixture
def synced(hub, make_user, google):
    """Alice's Google account after its first sync: (user id, account id, calendar id)."""
    google.seed(events=3, messages=2)
    user_id = make_user(google.email)
    account_id = google.connect(hub, user_id)
    drain_until_quiet(hub)
    with hub.db.session() as s:
        calendar_id = s.scalar(sa.select(Calendar.id).where(Calendar.account_id == account_id,
                                                             Calendar.sync_enabled.is_(True)))
    return user_id, account_id, calendar_id


def overdue() -> timedelta:
    return timedelta(seconds=OVERDUE_POLLS * 300 + 60)


def flush_queues(hub) -> None:
    """Redis lost everything (restart without persistence)."""
    hub.queues.connection.flushdb()


def test_fresh_syncs_are_left_alone(hub, synced):
    assert reconcile(hub).syncs == [] and reconcile(hub).pushes == []


def test_overdue_syncs_are_enqueued_once(hub, synced):
    _, account_id, calendar_id = synced
    later = utcnow() + overdue()
    report = reconcile(hub, now=later)
    assert sorted(report.syncs) == sorted([f"sync-cal-{account_id}-{calendar_id}", f"sync-mail-{account_id}-inbox",
                                           f"sync-mail-{account_id}-sent"])
    assert reconcile(hub, now=later).syncs == []  # queued already: not twice
    drain_until_quiet(hub)
    assert reconcile(hub, now=utcnow() + timedelta(minutes=1)).syncs == []  # they just finished


def test_a_sync_that_started_long_ago_and_never_finished_is_resumed(hub, synced):
    _, account_id, calendar_id = synced
    with hub.db.session() as s:  # a worker died in the middle of a full resync twenty minutes ago
        cursor = s.scalars(sa.select(SyncCursor).where(SyncCursor.kind == "calendar")).one()
        cursor.started_at, cursor.finished_at, cursor.full_pass = utcnow() - timedelta(minutes=20), None, True
    report = reconcile(hub)
    assert report.syncs == [f"sync-cal-{account_id}-{calendar_id}"]


def test_accounts_that_must_not_sync_are_left_alone(hub, synced):
    _, account_id, _ = synced
    flush_queues(hub)
    later = utcnow() + overdue()
    for change in ({"needs_reconnect": True}, {"status": AccountStatus.CONNECTION},
                   {"status": AccountStatus.PENDING}, {"status": AccountStatus.DISCONNECTED}):
        with hub.db.session() as s:
            account = s.get(Account, account_id)
            account.status, account.needs_reconnect = AccountStatus.ENABLED, False
            for key, value in change.items():
                setattr(account, key, value)
        assert reconcile(hub, now=later).syncs == [], change


def test_an_account_that_never_got_its_calendar_list_is_synced_from_the_top(hub, make_user, google):
    account_id = google.connect(hub, make_user(google.email))
    flush_queues(hub)  # its first sync was queued in a Redis that is gone
    assert reconcile(hub).syncs == []  # just connected: the first sync may still be on its way
    assert reconcile(hub, now=utcnow() + overdue()).syncs == [f"sync-account-{account_id}"]


def test_unacknowledged_outbox_rows_get_a_push(hub, synced):
    user_id, account_id, _ = synced
    meetings.create_meeting(hub, user_id, "Kick-off", at(2, 9), at(2, 10))  # queues the push job too
    later = utcnow() + timedelta(minutes=5)
    assert reconcile(hub, now=later).pushes == []  # its push job is queued
    flush_queues(hub)
    assert reconcile(hub).pushes == []  # too young: the request that wrote it is still enqueueing
    assert reconcile(hub, now=later).pushes == [account_id]
    assert reconcile(hub, now=later).pushes == []
    flush_queues(hub)
    with hub.db.session() as s:  # in a backoff after a failed attempt: its time has not come
        s.scalars(sa.select(OutboxEntry)).one().next_attempt_at = later + timedelta(minutes=10)
    assert reconcile(hub, now=later).pushes == []
    assert reconcile(hub, now=later + timedelta(minutes=11)).pushes == [account_id]
    let_backoffs_expire(hub)  # the clock really moves on for the push job, too
    drain_until_quiet(hub)
    assert reconcile(hub, now=later + timedelta(minutes=11)).pushes == []  # acknowledged: nothing left


def test_the_reconciler_runs_as_a_periodic_job(hub, synced):
    assert (jobs.reconcile, "default", 300) in periodic_jobs(hub)
    job = hub.queues.enqueue("default", jobs.reconcile)
    drain_until_quiet(hub)
    assert job.latest_result().return_value == "abandoned 0, syncs 0, pushes 0, notices 0"
