"""MemoryProvider passes the conformance suite, with a form connect and with an OAuth connect,
and its fault knobs do what the engines' tests rely on."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from hub.exceptions import AuthExpired, CursorExpired, ProviderUnavailable, RateLimited, WrongEtag
from hub.testing import ProviderTests
from hub.testing.conformance import fetch_all, slot
from hub.testing.memory import MemoryBackend, MemoryProvider, MemoryRemote
from hub.types import EventChange, RemoteEvent, Window

EMAIL = "alice@example.com"


@pytest.fixture
def backend():
    backend = MemoryBackend(page_size=2)  # small pages, so every full sync pages
    backend.add_account(EMAIL, "correct horse", display_name="Alice", calendars=("primary", "team"))
    return backend


class MemorySuite(ProviderTests):
    """What both connect flavours share; not collected itself (no Test prefix)."""

    provider_name = "memory"
    supports_calendar = supports_free_busy = supports_mail = supports_send = True
    supports_push = supports_video = True

    @pytest.fixture
    def provider_plugin(self, backend):
        return MemoryProvider(backend)

    @pytest.fixture
    def remote(self, backend):
        return MemoryRemote(backend, EMAIL)



class TestMemoryProvider(MemorySuite):
    @pytest.fixture
    def good_connect_params(self):
        return {"email": EMAIL, "password": "correct horse"}

    @pytest.fixture
    def bad_connect_params(self):
        return {"email": EMAIL, "password": "wrong horse"}


class TestMemoryProviderOAuth(MemorySuite):
    """The same suite through the OAuth connect path (authorization URL, consent, code + PKCE);
    good_connect_params is the suite's default, which drives the consent through MemoryRemote.approve."""

    @pytest.fixture
    def provider_plugin(self, backend):
        return MemoryProvider(backend, connect_kind="oauth")

    @pytest.fixture
    def bad_connect_params(self):
        return {"code": "made-up", "code_verifier": "x" * 50, "redirect_uri": "http://127.0.0.1:8000/cb"}


# --- the knobs and details the engines' tests rely on ----------------------------------------------


@pytest.fixture
def provider(backend):
    return MemoryProvider(backend)


@pytest.fixture
def hooks(provider):
    from hub.plugins import PluginManager

    pm = PluginManager()
    pm.load("", extra=[("memory", provider)])
    return pm.hook


@pytest.fixture
def account(hooks):
    from hub.types import AccountHandle, ProviderContext

    context = ProviderContext(name="memory", config={}, base_url="http://127.0.0.1:8000")
    result = hooks.hub_connect(context=context, params={"email": EMAIL, "password": "correct horse"})
    return AccountHandle(1, "memory", result.email, result.credentials, {}, context)


@pytest.fixture
def window():
    now = datetime.now(timezone.utc)
    return Window(now - timedelta(days=1), now + timedelta(days=60))


@pytest.mark.parametrize("error", [RateLimited(retry_after=7), AuthExpired, ProviderUnavailable])
def test_fail_next_raises_then_recovers(hooks, account, backend, error):
    backend.fail_next("hub_list_calendars", error, times=2)
    for _ in range(2):
        with pytest.raises(error if isinstance(error, type) else type(error)) as caught:
            hooks.hub_list_calendars(account=account)
    if isinstance(error, RateLimited):
        assert caught.value.retry_after == 7
    assert [c.remote_id for c in hooks.hub_list_calendars(account=account)] == ["primary", "team"]
    assert backend.calls["hub_list_calendars"] == 3


def test_full_sync_pages_by_page_size(hooks, account, backend, window):
    ids = {backend.put_event(EMAIL, "primary", RemoteEvent("", *slot(2, 8 + i))).remote_id for i in range(5)}
    pages = []
    cursor = None
    while True:
        page = hooks.hub_fetch_events(account=account, calendar_id="primary", cursor=cursor, window=window)
        pages.append(page)
        cursor = page.next_cursor
        if page.done:
            break
    assert [len(p.events) for p in pages] == [2, 2, 1]
    assert {e.remote_id for p in pages for e in p.events} == ids


def test_event_outside_window_is_not_fetched_and_leaving_it_is_a_deletion(hooks, account, backend, window):
    inside = backend.put_event(EMAIL, "primary", RemoteEvent("", *slot(3, 9)))
    outside = backend.put_event(EMAIL, "primary", RemoteEvent("", *slot(90, 9)))
    full = fetch_all(hooks, account, "primary", None, window)
    assert set(full.events) == {inside.remote_id}
    backend.put_event(EMAIL, "primary", inside.replace(start=inside.start + timedelta(days=100),
                                                       end=inside.end + timedelta(days=100)))
    delta = fetch_all(hooks, account, "primary", full.cursor, window)
    assert inside.remote_id in delta.deleted and outside.remote_id not in delta.events


def test_cursor_expiry_during_a_paged_full_sync(hooks, account, backend, window):
    for i in range(3):
        backend.put_event(EMAIL, "primary", RemoteEvent("", *slot(2, 8 + i)))
    first = hooks.hub_fetch_events(account=account, calendar_id="primary", cursor=None, window=window)
    assert not first.done
    backend.expire_cursors()
    with pytest.raises(CursorExpired):
        hooks.hub_fetch_events(account=account, calendar_id="primary", cursor=first.next_cursor, window=window)
    with pytest.raises(CursorExpired):
        hooks.hub_fetch_events(account=account, calendar_id="primary", cursor="garbage", window=window)


def test_flaky_etags_change_the_etag_but_not_the_content(hooks, account, backend, window):
    backend.flaky_etags = True
    change = EventChange("create", "c1", event=RemoteEvent("", *slot(2, 9), summary="Demo"), send_invites=False)
    [created] = hooks.hub_push_events(account=account, calendar_id="primary", changes=[change])
    [stored] = backend.events(EMAIL, "primary")
    assert stored.etag != created.etag and stored.summary == "Demo"
    update = EventChange("update", "c1", event=stored.replace(summary="Demo 2"), remote_id=created.remote_id,
                         etag=created.etag)
    [result] = hooks.hub_push_events(account=account, calendar_id="primary", changes=[update])
    assert isinstance(result.error, WrongEtag)


def test_one_bad_change_does_not_fail_the_batch(hooks, account):
    changes = [
        EventChange("update", "gone", event=RemoteEvent("nope", *slot(2, 9)), remote_id="nope", etag='"1"'),
        EventChange("create", "c2", event=RemoteEvent("", *slot(2, 10)), send_invites=False),
    ]
    bad, good = hooks.hub_push_events(account=account, calendar_id="primary", changes=changes)
    assert type(bad.error).__name__ == "NotFound" and good.error is None and good.remote_id


def test_invitations_are_recorded_only_when_asked(hooks, account, backend):
    from hub.types import Participant

    people = [Participant("me@example.com", organizer=True), Participant("guest@example.org")]
    for client_id, invite in (("quiet", False), ("loud", True)):
        event = RemoteEvent("", *slot(2, 9), attendees=people)
        hooks.hub_push_events(account=account, calendar_id="primary",
                              changes=[EventChange("create", client_id, event=event, send_invites=invite)])
    [(remote_id, guest)] = backend.invitations
    assert guest == "guest@example.org"
    assert next(e for e in backend.events(EMAIL, "primary") if e.remote_id == remote_id).hub_marker == "loud"


def test_free_busy_honours_exceptions_and_unknown_calendars(hooks, account, backend):
    start, end = slot(5, 9)
    master = backend.put_event(EMAIL, "primary", RemoteEvent("", start, end, recurrence=["RRULE:FREQ=DAILY;COUNT=3"]))
    # the second occurrence moved two hours later; the third was cancelled
    backend.put_event(EMAIL, "primary", RemoteEvent("", start + timedelta(days=1, hours=2),
                                                   end + timedelta(days=1, hours=2), recurring_event_id=master.remote_id,
                                                   original_start=start + timedelta(days=1)))
    backend.put_event(EMAIL, "primary", RemoteEvent("", start + timedelta(days=2), end + timedelta(days=2),
                                                   status="cancelled", recurring_event_id=master.remote_id,
                                                   original_start=start + timedelta(days=2)))
    answer = hooks.hub_free_busy(account=account, calendar_ids=["primary", "missing"], start=start - timedelta(hours=1),
                                 end=start + timedelta(days=4))
    assert [(b.start, b.end) for b in answer.busy["primary"]] == [
        (start, end), (start + timedelta(days=1, hours=2), end + timedelta(days=1, hours=2))]
    assert "missing" in answer.errors


def test_mail_expunge_comes_back_as_deleted(hooks, account, backend):
    since = datetime.now(timezone.utc) - timedelta(days=1)
    uid = backend.deliver(EMAIL, "inbox", b"Subject: one\r\n\r\nbody\r\n")
    page = hooks.hub_sync_mail(account=account, folder="inbox", cursor=None, limit=10, since=since)
    assert [m.subject for m in page.messages] == ["one"] and page.total_estimate == 1
    backend.expunge(EMAIL, "inbox", uid)
    page = hooks.hub_sync_mail(account=account, folder="inbox", cursor=page.next_cursor, limit=10, since=since)
    assert page.deleted == [f"inbox/{uid}"] and not page.messages


def test_unparseable_mail_sets_parse_error_and_keeps_the_page(hooks, account, backend):
    since = datetime.now(timezone.utc) - timedelta(days=1)
    backend.deliver(EMAIL, "inbox", b"Subject: fine\r\nDate: not a date\r\n\r\nbody\r\n")
    backend.deliver(EMAIL, "inbox", b"Subject: also fine\r\n\r\nbody\r\n")
    page = hooks.hub_sync_mail(account=account, folder="inbox", cursor=None, limit=10, since=since)
    assert len(page.messages) == 2
    assert page.messages[0].parse_error and page.messages[0].subject == "fine"
    assert page.messages[1].parse_error is None


def test_mail_to_a_hosted_recipient_arrives_in_their_inbox(hooks, account, backend):
    from hub.types import Address, OutgoingMessage

    backend.add_account("bob@example.com", "pw")
    sent = hooks.hub_send_mail(account=account, message=OutgoingMessage(
        sender=Address(EMAIL), to=[Address("bob@example.com", "Bob")], subject="Hi Bob", text_body="Hello"))
    [stored] = backend.accounts["bob@example.com"].folders["inbox"].messages.values()
    assert sent.message_id.encode() in stored.raw and len(backend.outbox) == 1


def test_revoked_token_raises_auth_expired(hooks, account, backend):
    backend.revoke(EMAIL)
    with pytest.raises(AuthExpired) as caught:
        hooks.hub_list_calendars(account=account)
    assert caught.value.fix


def test_webhook_handshake_asks_for_no_sync(hooks, account, backend):
    channel = hooks.hub_watch(account=account, kind="mail", key="inbox", address="http://hub/webhooks/memory/1",
                              renew=None)
    backend.deliver(EMAIL, "inbox", b"Subject: x\r\n\r\ny\r\n")
    request = backend.last_notification(channel.channel_id)
    assert request.path == "/webhooks/memory/1"
    result = hooks.hub_handle_webhook(account=account, request=request, channels=[channel])
    assert [(s.kind, s.key) for s in result.syncs] == [("mail", "inbox")]
    request.headers["X-Memory-State"] = "sync"
    assert hooks.hub_handle_webhook(account=account, request=request, channels=[channel]).syncs == []


# --- through a real Hub, as the engines use it ---------------------------------------------------------


@pytest.fixture
def hub_plugins(backend):
    return [("memory", MemoryProvider(backend))]


def test_memory_provider_serves_a_hub_account(hub, backend):
    from hub.models import Account, User

    result = hub.plugins.call("hub_connect", context=hub.provider_context("memory"),
                              params={"email": EMAIL, "password": "correct horse"})
    with hub.db.session() as s:
        user = User(email="owner@example.com")
        s.add(user)
        s.flush()
        account = Account(user_id=user.id, provider="memory", email=result.email, credentials=result.credentials)
        s.add(account)
        s.flush()
        account_id = account.id
    handle = hub.account_handle(account_id)
    assert handle.credentials == result.credentials  # stored encrypted, handed back decrypted
    assert [c.remote_id for c in hub.plugins.call("hub_list_calendars", account=handle)] == ["primary", "team"]
    backend.revoke(EMAIL)
    with pytest.raises(AuthExpired):
        hub.plugins.call("hub_list_calendars", account=hub.account_handle(account_id))
