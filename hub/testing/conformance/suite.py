"""The suite itself, :class:`ProviderTests` (see :mod:`hub.testing.conformance` for how it is used)."""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest

from hub import oauth
from hub.exceptions import AuthenticationFailed, AuthExpired, CursorExpired, WebhookRejected, WrongEtag
from hub.plugins import PluginManager
from hub.testing.conformance.helpers import FetchResult, fetch_all, raw_mail, slot, sync_mail_all, tag
from hub.types import (
    CALENDAR_READ,
    CALENDAR_WRITE,
    FREE_BUSY,
    MAIL,
    PUSH,
    SEND,
    VIDEO,
    AccountHandle,
    Address,
    ConnectResult,
    EventChange,
    OutgoingMessage,
    ProviderContext,
    RemoteEvent,
    Window,
)


def needs(*flags: str):
    """Mark a suite test as needing capability flags (``"supports_calendar"`` …); skipped without them."""

    def mark(test):
        test.needs = flags
        return test

    return mark


class ProviderTests:
    """The provider contract, as tests. Subclass it in your plugin's test module::

        class TestAcme(ProviderTests):
            provider_name = "acme"
            supports_calendar = True

            @pytest.fixture
            def provider_plugin(self):
                return hub_acme.hooks

            @pytest.fixture
            def remote(self, acme_sandbox):          # your sandbox / peer fixture
                return AcmeRemote(acme_sandbox)

            @pytest.fixture
            def good_connect_params(self, acme_sandbox):
                return {"email": "alice@example.com", "api_key": acme_sandbox.key}

            @pytest.fixture
            def bad_connect_params(self):
                return {"email": "alice@example.com", "api_key": "wrong"}

    **Fixtures the subclass must supply** (function scope unless yours can be shared)::

        provider_plugin      the plugin to register: the hooks module, or an object with @hookimpl methods
        remote               a Remote subclass instance for the sandbox / peer (see Remote)
        bad_connect_params   dict for hub_connect that must fail with ``bad_connect_error``
        good_connect_params  dict for hub_connect that succeeds — form providers must supply it;
                             OAuth providers get a default that runs authorization_url -> remote.approve

    **Fixtures with defaults** (override when your provider needs something else)::

        context              ProviderContext(name=provider_name, config={}, base_url=..., allow_private_hosts=True)
                             — override to pass admin config (OAuth client id, sandbox base URLs)
        plugin_manager       a real PluginManager with only ``provider_plugin`` loaded
        hooks                plugin_manager.hook
        provider_info        the ProviderInfo the plugin registered under ``provider_name``
        account              AccountHandle built from hub_connect(good_connect_params), as the core builds it
        calendar_id          the primary writable calendar from hub_list_calendars
        window               now - 1 day .. now + 60 days
        webhook_address      the hub's webhook URL for the account (base_url/webhooks/<provider>/<id>)
        mail_recipient       the address test mail is sent to ("someone@example.com")

    **Class attributes**::

        provider_name        the name your ProviderInfo registers (required)
        supports_calendar_read   CALENDAR_READ  — list calendars; fetch full and incremental, recurring
                                 series with exceptions, all-day events, seeded on the provider side
                                 through ``remote``
        supports_calendar_write  CALENDAR_WRITE — push create/update/delete, idempotent create, etag
                                 precondition; recurring and all-day events round trip
        supports_calendar    shorthand for both (``CALENDAR`` in the ProviderInfo)
        server_cursors       the provider's cursors can expire at the server (Google 410, CalDAV 403/412,
                             IMAP UIDVALIDITY): the expired-cursor tests run. Default True; False for
                             providers whose cursor is only a local marker (an ETag of a feed)
        supports_free_busy   FREE_BUSY — busy intervals, transparent events excluded, recurrences expanded
        supports_mail        MAIL      — paging with limit and cursor, only new mail next time, expiry
        supports_send        SEND      — send mail (checked in the "sent" folder too when supports_mail)
        supports_push        PUSH      — watch a calendar (a mail folder without supports_calendar), webhook
                                         with good token -> syncs, bad token -> WebhookRejected, renew, unwatch
        supports_video       VIDEO     — push with want_video returns a video link
        revokes_on_disconnect  after hub_disconnect the stored credentials stop working (AuthExpired);
                             False for password accounts where nothing can be revoked
        bad_connect_error    the exact error class bad_connect_params raise (default AuthenticationFailed)

    The flags must equal the capabilities your ProviderInfo declares (checked by
    ``test_capabilities_match_flags``): a declared capability is a tested capability.

    **Remote methods each flag needs** (see :class:`Remote`): calendar — create_event, update_event,
    delete_event, expire_cursors; mail — deliver_mail, expire_cursors; push — notification;
    ``connect_kind="oauth"`` — approve.

    Tests mark what they create with a unique tag and look only at their own objects, so an account
    shared between tests (or with leftovers of earlier runs) is fine.
    """

    provider_name: str = ""
    supports_calendar = False
    supports_calendar_read = False
    supports_calendar_write = False
    server_cursors = True
    supports_free_busy = False
    supports_mail = False
    supports_send = False
    supports_push = False
    supports_video = False
    revokes_on_disconnect = True
    bad_connect_error: type[Exception] = AuthenticationFailed

    _FLAGS = {
        CALENDAR_READ: "supports_calendar_read",
        CALENDAR_WRITE: "supports_calendar_write",
        FREE_BUSY: "supports_free_busy",
        MAIL: "supports_mail",
        SEND: "supports_send",
        PUSH: "supports_push",
        VIDEO: "supports_video",
    }

    @pytest.fixture(autouse=True)
    def _skip_by_capability(self, request):
        """Skip a test marked with :func:`needs` before its fixtures reach for the provider."""
        for flag in getattr(request.function, "needs", ()):
            if not self.has(flag):
                pytest.skip(f"{self.provider_name} does not have {flag.removeprefix('supports_')}")

    def has(self, flag: str) -> bool:
        """A capability flag of this class (``supports_calendar`` stands for reading and writing)."""
        if flag in ("supports_calendar_read", "supports_calendar_write") and self.supports_calendar:
            return True
        if flag == "supports_calendar":
            return self.has("supports_calendar_read") and self.has("supports_calendar_write")
        return bool(getattr(self, flag))

    # --- fixtures with defaults ------------------------------------------------------------------

    @pytest.fixture
    def context(self) -> ProviderContext:
        return ProviderContext(name=self.provider_name, config={}, base_url="http://127.0.0.1:8000",
                               allow_private_hosts=True)

    @pytest.fixture
    def plugin_manager(self, provider_plugin) -> PluginManager:
        assert self.provider_name, "set provider_name on your ProviderTests subclass"
        pm = PluginManager()
        pm.load("", extra=[(self.provider_name, provider_plugin)])  # '' = no entry-point plugins
        return pm

    @pytest.fixture
    def hooks(self, plugin_manager):
        return plugin_manager.hook

    @pytest.fixture
    def provider_info(self, plugin_manager):
        assert self.provider_name in plugin_manager.providers, (
            f"the plugin did not register a provider called {self.provider_name!r}"
        )
        return plugin_manager.providers[self.provider_name]

    @pytest.fixture
    def good_connect_params(self, hooks, context, provider_info, remote) -> dict[str, Any]:
        if provider_info.connect_kind != "oauth":
            raise NotImplementedError("form providers supply a good_connect_params fixture")
        start = oauth.start(f"{context.base_url}/integrations/{self.provider_name}/callback")
        url = hooks.hub_authorization_url(context=context, start=start)
        query = remote.approve(url)
        assert query.get("state") == start.state, "the provider must hand back the state it was given"
        return {"code": query["code"], "code_verifier": start.code_verifier, "redirect_uri": start.redirect_uri}

    @pytest.fixture
    def account(self, hooks, context, good_connect_params) -> AccountHandle:
        result = hooks.hub_connect(context=context, params=good_connect_params)
        assert isinstance(result, ConnectResult)
        return AccountHandle(id=1, provider=self.provider_name, email=result.email,
                             credentials=dict(result.credentials), settings=dict(result.settings), context=context)

    @pytest.fixture
    def calendar_id(self, hooks, account) -> str:
        """The primary (else first) calendar the tests may use: writable when the provider writes."""
        calendars = hooks.hub_list_calendars(account=account) or []
        if self.has("supports_calendar_write"):
            calendars = [c for c in calendars if c.access_role in ("owner", "writer")]
            assert calendars, "the test account needs a writable calendar"
        assert calendars, "the test account needs a calendar"
        return next((c for c in calendars if c.is_primary), calendars[0]).remote_id

    @pytest.fixture
    def window(self) -> Window:
        now = datetime.now(timezone.utc)
        return Window(start=now - timedelta(days=1), end=now + timedelta(days=60))

    @pytest.fixture
    def webhook_address(self, context, account) -> str:
        return f"{context.base_url}/webhooks/{self.provider_name}/{account.id}"

    @pytest.fixture
    def mail_recipient(self) -> str:
        return "someone@example.com"

    # --- registration and connecting ---------------------------------------------------------------

    def test_capabilities_match_flags(self, provider_info):
        declared = {cap for cap in self._FLAGS if provider_info.can(cap)}
        flagged = {cap for cap, flag in self._FLAGS.items() if self.has(flag)}
        assert declared == flagged, (
            f"ProviderInfo declares {sorted(declared)} but the test class flags {sorted(flagged)}"
        )

    def test_foreign_account_is_ignored(self, plugin_manager, context):
        """The core asks a provider only about its own accounts (contract v2): hooks need no ownership check."""
        other_context = replace(context, name=self.provider_name + "-other")
        other = AccountHandle(id=2, provider=other_context.name, email="x@example.com", credentials={},
                              settings={}, context=other_context)
        now = datetime.now(timezone.utc)
        window = Window(now, now + timedelta(days=1))
        start = oauth.start("http://127.0.0.1/callback")
        assert plugin_manager.maybe_call("hub_authorization_url", context=other_context, start=start) is None
        assert plugin_manager.maybe_call("hub_connect", context=other_context, params={}) is None
        assert plugin_manager.maybe_call("hub_list_calendars", account=other) is None
        assert plugin_manager.maybe_call("hub_fetch_events", account=other, calendar_id="c", cursor=None,
                                         window=window) is None
        assert plugin_manager.maybe_call("hub_sync_mail", account=other, folder="inbox", cursor=None, limit=10,
                                         since=now) is None

    def test_connect_with_good_credentials(self, hooks, context, good_connect_params):
        result = hooks.hub_connect(context=context, params=good_connect_params)
        assert isinstance(result, ConnectResult)
        assert "@" in result.email
        assert isinstance(result.credentials, dict) and result.credentials
        for value in result.credentials.values():
            if isinstance(value, str) and len(value) > 3:
                assert value not in repr(result), "credentials must never show in reprs"

    def test_connect_with_bad_credentials(self, hooks, context, bad_connect_params):
        with pytest.raises(Exception) as caught:
            hooks.hub_connect(context=context, params=bad_connect_params)
        error = caught.value
        assert type(error) is self.bad_connect_error, f"expected {self.bad_connect_error.__name__}, got {error!r}"
        assert error.message and error.fix, "a connect error says what happened and how to fix it"
        for value in bad_connect_params.values():
            if isinstance(value, str) and len(value) > 3 and "password" in str(value).lower():
                assert value not in error.message

    def test_authorization_url(self, hooks, context, provider_info):
        start = oauth.start("http://127.0.0.1:8000/callback", login_hint="alice@example.com")
        url = hooks.hub_authorization_url(context=context, start=start)
        if provider_info.connect_kind != "oauth":
            assert url is None, "a form provider has no authorization URL"
            return
        query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        assert query["state"] == start.state
        assert query["code_challenge"] == start.code_challenge
        assert query["code_challenge_method"] == "S256"
        assert query["redirect_uri"] == start.redirect_uri
        assert "code_verifier" not in query, "the verifier never leaves the hub"

    def test_disconnect_revokes_access(self, hooks, account):
        assert hooks.hub_disconnect(account=account) is True
        if not self.revokes_on_disconnect:
            return
        if self.has("supports_calendar_read"):
            with pytest.raises(AuthExpired):
                hooks.hub_list_calendars(account=account)
        if self.supports_mail:
            with pytest.raises(AuthExpired):
                hooks.hub_sync_mail(account=account, folder="inbox", cursor=None, limit=10,
                                    since=datetime.now(timezone.utc) - timedelta(days=1))

    # --- calendars ---------------------------------------------------------------------------------

    @needs("supports_calendar_read")
    def test_list_calendars(self, hooks, account, calendar_id):
        calendars = hooks.hub_list_calendars(account=account)
        ids = [c.remote_id for c in calendars]
        assert calendar_id in ids
        assert len(ids) == len(set(ids)), "calendar ids are unique"
        assert all(c.access_role in ("owner", "writer", "reader", "freeBusyReader") for c in calendars)
        assert sum(c.is_primary for c in calendars) <= 1

    def _event(self, summary: str, days: int, hour: int, **fields) -> RemoteEvent:
        start, end = slot(days, hour)
        return RemoteEvent(remote_id="", start=start, end=end, summary=summary, **fields)

    @needs("supports_calendar_read")
    def test_full_then_incremental_fetch(self, hooks, account, calendar_id, remote, window):
        t = tag()
        ids = {name: remote.create_event(calendar_id, self._event(f"{t} {name}", 3, 9 + i))
               for i, name in enumerate(["kept", "edited", "deleted"])}
        full = fetch_all(hooks, account, calendar_id, None, window)
        assert set(ids.values()) <= set(full.events), "a full fetch returns every event in the window"
        assert full.events[ids["kept"]].summary == f"{t} kept"

        edited = full.events[ids["edited"]]
        remote.update_event(calendar_id, edited.replace(summary=f"{t} edited again"))
        remote.delete_event(calendar_id, ids["deleted"])
        added = remote.create_event(calendar_id, self._event(f"{t} added", 4, 9))

        delta = fetch_all(hooks, account, calendar_id, full.cursor, window)
        assert delta.events[added].summary == f"{t} added"
        assert delta.events[ids["edited"]].summary == f"{t} edited again"
        assert ids["deleted"] in delta.deleted
        assert ids["kept"] not in delta.events, "an incremental fetch returns only what changed"

        quiet = fetch_all(hooks, account, calendar_id, delta.cursor, window)
        assert not (set(quiet.events) & ({added} | set(ids.values()))), "nothing changed since the last cursor"

    @needs("supports_calendar_read", "server_cursors")
    def test_expired_cursor(self, hooks, account, calendar_id, remote, window):
        cursor = fetch_all(hooks, account, calendar_id, None, window).cursor
        remote.expire_cursors()
        with pytest.raises(CursorExpired):
            fetch_all(hooks, account, calendar_id, cursor, window)
        assert fetch_all(hooks, account, calendar_id, None, window).cursor, "a full sync still works"

    @needs("supports_calendar_read")
    def test_recurring_series_written_elsewhere(self, hooks, account, calendar_id, remote, window):
        zone = ZoneInfo("Europe/Berlin")
        start = datetime.combine(date.today() + timedelta(days=5), datetime.min.time(), zone).replace(hour=10)
        series = RemoteEvent(remote_id="", start=start, end=start + timedelta(minutes=45), summary=tag(),
                             timezone="Europe/Berlin", recurrence=["RRULE:FREQ=WEEKLY;COUNT=3"])
        remote_id = remote.create_event(calendar_id, series)
        back = fetch_all(hooks, account, calendar_id, None, window).events[remote_id]
        assert (back.summary, back.start, back.end) == (series.summary, series.start, series.end)
        assert back.timezone == "Europe/Berlin", "a series keeps its zone: it decides where occurrences fall"
        [rule] = [line for line in back.recurrence if line.startswith("RRULE:")]
        assert {"FREQ=WEEKLY", "COUNT=3"} <= set(rule.removeprefix("RRULE:").split(";"))

    @needs("supports_calendar_read")
    def test_all_day_event_written_elsewhere(self, hooks, account, calendar_id, remote, window):
        day = date.today() + timedelta(days=6)
        remote_id = remote.create_event(calendar_id, RemoteEvent(remote_id="", start=day, end=day + timedelta(days=2),
                                                                 all_day=True, summary=tag()))
        back = fetch_all(hooks, account, calendar_id, None, window).events[remote_id]
        assert back.all_day and (back.start, back.end) == (day, day + timedelta(days=2))
        assert type(back.start) is date, "all-day values are dates, not datetimes"

    def _push_one(self, hooks, account, calendar_id, change: EventChange):
        results = hooks.hub_push_events(account=account, calendar_id=calendar_id, changes=[change])
        assert len(results) == 1 and results[0].client_id == change.client_id
        if results[0].error is not None:
            raise results[0].error
        return results[0]

    def _mine(self, fetched: FetchResult, client_id: str) -> list[RemoteEvent]:
        return [e for e in fetched.events.values() if e.hub_marker == client_id and e.status != "cancelled"]

    @needs("supports_calendar_write")
    def test_recurring_event_round_trip(self, hooks, account, calendar_id, window):
        zone = ZoneInfo("Europe/Berlin")
        start = datetime.combine(date.today() + timedelta(days=5), datetime.min.time(), zone).replace(hour=10)
        event = RemoteEvent(remote_id="", start=start, end=start + timedelta(minutes=45), summary=tag(),
                            timezone="Europe/Berlin", recurrence=["RRULE:FREQ=WEEKLY;COUNT=3"])
        client_id = tag()
        pushed = self._push_one(hooks, account, calendar_id, EventChange("create", client_id, event=event,
                                                                       send_invites=False))
        [back] = self._mine(fetch_all(hooks, account, calendar_id, None, window), client_id)
        assert back.remote_id == pushed.remote_id
        assert (back.summary, back.start, back.end) == (event.summary, event.start, event.end)
        rules = [line for line in back.recurrence if line.startswith("RRULE:")]
        assert len(rules) == 1
        parts = set(rules[0].removeprefix("RRULE:").split(";"))
        assert {"FREQ=WEEKLY", "COUNT=3"} <= parts

    @needs("supports_calendar_write")
    def test_all_day_event_round_trip(self, hooks, account, calendar_id, window):
        day = date.today() + timedelta(days=6)
        event = RemoteEvent(remote_id="", start=day, end=day + timedelta(days=2), all_day=True, summary=tag())
        client_id = tag()
        self._push_one(hooks, account, calendar_id, EventChange("create", client_id, event=event, send_invites=False))
        [back] = self._mine(fetch_all(hooks, account, calendar_id, None, window), client_id)
        assert back.all_day
        assert (back.start, back.end) == (day, day + timedelta(days=2))
        assert type(back.start) is date, "all-day values are dates, not datetimes"

    @needs("supports_calendar_write")
    def test_push_create_update_delete(self, hooks, account, calendar_id, window):
        client_id = tag()
        event = self._event(tag(), 7, 9, description="made by the hub", location="Room 1")
        created = self._push_one(hooks, account, calendar_id, EventChange("create", client_id, event=event,
                                                                        send_invites=False))
        assert created.remote_id and created.etag
        full = fetch_all(hooks, account, calendar_id, None, window)
        [back] = self._mine(full, client_id)
        assert (back.remote_id, back.summary, back.location) == (created.remote_id, event.summary, "Room 1")
        assert (back.start, back.end) == (event.start, event.end)

        moved = event.replace(remote_id=created.remote_id, summary=event.summary + " moved",
                              start=event.start + timedelta(hours=1), end=event.end + timedelta(hours=1))
        updated = self._push_one(hooks, account, calendar_id, EventChange(
            "update", client_id, event=moved, remote_id=created.remote_id, etag=created.etag))
        assert updated.etag and updated.etag != created.etag
        delta = fetch_all(hooks, account, calendar_id, full.cursor, window)
        assert delta.events[created.remote_id].summary == moved.summary
        assert delta.events[created.remote_id].start == moved.start

        self._push_one(hooks, account, calendar_id, EventChange(
            "delete", client_id, remote_id=created.remote_id, etag=updated.etag))
        gone = fetch_all(hooks, account, calendar_id, delta.cursor, window)
        assert created.remote_id in gone.deleted
        assert not self._mine(fetch_all(hooks, account, calendar_id, None, window), client_id)

    @needs("supports_calendar_write")
    def test_retried_create_yields_one_event(self, hooks, account, calendar_id, window):
        client_id = tag()
        change = EventChange("create", client_id, event=self._event(tag(), 8, 9), send_invites=False)
        first = self._push_one(hooks, account, calendar_id, change)
        second = self._push_one(hooks, account, calendar_id, change)  # the job ran again after a crash
        assert second.remote_id == first.remote_id
        assert len(self._mine(fetch_all(hooks, account, calendar_id, None, window), client_id)) == 1

    @needs("supports_calendar_write")
    def test_update_with_stale_etag_fails(self, hooks, account, calendar_id, remote, window):
        client_id = tag()
        event = self._event(tag(), 9, 9)
        created = self._push_one(hooks, account, calendar_id, EventChange("create", client_id, event=event,
                                                                        send_invites=False))
        [seen] = self._mine(fetch_all(hooks, account, calendar_id, None, window), client_id)
        remote.update_event(calendar_id, seen.replace(summary=event.summary + " (edited by the user)"))

        change = EventChange("update", client_id, event=event.replace(remote_id=created.remote_id, summary="hub"),
                             remote_id=created.remote_id, etag=created.etag)
        [result] = hooks.hub_push_events(account=account, calendar_id=calendar_id, changes=[change])
        assert isinstance(result.error, WrongEtag), f"expected WrongEtag, got {result.error!r}"
        [after] = self._mine(fetch_all(hooks, account, calendar_id, None, window), client_id)
        assert after.summary == event.summary + " (edited by the user)", "a failed precondition changes nothing"

        delete = EventChange("delete", client_id, remote_id=created.remote_id, etag=created.etag)
        [result] = hooks.hub_push_events(account=account, calendar_id=calendar_id, changes=[delete])
        assert isinstance(result.error, WrongEtag)

    @needs("supports_calendar_write", "supports_video")
    def test_push_with_video_link(self, hooks, account, calendar_id, window):
        client_id = tag()
        change = EventChange("create", client_id, event=self._event(tag(), 10, 9), want_video=True, send_invites=False)
        pushed = self._push_one(hooks, account, calendar_id, change)
        assert pushed.video_url and pushed.video_url.startswith("https://")
        [back] = self._mine(fetch_all(hooks, account, calendar_id, None, window), client_id)
        assert back.video_url == pushed.video_url

    @needs("supports_free_busy", "supports_calendar_write")
    def test_free_busy_excludes_transparent(self, hooks, account, calendar_id):
        busy_start, busy_end = slot(40, 8)
        free_start, free_end = slot(40, 11)
        weekly_start, weekly_end = slot(41, 14, minutes=30)
        for event in (
            RemoteEvent("", busy_start, busy_end, summary=tag()),
            RemoteEvent("", free_start, free_end, summary=tag(), transparent=True),
            RemoteEvent("", weekly_start, weekly_end, summary=tag(), timezone="UTC",
                        recurrence=["RRULE:FREQ=WEEKLY;COUNT=2"]),
        ):
            self._push_one(hooks, account, calendar_id, EventChange("create", tag(), event=event, send_invites=False))
        answer = hooks.hub_free_busy(account=account, calendar_ids=[calendar_id], start=busy_start - timedelta(hours=1),
                                     end=weekly_end + timedelta(days=8))
        assert not answer.errors
        busy = answer.busy[calendar_id]

        def covered(start, end):
            return any(b.start <= start and b.end >= end for b in busy)

        def touched(start, end):
            return any(b.start < end and b.end > start for b in busy)

        assert covered(busy_start, busy_end)
        assert not touched(free_start, free_end), "transparent events never block time"
        assert covered(weekly_start, weekly_end)
        assert covered(weekly_start + timedelta(days=7), weekly_end + timedelta(days=7)), "recurrences expand"
        assert not touched(weekly_start + timedelta(days=7, hours=2), weekly_end + timedelta(days=7, hours=2))

    # --- mail --------------------------------------------------------------------------------------

    def _deliver(self, remote, account, folder: str, subject: str) -> str:
        raw, msg_id = raw_mail(subject, "Sam Sender <sam@example.org>", account.email, f"Body of {subject}.")
        remote.deliver_mail(folder, raw)
        return msg_id

    @needs("supports_mail")
    def test_mail_paging_then_only_new_mail(self, hooks, account, remote):
        t = tag()
        since = datetime.now(timezone.utc) - timedelta(days=2)
        sent_ids = [self._deliver(remote, account, "inbox", f"{t} {i}") for i in range(5)]
        messages, _, cursor = sync_mail_all(hooks, account, "inbox", None, 2, since)
        mine = [m for m in messages if m.message_id in sent_ids]
        assert sorted(m.message_id for m in mine) == sorted(sent_ids), "each message exactly once"
        first = next(m for m in mine if m.message_id == sent_ids[0])
        assert first.subject == f"{t} 0"
        assert first.sender.email == "sam@example.org" and first.sender.name == "Sam Sender"
        assert [a.email for a in first.to] == [account.email]
        assert f"Body of {t} 0." in first.text_body
        assert first.date is not None and first.date.tzinfo is not None
        assert first.folder == "inbox" and first.remote_id

        newest = self._deliver(remote, account, "inbox", f"{t} new")
        messages, _, cursor = sync_mail_all(hooks, account, "inbox", cursor, 2, since)
        assert [m.message_id for m in messages if t in m.subject] == [newest], "only new mail comes back"
        messages, _, _ = sync_mail_all(hooks, account, "inbox", cursor, 2, since)
        assert not [m for m in messages if t in m.subject]

    @needs("supports_mail", "server_cursors")
    def test_mail_expired_cursor(self, hooks, account, remote):
        since = datetime.now(timezone.utc) - timedelta(days=2)
        self._deliver(remote, account, "inbox", tag())
        _, _, cursor = sync_mail_all(hooks, account, "inbox", None, 50, since)
        remote.expire_cursors()
        with pytest.raises(CursorExpired):
            sync_mail_all(hooks, account, "inbox", cursor, 50, since)

    @needs("supports_send")
    def test_send_mail(self, hooks, account, mail_recipient):
        subject = tag()
        since = datetime.now(timezone.utc) - timedelta(days=1)
        message = OutgoingMessage(sender=Address(account.email, "Alice"), to=[Address(mail_recipient)],
                                  subject=subject, text_body="Hello from the hub.")
        sent = hooks.hub_send_mail(account=account, message=message)
        assert sent is not None and (sent.remote_id or sent.message_id)
        if not self.supports_mail:
            return
        messages, _, _ = sync_mail_all(hooks, account, "sent", None, 50, since)
        [copy] = [m for m in messages if m.subject == subject]
        assert [a.email for a in copy.to] == [mail_recipient]
        assert "Hello from the hub." in copy.text_body
        if sent.message_id:
            assert copy.message_id == sent.message_id

    # --- push notifications ------------------------------------------------------------------------

    @needs("supports_push")
    def test_webhook_verification(self, request, hooks, account, remote, webhook_address):
        # calendar channels where the provider has calendars, else a mail folder channel
        kind, key = (("calendar", request.getfixturevalue("calendar_id")) if self.has("supports_calendar_read")
                     else ("mail", "inbox"))
        channel = hooks.hub_watch(account=account, kind=kind, key=key, address=webhook_address, renew=None)
        assert channel is not None and channel.token
        assert channel.expires_at > datetime.now(timezone.utc)

        notification = remote.notification(channel)
        result = hooks.hub_handle_webhook(account=account, request=notification, channels=[channel])
        assert 200 <= result.status < 300
        assert any(s.kind == kind and s.key in (key, None) for s in result.syncs)

        forged = replace(channel, token="forged-" + secrets.token_hex(8))
        with pytest.raises(WebhookRejected):
            hooks.hub_handle_webhook(account=account, request=notification, channels=[forged])

        renewed = hooks.hub_watch(account=account, kind=kind, key=key, address=webhook_address, renew=channel)
        assert renewed.expires_at >= channel.expires_at
        assert hooks.hub_unwatch(account=account, channel=renewed) is True
        assert hooks.hub_unwatch(account=account, channel=renewed) is True, "stopping a stopped channel is fine"
