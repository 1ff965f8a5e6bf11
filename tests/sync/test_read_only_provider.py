"""A provider that can only read calendars (CALENDAR_READ without CALENDAR_WRITE, e.g. a subscribed feed):
its calendars are readers whatever the provider says of them — a conflict calendar that syncs and blocks
time once chosen, never the default that meetings are pushed to."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from hub.accounts import connect_account
from hub.exceptions import ValidationError
from hub.models import BusyBlock, Calendar
from hub.sync.calendar_pull import sync_calendar
from hub.sync.calendars import (
    default_calendar,
    refresh_calendars,
    set_conflict,
    set_default_calendar,
)
from hub.testing.conformance import slot
from hub.testing.memory import MemoryBackend, MemoryProvider
from hub.types import CALENDAR_READ, RemoteEvent

CAROL = "carol@example.com"


@pytest.fixture
def feed():
    backend = MemoryBackend()
    backend.add_account(CAROL, "secret")  # its "primary" calendar says owner: the provider cannot write anyway
    return backend


@pytest.fixture
def hub_plugins(feed):
    return [("feed", MemoryProvider(feed, name="feed", capabilities={CALENDAR_READ}))]


def test_a_read_only_providers_calendar_blocks_time_once_chosen_and_is_never_the_default(hub, make_user, feed):
    carol = make_user(CAROL)
    account_id = connect_account(hub, carol, "feed", {"email": CAROL, "password": "secret"})
    feed.put_event(CAROL, "primary", RemoteEvent("", *slot(3, 10), summary="Board meeting"))
    refresh_calendars(hub, account_id)
    with hub.db.session() as s:
        calendar = s.scalar(sa.select(Calendar).where(Calendar.account_id == account_id))
        assert (calendar.access_role, calendar.is_default, calendar.sync_enabled) == ("reader", False, False)
        assert default_calendar(s, carol) is None
        calendar_id = calendar.id
    with pytest.raises(ValidationError) as caught:
        set_default_calendar(hub, carol, calendar_id)
    assert caught.value.field == "calendar"

    set_conflict(hub, carol, calendar_id, True)
    sync_calendar(hub, account_id, calendar_id)
    with hub.db.session() as s:
        assert s.get(Calendar, calendar_id).sync_enabled
        blocks = s.scalars(sa.select(BusyBlock).where(BusyBlock.calendar_id == calendar_id)).all()
    start, end = slot(3, 10)
    assert [(b.start.replace(tzinfo=None), b.end.replace(tzinfo=None)) for b in blocks] == [
        (start.replace(tzinfo=None), end.replace(tzinfo=None))]
