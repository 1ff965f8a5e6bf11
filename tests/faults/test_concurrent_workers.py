"""Two workers on one calendar at once: a push storing the events it just made while a pull brings the
same new events in. On PostgreSQL both transactions used to insert the same event row and one job
died on the unique key (an "unexpected error" in the user's error log); the calendar's row lock now
serializes them. Meant for CI's PostgreSQL pass (on SQLite the database write lock serializes anyway).
"""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from hub import work
from hub.crm import meetings
from hub.models import AccountError
from tests.faults.driving import (
    WorkerProcess,
    drain_until_quiet,
    failed_jobs,
    quiet,
    wait_for,
)
from tests.faults.worlds import CrmEdits, at, default_calendar_id

pytestmark = pytest.mark.faults

ROUNDS = 30


def test_a_push_and_a_pull_of_one_calendar_at_the_same_time(hub, make_user, google, tmp_path):
    user_id = make_user(google.email)
    google.seed(events=4, messages=1)
    account_id = google.connect(hub, user_id)
    drain_until_quiet(hub)
    crm, calendar_id = CrmEdits(hub, user_id), default_calendar_id(hub, account_id)
    workers = [WorkerProcess(hub, "google", tmp_path / f"worker{i}.log") for i in range(2)]
    try:
        for n in range(ROUNDS):  # each round: new CRM meetings to push, a change in Google, a pull
            for k in range(2):
                title = f"CRM meeting {n}.{k}"
                crm.alive[title] = meetings.create_meeting(hub, user_id, title, at(2 + n % 20, 8 + k),
                                                           at(2 + n % 20, 9 + k))
            google.add_event(3 + n % 20, 14)
            work.enqueue_calendar_sync(hub, account_id, calendar_id)
            time.sleep(0.15)
        wait_for(lambda: quiet(hub), workers[0], timeout=120)
    finally:
        for w in workers:
            w.stop()
    with hub.db.session() as s:
        errors = s.scalars(sa.select(AccountError.error).where(AccountError.account_id == account_id)).all()
    assert "InternalError" not in errors, errors
    assert not failed_jobs(hub)
    google.assert_agrees(hub, account_id, crm)

