"""One ``test_hook_<hook name>`` per hook in hub.hookspecs (tests/test_docs.py checks every hook has one):
per-account hooks called through a real PluginManager with MemoryProvider registered; broadcast hooks
observed while the engines that fire them run (connecting an account, syncing a calendar and a folder)."""

from __future__ import annotations

import inspect
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from hub import hookspecs, oauth
from hub.accounts import connect_account
from hub.exceptions import AuthenticationFailed, AuthExpired, WebhookRejected
from hub.models import Calendar
from hub.plugins import PluginManager, hookimpl
from hub.sync.calendar_pull import sync_calendar
from hub.sync.calendars import refresh_calendars
from hub.sync.mail import sync_folder
from hub.testing.conformance import slot
from hub.testing.memory import MemoryBackend, MemoryProvider
from hub.types import (
    ALL_CAPABILITIES,
    AccountHandle,
    Address,
    ConnectResult,
    EventChange,
    OutgoingMessage,
    ProviderContext,
    RemoteEvent,
    Window,
)

EMAIL = "alice@example.com"
BROADCAST = {"hub_account_connected", "hub_sync_finished", "hub_push_listeners"}
#: hooks only some providers have a use for (a local stand-in for `hub demo`)
OPTIONAL = {"hub_demo_sandbox"}


class Recorder:
    """A second plugin observing the broadcast hooks."""

    def __init__(self):
        self.seen = []

    @hookimpl
    def hub_account_connected(self, account_id, provider):
        self.seen.append(("connected", account_id, provider))

    @hookimpl
    def hub_sync_finished(self, account_id, kind, key, stats):
        self.seen.append(("finished", account_id, kind, key, stats))


@pytest.fixture
def backend():
    backend = MemoryBackend()
    backend.add_account(EMAIL, "secret")
    return backend


@pytest.fixture
def recorder():
    return Recorder()


@pytest.fixture
def pm(backend, recorder):
    pm = PluginManager()
    pm.load("", extra=[("memory", MemoryProvider(backend)), ("memory_oauth", MemoryProvider(
        backend, name="memory_oauth", connect_kind="oauth")), ("recorder", recorder)])
    return pm


@pytest.fixture
def context():
    return ProviderContext(name="memory", config={}, base_url="http://127.0.0.1:8000")


@pytest.fixture
def account(pm, context):
    result = pm.call("hub_connect", context=context, params={"email": EMAIL, "password": "secret"})
    return AccountHandle(7, "memory", result.email, result.credentials, {}, context)


def since():
    return datetime.now(timezone.utc) - timedelta(days=1)


def test_memory_provider_implements_every_per_account_hook(pm):
    names = {n for n, f in inspect.getmembers(hookspecs, inspect.isfunction) if n.startswith("hub_")}
    assert len(names) >= 15
    for name in names - BROADCAST - OPTIONAL:
        plugins = [pm.pm.get_name(impl.plugin) for impl in getattr(pm.hook, name).get_hookimpls()]
        assert "memory" in plugins, name


def test_hook_hub_register_providers(pm):
    info = pm.providers["memory"]
    assert (info.name, info.connect_kind, info.capabilities) == ("memory", "form", ALL_CAPABILITIES)
    assert [f.name for f in info.connect_form] == ["email", "password"]
    assert pm.providers["memory_oauth"].connect_kind == "oauth"
    assert {r.name for r in pm.records() if r.enabled} == {"memory", "memory_oauth", "recorder"}


def test_hook_hub_authorization_url(pm, context, backend):
    start = oauth.start("http://127.0.0.1:8000/cb", login_hint=EMAIL)
    assert pm.maybe_call("hub_authorization_url", context=context, start=start) is None  # a form provider
    oauth_context = ProviderContext(name="memory_oauth", config={}, base_url="http://127.0.0.1:8000")
    url = pm.call("hub_authorization_url", context=oauth_context, start=start)
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert (query["state"], query["code_challenge"], query["login_hint"]) == (start.state, start.code_challenge, EMAIL)
    code = backend.approve(EMAIL, query["code_challenge"], query["redirect_uri"])
    params = {"code": code, "code_verifier": start.code_verifier, "redirect_uri": start.redirect_uri}
    assert pm.call("hub_connect", context=oauth_context, params=params).email == EMAIL
    with pytest.raises(AuthenticationFailed):  # a code works once
        pm.call("hub_connect", context=oauth_context, params=params)


def test_hook_hub_connect(pm, context):
    result = pm.call("hub_connect", context=context, params={"email": EMAIL, "password": "secret"})
    assert isinstance(result, ConnectResult) and result.email == EMAIL and result.credentials["token"]
    with pytest.raises(AuthenticationFailed) as caught:
        pm.call("hub_connect", context=context, params={"email": EMAIL, "password": "nope"})
    assert type(caught.value) is AuthenticationFailed and caught.value.fix


def test_hook_hub_disconnect(pm, account, backend):
    pm.call("hub_watch", account=account, kind="calendar", key="primary", address="http://h/w", renew=None)
    assert pm.call("hub_disconnect", account=account) is True
    assert not backend.accounts[EMAIL].channels
    with pytest.raises(AuthExpired):
        pm.call("hub_list_calendars", account=account)
    assert pm.call("hub_disconnect", account=account) is True  # twice is fine: nothing blocks a disconnect


def test_hook_hub_list_calendars(pm, account, backend):
    backend.add_calendar(backend.accounts[EMAIL], "shared", name="Shared", access_role="reader")
    calendars = pm.call("hub_list_calendars", account=account)
    assert [(c.remote_id, c.access_role, c.is_primary) for c in calendars] == [
        ("primary", "owner", True), ("shared", "reader", False)]


def test_hook_hub_fetch_events(pm, account, backend):
    now = datetime.now(timezone.utc)
    window = Window(now, now + timedelta(days=30))
    event = backend.put_event(EMAIL, "primary", RemoteEvent("", *slot(2, 9), summary="Planning"))
    page = pm.call("hub_fetch_events", account=account, calendar_id="primary", cursor=None, window=window)
    assert page.done and [e.summary for e in page.events] == ["Planning"]
    backend.delete_event(EMAIL, "primary", event.remote_id)
    page = pm.call("hub_fetch_events", account=account, calendar_id="primary", cursor=page.next_cursor, window=window)
    assert page.deleted == [event.remote_id] and not page.events


def test_hook_hub_push_events(pm, account, backend):
    change = EventChange("create", "meeting-1", event=RemoteEvent("", *slot(2, 9), summary="Demo"), want_video=True)
    [result] = pm.call("hub_push_events", account=account, calendar_id="primary", changes=[change])
    [stored] = backend.events(EMAIL, "primary")
    assert (stored.remote_id, stored.hub_marker, stored.etag) == (result.remote_id, "meeting-1", result.etag)
    assert result.video_url and stored.video_url == result.video_url


def test_hook_hub_free_busy(pm, account, backend):
    start, end = slot(3, 9)
    backend.put_event(EMAIL, "primary", RemoteEvent("", start, end))
    backend.put_event(EMAIL, "primary", RemoteEvent("", end, end + timedelta(hours=1), transparent=True))
    answer = pm.call("hub_free_busy", account=account, calendar_ids=["primary"], start=start - timedelta(hours=2),
                                   end=end + timedelta(hours=2))
    assert [(b.start, b.end) for b in answer.busy["primary"]] == [(start, end)]


def test_hook_hub_sync_mail(pm, account, backend):
    for n in range(3):
        backend.deliver(EMAIL, "inbox", f"Subject: m{n}\r\nFrom: bob@example.org\r\n\r\nhi\r\n".encode())
    first = pm.call("hub_sync_mail", account=account, folder="inbox", cursor=None, limit=2, since=since())
    assert ([m.subject for m in first.messages], first.done, first.total_estimate) == (["m0", "m1"], False, 3)
    second = pm.call("hub_sync_mail", account=account, folder="inbox", cursor=first.next_cursor, limit=2, since=since())
    assert ([m.subject for m in second.messages], second.done) == (["m2"], True)


def test_hook_hub_mail_partitions(pm, account, backend):
    backend.deliver(EMAIL, "inbox", b"Subject: one\r\nFrom: bob@example.org\r\n\r\nhi\r\n")
    assert pm.hook.hub_mail_partitions(account=account, folder="inbox", since=since(), parts=4) is None, \
        "a memory folder is never split: one job pages through it"


def test_hook_hub_mail_folders(pm, account, backend):
    assert pm.hook.hub_mail_folders(account=account) == ["inbox", "sent"]


def test_hook_hub_send_mail(pm, account, backend):
    message = OutgoingMessage(sender=Address(EMAIL), to=[Address("bob@example.org")], subject="Offer",
                              text_body="Attached.", in_reply_to="<q@example.org>", references=["<q@example.org>"])
    sent = pm.call("hub_send_mail", account=account, message=message)
    assert sent.thread_id == "<q@example.org>"
    assert sent.message_id.encode() in backend.outbox[0]
    page = pm.call("hub_sync_mail", account=account, folder="sent", cursor=None, limit=10, since=since())
    assert [(m.subject, m.in_reply_to) for m in page.messages] == [("Offer", "<q@example.org>")]


def test_hook_hub_watch(pm, account, backend):
    channel = pm.call("hub_watch", account=account, kind="calendar", key="primary", address="http://h/w", renew=None)
    assert channel.calendar_id == "primary" and channel.token
    renewed = pm.call("hub_watch", account=account, kind="calendar", key="primary", address="http://h/w", renew=channel)
    assert (renewed.channel_id, renewed.token) == (channel.channel_id, channel.token)
    assert renewed.expires_at >= channel.expires_at
    assert list(backend.accounts[EMAIL].channels) == [channel.channel_id]


def test_hook_hub_unwatch(pm, account, backend):
    channel = pm.call("hub_watch", account=account, kind="mail", key="inbox", address="http://h/w", renew=None)
    assert pm.call("hub_unwatch", account=account, channel=channel) is True
    backend.deliver(EMAIL, "inbox", b"Subject: x\r\n\r\ny\r\n")
    assert backend.last_notification(channel.channel_id) is None  # a stopped channel stays quiet


def test_hook_hub_handle_webhook(pm, account, backend):
    channel = pm.call("hub_watch", account=account, kind="calendar", key="primary", address="http://h/w", renew=None)
    backend.put_event(EMAIL, "primary", RemoteEvent("", *slot(2, 9)))
    request = backend.last_notification(channel.channel_id)
    result = pm.call("hub_handle_webhook", account=account, request=request, channels=[channel])
    assert [(s.kind, s.key) for s in result.syncs] == [("calendar", "primary")]
    with pytest.raises(WebhookRejected):
        pm.call("hub_handle_webhook", account=account, request=request, channels=[])


@pytest.fixture
def hub_plugins(backend, recorder):
    return [("memory", MemoryProvider(backend)), ("recorder", recorder)]


def test_hook_hub_account_connected(hub, make_user, recorder):
    account_id = connect_account(hub, make_user(EMAIL), "memory", {"email": EMAIL, "password": "secret"})
    assert recorder.seen == [("connected", account_id, "memory")]


def test_hook_hub_sync_finished(hub, make_user, recorder, backend):
    account_id = connect_account(hub, make_user(EMAIL), "memory", {"email": EMAIL, "password": "secret"})
    backend.put_event(EMAIL, "primary", RemoteEvent("", *slot(2, 9)))
    refresh_calendars(hub, account_id)
    with hub.db.session() as s:
        calendar_id = s.scalar(sa.select(Calendar.id).where(Calendar.remote_id == "primary"))
    sync_calendar(hub, account_id, calendar_id)
    backend.deliver(EMAIL, "inbox", b"Subject: x\r\nFrom: bob@example.org\r\n\r\nhi\r\n")
    sync_folder(hub, account_id, "inbox")
    finished = [(kind, key, stats) for _, _, kind, key, stats in recorder.seen[1:]]
    assert [(kind, key) for kind, key, _ in finished] == [("calendar", "primary"), ("mail", "inbox")]
    assert finished[0][2] == {"changed": 1} and finished[1][2]["stored"] == 1
