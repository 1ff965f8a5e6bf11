"""Google's hard cases through the whole engine (jobs, cursors, statuses), not just the plugin:
a 429 storm, an expired sync token in the middle of an incremental sync's pages. (A grant revoked
mid-pagination is in ``test_auth_and_webhooks.py``.) Each ends with the hub and the sandbox compared
exactly, and with what the account's status and error log tell the user.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from hub.jobs import RATE_LIMIT_ATTEMPTS
from hub.models import Account, AccountError, AccountStatus
from tests.faults import agreement
from tests.faults.driving import drain_until_quiet, tick

from hub_google.sandbox.faults import Fault

pytestmark = pytest.mark.faults

EVENTS = "/calendar/v3/calendars/alice@example.com/events"


def error_log(hub, account_id: int) -> list[tuple[str, str, str]]:
    with hub.db.session() as s:
        return [(e.area, e.error, e.message) for e in s.scalars(sa.select(AccountError).where(
            AccountError.account_id == account_id).order_by(AccountError.id))]


def status(hub, account_id: int) -> tuple[AccountStatus, str | None]:
    with hub.db.session() as s:
        account = s.get(Account, account_id)
        return account.status, account.last_error


def test_a_429_storm_is_waited_out_and_shown_in_the_error_log(hub, make_user, google):
    user_id = make_user(google.email)
    google.seed(events=12, messages=2)
    google.state.inject("429", times=4, path=EVENTS, method="GET", retry_after=1)
    account_id = google.connect(hub, user_id)
    drain_until_quiet(hub)  # Retry-After waits are skipped, the re-runs are real

    google.assert_agrees(hub, account_id)  # every event once, status Enabled
    limited = [e for e in error_log(hub, account_id) if e[1] == "RateLimited"]
    assert [e[0] for e in limited] == ["calendar"] * 4, "each refusal is logged for the user to see"
    assert status(hub, account_id)[0] == AccountStatus.ENABLED


def test_a_429_storm_longer_than_the_patience_turns_the_account_red_until_it_passes(hub, make_user, google):
    user_id = make_user(google.email)
    google.seed(events=6, messages=1)
    account_id = google.connect(hub, user_id)
    drain_until_quiet(hub)
    google.remote_changes(1)
    storm = google.state.inject("429", times=None, path=EVENTS, method="GET", retry_after=1)
    tick(hub)  # the poll's sync is refused again and again, past the re-run limit

    assert storm.hits == RATE_LIMIT_ATTEMPTS + 1
    state, message = status(hub, account_id)
    assert state == AccountStatus.ERROR and message, "the user sees that syncing is failing, and why"
    assert error_log(hub, account_id)[-1][:2] == ("calendar", "RateLimited")

    google.state.clear_faults()  # the storm passes: the next poll catches up, the account is green again
    tick(hub)
    google.assert_agrees(hub, account_id)


class ExpireSyncTokensOnRequest(Fault):
    """Expires every sync token when the ``skip + 1``-th events request arrives (answered normally), so
    the incremental sync's next page — asked for with a page token from before — answers 410 Gone."""

    def __init__(self, state, skip: int):
        super().__init__(kind=None, times=1, path=EVENTS, method="GET")
        self.state, self.skip = state, skip

    def matches(self, method: str, path: str) -> bool:
        if not super().matches(method, path):
            return False
        if self.skip > 0:
            self.skip -= 1
            return False
        self.state.expire_sync_tokens()
        self.hits += 1
        return False


def test_410_in_the_middle_of_an_incremental_sync_restarts_it_and_doubles_nothing(hub, make_user, google):
    user_id = make_user(google.email)
    google.seed(events=10, messages=1)
    account_id = google.connect(hub, user_id)
    drain_until_quiet(hub)
    before = agreement.hub_events(hub, account_id)
    for day in range(6):  # two pages of changes (pages of 4)
        google.add_event(2 + day, 6)
    google.remote_changes(1)
    expiry = ExpireSyncTokensOnRequest(google.state, skip=0)
    google.state.faults.add(expiry)
    tick(hub)

    assert expiry.hits == 1
    after = agreement.hub_events(hub, account_id)
    assert len(after) == len(before) + 6 + 2 - 1  # 6 + 2 added, 1 deleted by remote_changes
    google.assert_agrees(hub, account_id)  # exactly the calendar as it is: nothing lost, nothing twice
    assert not [e for e in error_log(hub, account_id) if e[0] == "calendar"], \
        "a restarted sync is routine: nothing for the user to fix"
