"""An event the provider cannot read is skipped, the rest of the page syncs, and the user is told."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from hub.accounts import connect_account
from hub.models import Account, AccountError, AccountStatus, Calendar, CalendarEvent
from hub.plugins import hookimpl
from hub.sync.calendar_pull import sync_calendar
from hub.sync.calendars import refresh_calendars
from hub.testing.memory import MemoryProvider
from hub.testing.memory_backend import MemoryBackend
from hub.types import RemoteEvent


class JunkOnTheServer(MemoryProvider):
    """The memory provider, plus one object on the server that does not parse (as CalDAV servers can hold)."""

    @hookimpl
    def hub_fetch_events(self, account, calendar_id, cursor, window):
        page = super().hub_fetch_events(account=account, calendar_id=calendar_id, cursor=cursor, window=window)
        if page is not None and cursor is None:
            page.unreadable.append(("junk.ics", "DTEND before DTSTART"))
        return page


@pytest.fixture
def backend():
    b = MemoryBackend()
    b.add_account("ann@corp.test", "pw")
    return b


@pytest.fixture
def hub_plugins(backend):
    return [("memory", JunkOnTheServer(backend))]


def test_unreadable_items_are_logged_and_the_rest_syncs(hub, backend, make_user):
    start = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=2)
    backend.put_event("ann@corp.test", "primary", RemoteEvent("good", start, start + timedelta(hours=1), summary="ok"))
    account_id = connect_account(hub, make_user("ann@corp.test"), "memory", {"email": "ann@corp.test", "password": "pw"})
    refresh_calendars(hub, account_id)
    with hub.db.session() as s:
        calendar_id = s.scalar(sa.select(Calendar.id).where(Calendar.account_id == account_id))
    stats = sync_calendar(hub, account_id, calendar_id)
    assert stats["unreadable"] == 1
    with hub.db.session() as s:
        assert s.scalars(sa.select(CalendarEvent.remote_id)).all() == ["good"]
        [entry] = s.scalars(sa.select(AccountError)).all()
        assert entry.error == "UnreadableItem" and "junk.ics" in entry.message and entry.fix
        assert s.get(Account, account_id).status == AccountStatus.ENABLED  # the rest synced: not an outage
