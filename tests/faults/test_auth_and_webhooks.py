"""A grant revoked in the middle of a paginated sync, and push notifications that arrive twice, come
back later, or are forged.

The hub's web app runs on a loopback port, so the sandboxes deliver their notifications to its real
``/webhooks/<provider>/<account>`` route; duplicates and replays re-send exactly what the sandbox
sent (its delivery log), forgeries change only the secret.
"""

from __future__ import annotations

import threading

import pytest
import requests
import sqlalchemy as sa

from hub.models import Account, AccountError, AccountStatus, SyncCursor
from tests.faults import agreement
from tests.faults.accounts import set_provider_config
from tests.faults.driving import drain_until_quiet, pending_jobs

from hub_google.sandbox.faults import Fault

pytestmark = pytest.mark.faults


@pytest.fixture
def hub_settings_overrides(live_port):
    return {"base_url": f"http://127.0.0.1:{live_port}"}


def syncs_of(state, calendar_id: str, since: int) -> int:
    """Calendar syncs the Google sandbox saw since request number ``since`` (each starts with one list call)."""
    path = f"/calendar/v3/calendars/{calendar_id}/events?"
    return sum(1 for method, full_path, _ in list(state.requests)[since:]
               if method == "GET" and full_path.startswith(path) and "pageToken" not in full_path)


def graph_syncs(state, since: int) -> int:
    """Calendar syncs Graph saw since request number ``since`` (each starts from its delta token)."""
    return sum(1 for method, path, query, _ in state.requests[since:]
               if method == "GET" and path.endswith("/calendarview/delta") and "deltatoken" in query.lower())


def error_log(hub, account_id: int) -> list[tuple[str, str]]:
    with hub.db.session() as s:
        return [(e.area, e.error) for e in s.scalars(sa.select(AccountError).where(
            AccountError.account_id == account_id).order_by(AccountError.id))]


# --- a token revoked mid-pagination -----------------------------------------------------------------------


class RevokeOnRequest(Fault):
    """Revokes the user's grant when the n-th events page is asked for (the user removed the app)."""

    def __init__(self, state, email: str, path: str, skip: int):
        super().__init__(kind=None, times=1, path=path, method="GET")
        self.state, self.email, self.skip = state, email, skip

    def matches(self, method: str, path: str) -> bool:
        if not path.startswith(self.path) or not super().matches(method, path):
            return False
        if self.skip > 0:
            self.skip -= 1
            return False
        self.state.revoke_grants(self.email)
        return True


def test_a_grant_revoked_mid_pagination_keeps_what_was_stored_and_resumes_after_reconnecting(hub, make_user,
                                                                                                google):
    user_id = make_user(google.email)
    google.seed(events=20, messages=2)
    google.state.faults.add(RevokeOnRequest(google.state, google.email,
                                            f"/calendar/v3/calendars/{google.email}/events", skip=2))
    account_id = google.connect(hub, user_id)
    drain_until_quiet(hub)

    with hub.db.session() as s:
        account = s.get(Account, account_id)
        assert (account.status, account.needs_reconnect) == (AccountStatus.ERROR, True)
        assert account.last_fix and "Reconnect" in account.last_fix
        cursor = s.scalars(sa.select(SyncCursor).where(SyncCursor.kind == "calendar")).one()
        assert (cursor.progress_done, cursor.finished_at) == (8, None)  # two pages kept, the rest waits
    assert ("calendar", "AuthExpired") in error_log(hub, account_id)
    assert len(agreement.hub_events(hub, account_id)) == 8

    google.connect(hub, user_id)  # the user reconnects (consent again): the same account, syncing again
    drain_until_quiet(hub)
    google.assert_agrees(hub, account_id)
    assert len(agreement.hub_events(hub, account_id)) == 20


# --- duplicated, replayed and forged notifications ---------------------------------------------------------


def test_google_notifications_duplicated_replayed_and_forged(hub, make_user, google, live_url):
    user_id = make_user(google.email)
    google.seed(events=4, messages=1)
    account_id = google.connect(hub, user_id)
    drain_until_quiet(hub)  # initial sync; the watch channel is made and its "sync" message arrives
    google.state.wait_for_notifications()

    seen = len(google.state.requests)
    google.add_event(6, 10)  # a change in Google: the channel notifies the hub
    google.state.wait_for_notifications()
    note = google.state.notifier.deliveries[-1]
    assert note.state == "exists" and note.status == 200
    assert requests.post(live_url + f"/webhooks/google/{account_id}", headers=note.headers).status_code == 200
    drain_until_quiet(hub)
    assert syncs_of(google.state, google.email, seen) == 1  # the duplicate added no second sync
    google.assert_agrees(hub, account_id)

    seen = len(google.state.requests)
    replay = requests.post(live_url + f"/webhooks/google/{account_id}", headers=note.headers)
    assert replay.status_code == 200
    drain_until_quiet(hub)
    assert syncs_of(google.state, google.email, seen) == 1  # a replay costs one sync that finds nothing new
    google.assert_agrees(hub, account_id)

    forged = {**note.headers, "X-Goog-Channel-Token": "not-the-channel-token"}
    answer = requests.post(live_url + f"/webhooks/google/{account_id}", headers=forged)
    assert answer.status_code == 403
    assert pending_jobs(hub) == 0
    assert error_log(hub, account_id)[-1] == ("webhook", "WebhookRejected")
    assert agreement.account_healthy(hub, account_id) == (AccountStatus.ENABLED, False)


def test_microsoft_notifications_duplicated_replayed_and_forged(hub, make_user, graph, live_url):
    user_id = make_user(graph.email)
    graph.seed(events=4, messages=1)
    account_id = graph.connect(hub, user_id)
    drain_until_quiet(hub)  # the subscriptions are made (Graph validates the hub's URL first)
    assert {s["_kind"] for s in graph.state.subscriptions.values()} == {"event", "message"}

    graph.state.knobs.duplicate_notifications = True  # Graph: "the same notification may arrive twice"
    seen, asked = len(graph.state.deliveries), len(graph.state.requests)
    graph.add_event(6, 10)
    graph.state.wait_for_deliveries()
    delivered = graph.state.deliveries[seen:]
    assert [outcome for _, _, outcome in delivered] == [202, 202]
    drain_until_quiet(hub)
    assert graph_syncs(graph.state, asked) == 1
    graph.assert_agrees(hub, account_id)

    url, payload, _ = delivered[0]
    asked = len(graph.state.requests)
    assert requests.post(url, json=payload).status_code == 202  # replayed long after
    drain_until_quiet(hub)
    assert graph_syncs(graph.state, asked) == 1
    graph.assert_agrees(hub, account_id)

    forged = {"value": [{**payload["value"][0], "clientState": "guessed"}]}
    assert requests.post(url, json=forged).status_code == 403
    assert pending_jobs(hub) == 0
    assert error_log(hub, account_id)[-1] == ("webhook", "WebhookRejected")
    assert agreement.account_healthy(hub, account_id) == (AccountStatus.ENABLED, False)


def test_a_notification_during_a_running_sync_runs_it_once_more(hub, make_user, google, live_url):
    """The sync may already have read past the change: exactly one more run, not zero, not two."""
    user_id = make_user(google.email)
    google.seed(events=4, messages=1)
    account_id = google.connect(hub, user_id)
    drain_until_quiet(hub)
    google.state.wait_for_notifications()
    path = f"/calendar/v3/calendars/{google.email}/events"
    set_provider_config(hub, "google", {**google.config(), "timeout": "10"})  # slow, not timed out
    slow = google.state.faults.add(Fault(kind=None, times=1, path=path, method="GET", delay=1.5))

    def change_while_syncing():
        for _ in range(1500):  # wait until the sync's list call is being answered (slowly)
            if slow.hits:
                break
            threading.Event().wait(0.02)
        google.add_event(7, 11)  # Google notifies the hub while the sync runs
        google.state.wait_for_notifications()

    seen = len(google.state.requests)
    helper = threading.Thread(target=change_while_syncing)
    helper.start()
    google.add_event(6, 10)  # the first change: its notification starts the sync that is slowed
    google.state.wait_for_notifications()
    drain_until_quiet(hub)
    helper.join(timeout=30)
    assert syncs_of(google.state, google.email, seen) == 2
    google.assert_agrees(hub, account_id)
