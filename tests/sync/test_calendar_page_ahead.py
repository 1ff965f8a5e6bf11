"""The calendar pull reads the next page while it stores the last one: an initial sync of many pages
takes about the longer of the provider's time and the database's, not their sum — and stays exactly
as safe as reading page after page (one call at a time, nothing stored twice, nothing left running)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from hub.accounts import connect_account
from hub.exceptions import ProviderUnavailable
from hub.models import Calendar, CalendarEvent, SyncCursor
from hub.plugins import hookimpl
from hub.sync.calendar_pull import lock_calendar, sync_calendar
from hub.sync.calendars import refresh_calendars
from hub.testing.memory import MemoryProvider
from hub.testing.memory_backend import MemoryBackend
from hub.testing.waiting import PATIENCE
from hub.types import RemoteEvent

EMAIL = "ann@corp.test"
PAGE = 10


class Watched(MemoryProvider):
    """The memory provider, telling the test when pages are asked for, and whether two calls overlapped."""

    def __init__(self, backend: MemoryBackend):
        super().__init__(backend)
        self.first_asked, self.go_on, self.second_asked = threading.Event(), threading.Event(), threading.Event()
        self.fail_after_first = False
        self.calls = 0
        self._running = 0
        self.overlapped = False
        self._guard = threading.Lock()

    @hookimpl
    def hub_fetch_events(self, account, calendar_id, cursor, window):
        with self._guard:
            self._running += 1
            self.calls += 1
            self.overlapped |= self._running > 1
        try:
            if cursor is None:
                self.first_asked.set()
                assert self.go_on.wait(PATIENCE)
            else:
                self.second_asked.set()
                if self.fail_after_first:
                    raise ProviderUnavailable("The calendar server is down.")
            return super().hub_fetch_events(account=account, calendar_id=calendar_id, cursor=cursor, window=window)
        finally:
            with self._guard:
                self._running -= 1


@pytest.fixture
def backend():
    b = MemoryBackend()
    b.add_account(EMAIL, "pw")
    b.page_size = PAGE
    start = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=2)
    for n in range(3 * PAGE + 3):
        b.put_event(EMAIL, "primary", RemoteEvent(f"e{n:03}", start + timedelta(hours=n),
                                                  start + timedelta(hours=n, minutes=30), summary=f"meeting {n}"))
    return b


@pytest.fixture
def provider(backend):
    return Watched(backend)


@pytest.fixture
def hub_plugins(provider):
    return [("memory", provider)]


@pytest.fixture
def calendar(hub, make_user):
    account_id = connect_account(hub, make_user(EMAIL), "memory", {"email": EMAIL, "password": "pw"})
    refresh_calendars(hub, account_id)
    with hub.db.session() as s:
        return account_id, s.scalar(sa.select(Calendar.id).where(Calendar.account_id == account_id))


def stored(hub) -> list[str]:
    with hub.db.session() as s:
        return s.scalars(sa.select(CalendarEvent.remote_id).order_by(CalendarEvent.remote_id)).all()


def test_the_next_page_is_asked_for_while_the_last_one_waits_for_the_database(hub, provider, calendar):
    account_id, calendar_id = calendar
    outcome: dict = {}
    pull = threading.Thread(target=lambda: outcome.update(sync_calendar(hub, account_id, calendar_id)))
    pull.start()
    assert provider.first_asked.wait(PATIENCE)
    with hub.db.session(write_lock=True) as s:  # the database is busy: page 1 cannot be stored yet
        lock_calendar(s, calendar_id)
        provider.go_on.set()
        assert provider.second_asked.wait(PATIENCE), "page 2 was not asked for while page 1 waited to be stored"
    pull.join(PATIENCE)
    assert not pull.is_alive()
    assert outcome["changed"] == 3 * PAGE + 3 and stored(hub) == [f"e{n:03}" for n in range(3 * PAGE + 3)]
    assert provider.calls == 4 and not provider.overlapped


def test_a_failure_on_the_page_read_ahead_keeps_the_page_before_it(hub, provider, calendar):
    account_id, calendar_id = calendar
    provider.go_on.set()
    provider.fail_after_first = True
    with pytest.raises(ProviderUnavailable):
        sync_calendar(hub, account_id, calendar_id)
    assert stored(hub) == [f"e{n:03}" for n in range(PAGE)], "page 1 stored, with the cursor after it"
    with hub.db.session() as s:
        assert s.scalar(sa.select(SyncCursor.cursor)).startswith("full:")

    provider.fail_after_first = False
    sync_calendar(hub, account_id, calendar_id)
    assert stored(hub) == [f"e{n:03}" for n in range(3 * PAGE + 3)]
    assert not provider.overlapped


def test_a_large_first_sync_keeps_the_planner_statistics_up(hub, backend, provider, calendar):
    """PostgreSQL plans from statistics autovacuum refreshes once a minute at best (and not at all where it is off):
    a table filled by a first sync still looks empty, and each page's lookups then read the whole calendar
    (a 20,000-event sync on PostgreSQL: 38 s instead of 14). The sync refreshes them as it goes."""
    if hub.db.is_sqlite:
        pytest.skip("the statistics are PostgreSQL's; SQLite plans without them")
    account_id, calendar_id = calendar
    start = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=3)
    for n in range(3_000):
        backend.put_event(EMAIL, "primary", RemoteEvent(f"big{n:05}", start + timedelta(minutes=10 * n),
                                                        start + timedelta(minutes=10 * n + 5)))
    backend.page_size = 500
    provider.go_on.set()
    sync_calendar(hub, account_id, calendar_id)
    with hub.db.engine.connect() as conn:
        [[plan]] = conn.exec_driver_sql(
            f"EXPLAIN (FORMAT JSON) SELECT 1 FROM calendar_events WHERE calendar_id = {calendar_id}").all()
    assert plan[0]["Plan"]["Plan Rows"] >= 1_500, "the planner knows the calendar holds thousands of rows"
