"""Redis restarts in the middle of a run. The database is the source of truth: queued work either
survives (Redis with AOF, as docs/deployment.md asks) or is re-derived from the outbox and the sync
cursors by the reconciler (Redis without persistence — every queued job is gone).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from hub import jobs
from hub.jobs.reconciler import reconcile
from hub.models import utcnow
from tests.faults.accounts import set_provider_config
from tests.faults.driving import (
    WorkerProcess,
    drain_until_quiet,
    pending_jobs,
    quiet,
    wait_for,
)
from tests.faults.flaky import slow_down
from tests.faults.worlds import CrmEdits

pytestmark = pytest.mark.faults


@pytest.fixture(params=["no persistence", "aof"])
def redis_server(request, tmp_path):
    from tests.faults.servers import PrivateRedis

    folder = tmp_path / "redis"
    folder.mkdir()
    server = PrivateRedis(folder, aof=request.param == "aof").start()
    yield server
    server.stop()


@pytest.fixture
def hub_redis_url(redis_server):
    return redis_server.url


def work_waiting(hub, google, crm: CrmEdits, n: int) -> None:
    """Changes on both sides, a poll — and the jobs they queued not run yet."""
    google.remote_changes(n)
    crm.round(n)
    jobs.poll_all()
    assert pending_jobs(hub) > 0


def test_work_queued_when_redis_restarts_is_not_lost(hub, make_user, google, redis_server):
    user_id = make_user(google.email)
    google.seed(events=10, messages=3)
    account_id = google.connect(hub, user_id)
    drain_until_quiet(hub)
    crm = CrmEdits(hub, user_id)
    for n in range(3):
        work_waiting(hub, google, crm, n)
        queued = pending_jobs(hub)
        redis_server.restart()
        if redis_server.aof:
            assert pending_jobs(hub) == queued  # the append-only file kept every queued job
        else:
            assert pending_jobs(hub) == 0  # gone: the reconciler must find the work in the database
            report = reconcile(hub, now=utcnow() + timedelta(minutes=16))
            assert report.pushes == [account_id] and report.syncs
        drain_until_quiet(hub)
        google.assert_agrees(hub, account_id, crm)


def test_redis_restarting_under_a_running_worker(hub, make_user, google, redis_server, tmp_path):
    """A real ``hub worker`` is in the middle of a sync page when Redis goes away and comes back: the
    worker reconnects and finishes its job; what was queued behind it survives (AOF) or is
    re-derived by the reconciler."""
    user_id = make_user(google.email)
    google.seed(events=12, messages=2)
    account_id = google.connect(hub, user_id)  # queues the account's first sync
    set_provider_config(hub, "google", {**google.config(page_size=4), "timeout": "60"})
    fault = slow_down(google, f"/calendar/v3/calendars/{google.email}/events", "GET", skip=1, delay=3)
    worker = WorkerProcess(hub, "google", tmp_path / "worker.log")
    try:
        wait_for(lambda: fault.hits, worker)  # the calendar sync's second page is under way
        redis_server.restart()
        wait_for(lambda: quiet(hub), worker)
        if not redis_server.aof:
            reconcile(hub, now=utcnow() + timedelta(minutes=16))  # the mail syncs queued behind it were lost
            wait_for(lambda: quiet(hub), worker)
        assert worker.process.poll() is None, "the worker did not survive the Redis restart"
    finally:
        worker.stop()
    google.assert_agrees(hub, account_id)
