"""A worker machine dies (SIGKILL to ``hub worker`` and anything it started) in the middle of a sync page
and in the middle of a push. The sandbox is made slow at exactly that request so the kill lands
there. Recovery is what production does: the reconciler hands the abandoned job to RQ's cleanup
(once its heartbeat has run out — the clock is moved instead of waiting 90 s), and a fresh worker
finishes it. Nothing may be lost, nothing doubled: events, messages, meetings, invitations.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
import sqlalchemy as sa

from hub.crm import meetings
from hub.jobs.reconciler import reconcile
from hub.models import CalendarEvent, SyncCursor, utcnow
from hub.testing.waiting import wait_until
from tests.faults import agreement
from tests.faults.accounts import set_provider_config
from tests.faults.driving import WorkerProcess, drain_until_quiet, promote_scheduled
from tests.faults.flaky import NthRequest, slow_down
from tests.faults.worlds import CrmEdits, at

pytestmark = pytest.mark.faults

def kill_when_hit(worker: WorkerProcess, fault: NthRequest, *, and_then: Callable[[], bool] = lambda: True) -> None:
    """SIGKILL the worker while the sandbox holds the slowed request (it counts the hit on arrival), once
    ``and_then`` also holds (what the worker does meanwhile, without that request)."""
    def reached() -> bool:
        assert worker.process.poll() is None, worker.output()[-3000:]
        return bool(fault.hits) and and_then()

    wait_until(reached, what="the worker to reach the slowed request")
    worker.kill()


def recover(hub, tmp_path) -> list[str]:
    """What happens after the crash: the reconciler runs (heartbeats have run out by then), RQ's
    retry delay passes, a fresh worker finishes the work. Returns the recovered job ids."""
    report = reconcile(hub, now=utcnow() + timedelta(minutes=3))
    promote_scheduled(hub)
    worker = WorkerProcess(hub, "google", tmp_path / "worker-2.log", burst=True)
    assert worker.wait(timeout=120) == 0, worker.output()[-3000:]
    drain_until_quiet(hub)  # anything the recovered jobs enqueued (a push after the sync, …)
    return report.abandoned


@pytest.fixture
def google_account(hub, make_user, google):
    """Alice's Google account, connected; a long client timeout, so only the kill interrupts."""
    user_id = make_user(google.email)
    account_id = google.connect(hub, user_id)
    set_provider_config(hub, "google", {**google.config(page_size=4), "timeout": "60"})
    return user_id, account_id


def test_sigkill_in_the_middle_of_a_sync_page_loses_and_doubles_nothing(hub, google, google_account, tmp_path):
    _, account_id = google_account
    google.seed(events=20, messages=5)
    events_path = f"/calendar/v3/calendars/{google.email}/events"
    fault = slow_down(google, events_path, "GET", skip=2)  # pages 1 and 2 get through, page 3 hangs

    def calendar_cursor() -> SyncCursor:
        with hub.db.session() as s:
            return s.scalars(sa.select(SyncCursor).where(SyncCursor.kind == "calendar")).one()

    worker = WorkerProcess(hub, "google", tmp_path / "worker-1.log")
    # the engine asks for page 3 while it stores page 2 (it reads a page ahead): the kill lands once
    # page 2 is stored and page 3 is held, not at a moment that depends on which of the two came first
    kill_when_hit(worker, fault, and_then=lambda: calendar_cursor().progress_done >= 8)
    cursor = calendar_cursor()  # the crash left a sync half done: two pages stored, no finish
    assert (cursor.progress_done, cursor.full_pass, cursor.finished_at) == (8, True, None)

    recovered = recover(hub, tmp_path)
    assert any(job_id.startswith("sync-cal-") for job_id in recovered)
    google.assert_agrees(hub, account_id)
    assert len(agreement.hub_events(hub, account_id)) == 20


def test_sigkill_in_the_middle_of_a_push_sends_each_event_and_invitation_once(hub, google, google_account,
                                                                              tmp_path):
    user_id, account_id = google_account
    google.seed(events=3, messages=1)
    drain_until_quiet(hub)  # the initial sync, so the CRM has a default calendar to push to
    crm = CrmEdits(hub, user_id)
    for n in range(3):
        title = f"CRM meeting {n}"
        crm.alive[title] = meetings.create_meeting(hub, user_id, title, at(3 + n, 9), at(3 + n, 10),
                                                   attendees=["guest@example.org", "ana@northwind.example"])
    # the second create hangs at Google — and is carried out there after the worker is dead
    fault = slow_down(google, f"/calendar/v3/calendars/{google.email}/events", "POST", skip=1)

    worker = WorkerProcess(hub, "google", tmp_path / "worker-1.log")
    kill_when_hit(worker, fault)

    def created() -> list:
        return [i for i in google.state.invitations if i["method"] == "created"]

    # Google finishes the held request after the worker died: two events exist, the hub heard of one at most
    wait_until(lambda: len(created()) == 2, what="the sandbox to carry out the held create")
    assert [i["summary"] for i in created()] == ["CRM meeting 0", "CRM meeting 1"] and not linked_events(hub)

    recovered = recover(hub, tmp_path)
    assert f"push-{account_id}" in recovered
    google.assert_agrees(hub, account_id, crm)
    invited = sorted(i["summary"] for i in google.state.invitations if i["method"] == "created")
    assert invited == ["CRM meeting 0", "CRM meeting 1", "CRM meeting 2"]


def linked_events(hub) -> list[str]:
    """Event rows the hub holds for CRM meetings (a push's results, once stored)."""
    with hub.db.session() as s:
        return s.scalars(sa.select(CalendarEvent.remote_id).where(CalendarEvent.meeting_id.is_not(None))).all()
