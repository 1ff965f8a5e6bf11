"""The database goes away for a while — PostgreSQL in a private cluster, stopped like a crash
(``pg_ctl -m immediate``) in the middle of a sync page and with more work queued behind it. Jobs
fail, are retried by RQ (nothing dropped, nothing marked failed for good), and complete once the
database is back; hub and provider then agree exactly.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from rq import SimpleWorker

from hub import jobs, work
from hub.models import Account, AccountStatus, Booking, MeetingType, Role, User
from hub.testing.fixtures import _migrated
from tests.faults.accounts import set_provider_config
from tests.faults.driving import (
    QUEUES,
    drain_until_quiet,
    failed_jobs,
    promote_scheduled,
)
from tests.faults.flaky import slow_down
from tests.faults.worlds import CrmEdits

pytestmark = pytest.mark.faults


@pytest.fixture
def hub_db_url(private_postgres):
    server = sa.create_engine(private_postgres.url, isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(sa.text("CREATE DATABASE hub"))
    server.dispose()
    return _migrated(private_postgres.url.rsplit("/", 1)[0] + "/hub")


def scheduled(hub) -> set[str]:
    """Ids of the jobs waiting for a retry."""
    return {j for q in hub.queues.by_name.values() for j in q.scheduled_job_registry.get_job_ids()}


def test_jobs_fail_retry_and_complete_after_a_database_outage(hub, make_user, google, private_postgres):
    user_id = make_user(google.email)
    google.seed(events=12, messages=3)
    account_id = google.connect(hub, user_id)
    drain_until_quiet(hub)
    crm = CrmEdits(hub, user_id)
    crm.round(0)
    google.remote_changes(0)
    set_provider_config(hub, "google", {**google.config(page_size=4), "timeout": "30"})
    jobs.poll_all()
    work.enqueue_calendar_sync(hub, account_id, 1, full=True)  # a full resync: several pages, the crash between two

    # the database dies while the calendar sync waits for its second page
    fault = slow_down(google, f"/calendar/v3/calendars/{google.email}/events", "GET", skip=1, delay=1.0)

    def crash_when_hit():
        for _ in range(3000):
            if fault.hits:
                private_postgres.stop()
                return
            threading.Event().wait(0.01)

    crasher = threading.Thread(target=crash_when_hit)
    crasher.start()
    SimpleWorker([hub.queues.by_name[q] for q in QUEUES], connection=hub.queues.connection).work(burst=True)
    crasher.join(timeout=30)
    assert fault.hits == 1
    # every job failed on the database and waits for its retry: none lost, none given up
    waiting = {f"sync-cal-{account_id}-1", f"push-{account_id}", f"sync-mail-{account_id}-inbox"}
    assert waiting <= scheduled(hub) and not failed_jobs(hub)

    promote_scheduled(hub)  # the first retry, the database still down
    SimpleWorker([hub.queues.by_name[q] for q in QUEUES], connection=hub.queues.connection).work(burst=True)
    assert waiting <= scheduled(hub) and not failed_jobs(hub)

    private_postgres.start()
    drain_until_quiet(hub)
    assert not failed_jobs(hub)
    google.assert_agrees(hub, account_id, crm)
    with hub.db.session() as s:
        assert s.get(Account, account_id).status == AccountStatus.ENABLED


def test_web_answers_503_while_the_database_is_down_then_serves_again(hub, client, private_postgres):
    with hub.db.session() as s:
        host = User(email="host@example.com", role=Role.SALESPERSON)
        s.add(host)
        s.flush()
        s.add(MeetingType(user_id=host.id, name="Intro", slug="intro", duration_minutes=30, timezone="UTC",
                          weekly_hours={d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
                          min_notice_minutes=0, horizon_days=30, slot_step_minutes=30))
    assert client.get("/api/v1/meeting-types/intro/availability").status_code == 200

    private_postgres.stop()
    answer = client.get("/api/v1/meeting-types/intro/availability")
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "30"
    assert answer.get_json()["message"].startswith("The hub's database is not answering")
    assert answer.get_json()["fix"] == "Try again in a minute."
    start = (datetime.now(timezone.utc) + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    booking = client.post("/api/v1/bookings", json={"slug": "intro", "start": start.isoformat(),
                                                    "guest_name": "Guest", "guest_email": "guest@example.org"})
    assert booking.status_code == 503
    page = client.get("/book/intro")
    assert page.status_code == 503 and "Try again in a minute." in page.get_data(as_text=True)

    private_postgres.start()
    again = client.get("/api/v1/meeting-types/intro/availability")
    assert again.status_code == 200 and again.get_json()["slots"]
    assert client.get("/book/intro").status_code == 200
    with hub.db.session() as s:  # the refused attempt left nothing behind
        assert s.scalar(sa.select(sa.func.count()).select_from(Booking)) == 0
