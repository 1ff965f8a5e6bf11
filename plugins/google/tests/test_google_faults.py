"""Faults at the plugin level, against the sandbox: rate-limit storms, server errors, lost answers,
a sync token expiring mid-pagination and a grant revoked mid-sync. Each ends by checking that what
the plugin handed over matches the sandbox exactly — nothing lost, nothing twice."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from hub.exceptions import AuthExpired, CursorExpired, HubError, ProviderUnavailable, RateLimited
from hub.types import EventChange, RemoteEvent, Window

from hub_google import hooks
from hub_google.testing import SANDBOX_USER

CAL = SANDBOX_USER


def window() -> Window:
    now = datetime.now(timezone.utc)
    return Window(now - timedelta(days=1), now + timedelta(days=30))


def add_events(state, count: int, prefix: str = "ev") -> list[str]:
    base = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=2)
    return [state.create_event(SANDBOX_USER, CAL, {
        "summary": f"{prefix} {i}", "start": {"dateTime": (base + timedelta(hours=i)).isoformat()},
        "end": {"dateTime": (base + timedelta(hours=i, minutes=30)).isoformat()}})["id"] for i in range(count)]


def live_ids(state) -> set[str]:
    return {e["id"] for e in state.calendars[CAL].events.values() if e["status"] != "cancelled"}


@pytest.fixture
def small_pages(google_account):
    """Two events per page, so every sync here runs over several pages."""
    google_account.context.config["page_size"] = "2"
    return google_account


def run_sync(account, cursor, errors: list | None = None, max_calls: int = 100):
    """Fetch pages until done like the sync engine: a transient error retries the same cursor.

    Returns (ids per occurrence, deleted ids, final cursor)."""
    seen: list[str] = []
    deleted: list[str] = []
    for _ in range(max_calls):
        try:
            page = hooks.hub_fetch_events(account=account, calendar_id=CAL, cursor=cursor, window=window())
        except (RateLimited, ProviderUnavailable) as error:
            if errors is None:
                raise
            errors.append(error)
            continue
        seen.extend(e.remote_id for e in page.events)
        deleted.extend(page.deleted)
        cursor = page.next_cursor
        if page.done:
            return seen, deleted, cursor
    raise AssertionError("the sync never finished")


# --- rate limits and server errors ----------------------------------------------------------------------


def test_429_storm_raises_rate_limited_with_retry_after(google_sandbox, small_pages):
    google_sandbox.state.inject("429", times=None, path="/calendar/", retry_after=7)
    for _ in range(3):  # a storm: every call is refused, each with the server's hint
        with pytest.raises(RateLimited) as caught:
            hooks.hub_fetch_events(account=small_pages, calendar_id=CAL, cursor=None, window=window())
        assert caught.value.retry_after == 7
        assert caught.value.transient
    google_sandbox.state.clear_faults()
    assert hooks.hub_list_calendars(account=small_pages)


@pytest.mark.parametrize("kind", ["rateLimitExceeded", "userRateLimitExceeded"])
def test_403_rate_reasons_are_rate_limits_not_permission_errors(google_sandbox, google_account, kind):
    google_sandbox.state.inject(kind, path="/calendar/")
    with pytest.raises(RateLimited) as caught:
        hooks.hub_list_calendars(account=google_account)
    assert caught.value.retry_after is None  # Google sent no hint: the core's backoff decides


def test_sync_through_a_storm_ends_with_every_event_exactly_once(google_sandbox, small_pages):
    state = google_sandbox.state
    created = add_events(state, 7)
    state.inject("429", times=2, path="/calendar/", retry_after=1)
    state.inject("userRateLimitExceeded", times=1, path="/calendar/")
    state.inject("500", times=1, path="/calendar/")
    state.inject("503", times=1, path="/calendar/")
    errors: list[HubError] = []
    seen, deleted, cursor = run_sync(small_pages, None, errors)
    assert [type(e) for e in errors] == [RateLimited, RateLimited, RateLimited, ProviderUnavailable,
                                         ProviderUnavailable]
    assert Counter(seen) == Counter(live_ids(state)) and set(created) <= set(seen)
    assert not deleted
    # the storm also hits the incremental sync; afterwards it picks up exactly the change
    state.update_event(SANDBOX_USER, CAL, created[3], {"summary": "moved"}, replace=False)
    state.inject("429", times=3, path="/calendar/")
    errors.clear()
    seen, _, _ = run_sync(small_pages, cursor, errors)
    assert seen == [created[3]] and len(errors) == 3


def test_timeout_is_provider_unavailable(google_sandbox, google_account):
    google_account.context.config["timeout"] = "1"
    google_sandbox.state.inject(None, delay=1.6, path="/calendar/")
    with pytest.raises(ProviderUnavailable):
        hooks.hub_list_calendars(account=google_account)


@pytest.mark.parametrize("fault", [dict(kind="500", after=True), dict(kind=None, delay=1.6, after=True)],
                         ids=["500-after-insert", "timeout-after-insert"])
def test_create_whose_answer_was_lost_is_not_duplicated(google_sandbox, google_account, fault):
    """Google made the event but the hub never heard: the retried create finds it (409) instead."""
    google_account.context.config["timeout"] = "1"
    start = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=3)
    change = EventChange("create", "meeting-42/primary", event=RemoteEvent("", start, start + timedelta(hours=1),
                                                                          summary="Demo"), send_invites=False)
    google_sandbox.state.inject(path="/calendar/v3/calendars/", method="POST", **fault)
    with pytest.raises(ProviderUnavailable):
        hooks.hub_push_events(account=google_account, calendar_id=CAL, changes=[change])
    [result] = hooks.hub_push_events(account=google_account, calendar_id=CAL, changes=[change])
    assert result.error is None and result.remote_id and result.etag
    events = [e for e in google_sandbox.state.calendars[CAL].events.values()
              if e.get("extendedProperties", {}).get("private", {}).get("hubMarker") == change.client_id]
    assert [e["id"] for e in events] == [result.remote_id]


def test_rate_limit_in_the_middle_of_a_batch_keeps_the_applied_results(google_sandbox, google_account):
    start = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=4)

    def event(i: int) -> RemoteEvent:
        return RemoteEvent("", start + timedelta(hours=i), start + timedelta(hours=i, minutes=30), summary=f"b{i}")

    [made] = hooks.hub_push_events(account=google_account, calendar_id=CAL, changes=[
        EventChange("create", "batch-0", event=event(0), send_invites=False)])
    update = EventChange("update", "batch-0", event=event(0).replace(summary="b0 moved"), remote_id=made.remote_id,
                         etag=made.etag, send_invites=False)
    creates = [EventChange("create", f"batch-{i}", event=event(i), send_invites=False) for i in (1, 2)]
    google_sandbox.state.inject("429", times=1, path="/calendar/", method="POST")
    results = hooks.hub_push_events(account=google_account, calendar_id=CAL, changes=[update, *creates])
    # the update went through: its new etag is not lost; the rest carry the transient error
    assert results[0].error is None and results[0].etag != made.etag
    assert google_sandbox.state.calendars[CAL].events[made.remote_id]["etag"] == results[0].etag
    assert isinstance(results[1].error, RateLimited) and isinstance(results[2].error, RateLimited)
    again = hooks.hub_push_events(account=google_account, calendar_id=CAL, changes=creates)
    assert all(r.error is None for r in again)
    markers = Counter(e.get("extendedProperties", {}).get("private", {}).get("hubMarker")
                      for e in google_sandbox.state.calendars[CAL].events.values())
    assert [markers[f"batch-{i}"] for i in range(3)] == [1, 1, 1]


def test_rate_limit_on_the_first_change_fails_the_whole_batch(google_sandbox, google_account):
    start = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=5)
    change = EventChange("create", "first", event=RemoteEvent("", start, start + timedelta(hours=1)),
                         send_invites=False)
    google_sandbox.state.inject("429", path="/calendar/", retry_after=3)
    with pytest.raises(RateLimited) as caught:
        hooks.hub_push_events(account=google_account, calendar_id=CAL, changes=[change])
    assert caught.value.retry_after == 3


# --- expired sync token in the middle of paging ------------------------------------------------------------


def test_410_mid_pagination_then_full_resync(google_sandbox, small_pages):
    state = google_sandbox.state
    kept = add_events(state, 3, "kept")
    _, _, cursor = run_sync(small_pages, None)
    added = add_events(state, 3, "added")
    state.delete_event(SANDBOX_USER, CAL, kept[0])
    first = hooks.hub_fetch_events(account=small_pages, calendar_id=CAL, cursor=cursor, window=window())
    assert not first.done and len(first.events) + len(first.deleted) == 2
    state.expire_sync_tokens(CAL)
    with pytest.raises(CursorExpired):
        hooks.hub_fetch_events(account=small_pages, calendar_id=CAL, cursor=first.next_cursor, window=window())
    # the core drops the cursor and full-syncs: the result is the calendar as it is, each event once
    seen, deleted, cursor = run_sync(small_pages, None)
    assert Counter(seen) == Counter(live_ids(state))
    assert set(seen) == set(kept[1:]) | set(added) and kept[0] not in seen
    assert run_sync(small_pages, cursor)[0] == [], "and the new cursor works"


# --- grant revoked mid-sync ------------------------------------------------------------------------------------


def test_revoked_grant_mid_sync_is_auth_expired(google_sandbox, small_pages, saved):
    state = google_sandbox.state
    add_events(state, 5)
    first = hooks.hub_fetch_events(account=small_pages, calendar_id=CAL, cursor=None, window=window())
    assert not first.done
    stored = dict(small_pages.credentials["token"])
    state.revoke_grants(SANDBOX_USER)  # the user removed the app in their Google Account
    with pytest.raises(AuthExpired) as caught:
        hooks.hub_fetch_events(account=small_pages, calendar_id=CAL, cursor=first.next_cursor, window=window())
    assert "expired or revoked" in caught.value.message
    assert "Reconnect" in caught.value.fix
    assert small_pages.credentials["token"] == stored and saved == [], "a refused refresh saves nothing"
    with pytest.raises(AuthExpired):
        hooks.hub_sync_mail(account=small_pages, folder="inbox", cursor=None, limit=10,
                            since=datetime.now(timezone.utc) - timedelta(days=1))


def test_access_token_dying_early_is_refreshed_and_saved(google_sandbox, google_account, saved):
    old = google_account.credentials["token"]
    google_sandbox.state.expire_access_tokens(SANDBOX_USER)
    assert hooks.hub_list_calendars(account=google_account)
    [creds] = saved
    assert creds["token"]["access_token"] != old["access_token"]
    assert creds["token"]["refresh_token"] == old["refresh_token"], "Google does not rotate refresh tokens"


def test_token_near_expiry_is_refreshed_before_the_call(google_sandbox, google_account, saved):
    google_account.credentials = {"token": replace_expiry(google_account.credentials["token"])}
    before = len([r for r in google_sandbox.state.requests if r[1].startswith("/token")])
    assert hooks.hub_list_calendars(account=google_account)
    token_calls = [r for r in google_sandbox.state.requests if r[1].startswith("/token")]
    assert len(token_calls) == before + 1 and len(saved) == 1
    assert not [r for r in google_sandbox.state.requests if r[2] == 401], "no call went out with the old token"


def replace_expiry(token: dict) -> dict:
    return {**token, "expires_at": datetime.now(timezone.utc).timestamp() + 30}


def test_empty_pages_with_a_page_token_are_followed(google_sandbox, small_pages):
    state = google_sandbox.state
    state.empty_pages = True
    made = add_events(state, 3)
    seen, _, cursor = run_sync(small_pages, None)
    assert Counter(seen) == Counter(made)
    state.update_event(SANDBOX_USER, CAL, made[1], {"summary": "changed"}, replace=False)
    assert run_sync(small_pages, cursor)[0] == [made[1]]
    token_pages = [r for r in state.requests if "pageToken=" in r[1]]
    assert len(token_pages) >= 4, "the empty pages were really served"
    for i in range(3):
        state.deliver_mail(SANDBOX_USER, f"Subject: m{i}\r\nFrom: a@b.example\r\nTo: {SANDBOX_USER}\r\n\r\nhi\r\n".encode())
    page, subjects = None, []
    cursor = None
    while page is None or not page.done:
        page = hooks.hub_sync_mail(account=small_pages, folder="inbox", cursor=cursor, limit=2,
                                   since=datetime.now(timezone.utc) - timedelta(days=1))
        subjects.extend(m.subject for m in page.messages)
        cursor = page.next_cursor
    assert sorted(subjects) == ["m0", "m1", "m2"]


@pytest.mark.parametrize("kind, error", [("503", ProviderUnavailable), ("429", RateLimited)])
def test_token_endpoint_trouble_is_transient_not_a_lost_grant(google_sandbox, google_account, kind, error):
    google_sandbox.state.expire_access_tokens(SANDBOX_USER)
    google_sandbox.state.inject(kind, path="/token", retry_after=2)
    with pytest.raises(error):
        hooks.hub_list_calendars(account=google_account)
    assert hooks.hub_list_calendars(account=google_account), "the grant still works afterwards"
