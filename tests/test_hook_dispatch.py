"""How the core calls plugins, driven through the engines: a per-account hook reaches only the account's
own provider (so a provider never asks whose account it got), answers are type-checked at the boundary,
and broadcast notifications — fired by the calendar *and* the mail engine — survive a faulty observer."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from hub.accounts import connect_account
from hub.exceptions import ProviderError
from hub.models import Calendar, MailMessage, SyncCursor
from hub.plugins import hookimpl
from hub.sync import calendar_pull
from hub.sync.calendars import refresh_calendars
from hub.sync.mail import sync_folder
from hub.testing.conformance import slot
from hub.testing.memory import MemoryBackend, MemoryProvider
from hub.types import CALENDAR, ProviderInfo, RemoteEvent

ALICE = "alice@example.com"


class Nosy:
    """A provider plugin written for contract v2: no ownership guard in any hook. It answers every hook
    it gets — wrongly typed — so a call that reached it for another provider's account would show."""

    def __init__(self):
        self.calls: list[str] = []

    @hookimpl
    def hub_register_providers(self, register):
        register(ProviderInfo(name="nosy", label="Nosy", capabilities=frozenset({CALENDAR}), connect_kind="form"))

    @hookimpl
    def hub_list_calendars(self, account):
        self.calls.append("hub_list_calendars")
        return ["not a RemoteCalendar"]

    @hookimpl
    def hub_fetch_events(self, account, calendar_id, cursor, window):
        self.calls.append("hub_fetch_events")
        return {"events": []}


class Observer:
    """Sees every notification; raises on each when ``broken``."""

    def __init__(self, broken: bool = False):
        self.broken = broken
        self.seen: list[tuple] = []

    @hookimpl
    def hub_account_connected(self, account_id, provider):
        self.seen.append(("connected", account_id, provider))
        if self.broken:
            raise RuntimeError("observer bug")

    @hookimpl
    def hub_sync_finished(self, account_id, kind, key, stats):
        self.seen.append(("finished", kind, key))
        if self.broken:
            raise RuntimeError("observer bug")


@pytest.fixture
def backend():
    backend = MemoryBackend()
    backend.add_account(ALICE, "secret")
    return backend


@pytest.fixture
def nosy():
    return Nosy()


@pytest.fixture
def broken_observer():
    return Observer(broken=True)


@pytest.fixture
def observer():
    return Observer()


@pytest.fixture
def hub_plugins(backend, nosy, broken_observer, observer):
    # the broken observer registers first, so pluggy would call it before the healthy one
    return [("memory", MemoryProvider(backend)), ("nosy", nosy), ("observer", observer),
            ("broken", broken_observer)]


@pytest.fixture
def account_id(hub, make_user):
    return connect_account(hub, make_user(ALICE), "memory", {"email": ALICE, "password": "secret"})


def test_per_account_hooks_reach_only_the_accounts_provider(hub, account_id, backend, nosy):
    backend.put_event(ALICE, "primary", RemoteEvent("", *slot(2, 9), summary="Planning"))
    refresh_calendars(hub, account_id)
    with hub.db.session() as s:
        calendar_id = s.scalar(sa.select(Calendar.id).where(Calendar.account_id == account_id,
                                                            Calendar.remote_id == "primary"))
    stats = calendar_pull.sync_calendar(hub, account_id, calendar_id)
    assert stats["changed"] == 1
    assert nosy.calls == []


def test_a_wrongly_typed_answer_is_a_provider_error_naming_the_plugin(hub, make_user, nosy):
    account_id = connect_account_row(hub, make_user("bob@example.com"), "nosy")
    with pytest.raises(ProviderError, match="'nosy' answered hub_list_calendars with list, not list\\[RemoteCalendar\\]"):
        refresh_calendars(hub, account_id)
    assert nosy.calls == ["hub_list_calendars"]


def test_mail_sync_fires_sync_finished_and_a_raising_observer_fails_nothing(hub, account_id, backend, observer,
                                                                            broken_observer):
    backend.deliver(ALICE, "inbox", b"Subject: hello\r\nFrom: dan@globex.example\r\nTo: alice@example.com\r\n"
                                    b"Message-ID: <m1@globex.example>\r\n\r\nhi\r\n")
    stats = sync_folder(hub, account_id, "inbox")
    assert stats["stored"] == 1
    assert ("finished", "mail", "inbox") in observer.seen
    assert ("finished", "mail", "inbox") in broken_observer.seen  # it was called, raised, and was skipped
    with hub.db.session() as s:
        assert s.scalar(sa.select(sa.func.count(MailMessage.id))) == 1
        cursor = s.scalar(sa.select(SyncCursor).where(SyncCursor.kind == "mail", SyncCursor.key == "inbox"))
        assert cursor.finished_at is not None and cursor.initial_done


def test_connecting_notifies_every_observer_even_after_one_raised(hub, account_id, observer, broken_observer):
    assert observer.seen[0] == ("connected", account_id, "memory")
    assert broken_observer.seen[0] == ("connected", account_id, "memory")


def connect_account_row(hub, user_id: int, provider: str) -> int:
    """An account row for a provider whose connect flow the test does not need."""
    from hub.models import Account

    with hub.db.session() as s:
        account = Account(user_id=user_id, provider=provider, email="bob@example.com")
        s.add(account)
        s.flush()
        return account.id
