"""The calendar-feed provider against a served feed: polite downloads, clear errors, bad items skipped."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from hub.exceptions import AuthenticationFailed, AuthExpired, ConnectFailed, ProviderUnavailable, ValidationError
from hub.testing.conformance import slot
from hub.types import AccountHandle, ProviderContext, RemoteEvent, Window

from hub_ics import feed, hooks
from hub_ics.testing import FeedRemote

BROKEN = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\nBEGIN:VEVENT\r\nUID:broken@x\r\n"
          "SUMMARY:no start\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


def context(allow_private: bool = True) -> ProviderContext:
    return ProviderContext(name="ics", config={}, base_url="http://127.0.0.1:8000", allow_private_hosts=allow_private)


def account_for(feed_server, **params) -> AccountHandle:
    result = hooks.hub_connect(context(), {"url": feed_server.url, **params})
    return AccountHandle(id=1, provider="ics", email=result.email, credentials=dict(result.credentials),
                         settings=dict(result.settings), context=context())


def window() -> Window:
    now = datetime.now(timezone.utc)
    return Window(now - timedelta(days=1), now + timedelta(days=60))


def test_webcal_addresses_are_fetched_over_https():
    assert feed.normalize_url(" webcal://cal.example.org/team.ics ") == "https://cal.example.org/team.ics"
    with pytest.raises(ValidationError) as caught:
        feed.normalize_url("ftp://cal.example.org/team.ics")
    assert caught.value.field == "url" and caught.value.fix


def test_an_unchanged_feed_costs_one_conditional_request_and_nothing_else(feed_server):
    FeedRemote(feed_server).create_event("feed", RemoteEvent("", *slot(3, 9), summary="Offsite"))
    account = account_for(feed_server)
    first = hooks.hub_fetch_events(account, "feed", None, window())
    assert [e.summary for e in first.events] == ["Offsite"]
    again = hooks.hub_fetch_events(account, "feed", first.next_cursor, window())
    assert (again.events, again.deleted, again.next_cursor) == ([], [], first.next_cursor)
    status, sent_etag = feed_server.requests[-1]
    assert status == 304 and sent_etag


def test_a_changed_feed_yields_only_what_changed_and_what_went(feed_server):
    remote = FeedRemote(feed_server)
    kept = remote.create_event("feed", RemoteEvent("", *slot(3, 9), summary="Kept"))
    gone = remote.create_event("feed", RemoteEvent("", *slot(4, 9), summary="Gone"))
    account = account_for(feed_server)
    first = hooks.hub_fetch_events(account, "feed", None, window())
    remote.delete_event("feed", gone)
    added = remote.create_event("feed", RemoteEvent("", *slot(5, 9), summary="Added"))
    delta = hooks.hub_fetch_events(account, "feed", first.next_cursor, window())
    assert [e.remote_id for e in delta.events] == [added] and delta.deleted == [gone]
    assert kept not in {e.remote_id for e in delta.events}


def test_an_unreadable_event_is_reported_and_the_rest_syncs(feed_server):
    FeedRemote(feed_server).create_event("feed", RemoteEvent("", *slot(3, 9), summary="Fine"))
    feed_server.objects["broken@x"] = BROKEN
    page = hooks.hub_fetch_events(account_for(feed_server), "feed", None, window())
    assert [e.summary for e in page.events] == ["Fine"]
    [(item, reason)] = page.unreadable
    assert item == "broken@x" and reason


def test_a_web_page_is_not_a_feed(feed_server):
    feed_server.objects.clear()
    feed_server.body = lambda: b"<!doctype html><html><body>Sign in</body></html>"
    with pytest.raises(ValidationError) as caught:
        hooks.hub_connect(context(), {"url": feed_server.url})
    assert "iCalendar" in caught.value.message and caught.value.field == "url"


def test_a_refused_password_reads_as_a_sign_in_problem_then_as_an_expired_account(feed_server):
    feed_server.require("reader", "s3cret")
    with pytest.raises(AuthenticationFailed):
        hooks.hub_connect(context(), {"url": feed_server.url, "username": "reader", "password": "nope"})
    account = account_for(feed_server, username="reader", password="s3cret")
    feed_server.require("reader", "changed")
    with pytest.raises(AuthExpired) as caught:
        hooks.hub_fetch_events(account, "feed", None, window())
    assert caught.value.fix


def test_a_passing_server_error_is_retried_and_a_lasting_one_is_transient(feed_server):
    account = account_for(feed_server)
    feed_server.answer_next(503)
    assert hooks.hub_fetch_events(account, "feed", None, window()).done  # retried once, then read
    for _ in range(3):
        feed_server.answer_next(503)
    with pytest.raises(ProviderUnavailable):
        hooks.hub_fetch_events(account, "feed", None, window())
    assert [status for status, _ in feed_server.requests[-3:]] == [503, 503, 503]


def test_a_password_is_never_sent_over_plain_http():
    with pytest.raises(ConnectFailed) as caught:
        hooks.hub_connect(context(allow_private=False), {"url": "http://cal.example.org/private.ics",
                                                         "username": "me", "password": "secret"})
    assert "HTTPS" in caught.value.message
