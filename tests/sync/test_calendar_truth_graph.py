"""Calendar truth through the Microsoft Graph sandbox, with the event in Graph's own shape: a weekly series
whose ``originalStartTimeZone`` and ``recurrenceTimeZone`` are Windows names keeps its local hour across
the zone's DST change."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

import hub_office365.hooks
from hub.sync import calendar as engine
from hub.sync.calendars import refresh_calendars
from tests.faults.accounts import add_user, connect_office365, set_provider_config
from tests.sync.caldav_truth import transition_days
from tests.sync.calendar_world import busy_blocks

UTC = timezone.utc
EMAIL = "alice@contoso.example"
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def hub_plugins():
    return [("office365", hub_office365.hooks)]


@pytest.fixture
def hub_settings_overrides():
    return {"sync_window_days": 400}


@pytest.fixture
def graph(monkeypatch):
    from hub_office365.sandbox import serve

    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    with serve() as sandbox:
        sandbox.state.add_mailbox(EMAIL, "Alice Adams")
        yield sandbox


def test_an_outlook_series_in_a_windows_zone_keeps_its_local_hour_across_dst(hub, graph):
    set_provider_config(hub, "office365", graph.config())
    account = connect_office365(hub, add_user(hub, EMAIL), graph, EMAIL)
    refresh_calendars(hub, account)
    change = min(transition_days(BERLIN, datetime.now(UTC).date() + timedelta(days=15)).values())
    first = change - timedelta(weeks=2)
    windows = "W. Europe Standard Time"
    graph.state.add_event(EMAIL, {
        "subject": "Weekly sync", "originalStartTimeZone": windows, "originalEndTimeZone": windows,
        "start": {"dateTime": f"{first.isoformat()}T10:00:00.0000000", "timeZone": windows},
        "end": {"dateTime": f"{first.isoformat()}T11:00:00.0000000", "timeZone": windows},
        "recurrence": {"pattern": {"type": "weekly", "interval": 1, "daysOfWeek": [first.strftime("%A").lower()]},
                       "range": {"type": "numbered", "startDate": first.isoformat(), "numberOfOccurrences": 4,
                                 "recurrenceTimeZone": windows}}})
    from hub.models import Calendar
    with hub.db.session() as s:
        cal = s.query(Calendar).filter_by(account_id=account, is_default=True).one().id
    engine.sync_calendar(hub, account, cal)
    days = [first + timedelta(weeks=i) for i in range(4)]
    assert busy_blocks(hub, cal) == [(datetime.combine(d, time(10), BERLIN).astimezone(UTC),
                                      datetime.combine(d, time(11), BERLIN).astimezone(UTC)) for d in days]
