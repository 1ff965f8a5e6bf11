"""Calendar truth through the Google and Microsoft Graph sandboxes, with the events in their APIs' own shapes:
Google all-day ``date`` fields are days of the calendar's ``timeZone``, and a Google series keeps its local
hour and exact length across its zone's DST change; a Graph series whose ``originalStartTimeZone`` and
``recurrenceTimeZone`` are Windows names keeps its local hour across DST."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from hub.models import Calendar, User
from hub.sync import calendar_pull
from hub.sync.calendars import CalendarZone, calendar_zone, refresh_calendars
from tests.faults.accounts import add_user, connect_google, connect_office365, set_provider_config
from tests.sync.caldav_truth import transition_days
from tests.sync.calendar_world import busy_blocks, calendar_id

import hub_google.hooks
import hub_office365.hooks

UTC = timezone.utc
EMAIL = "alice@example.com"


@pytest.fixture
def hub_plugins():
    return [("google", hub_google.hooks), ("office365", hub_office365.hooks)]


@pytest.fixture
def hub_settings_overrides():
    return {"sync_window_days": 400}


@pytest.fixture
def google(monkeypatch):
    from hub_google.sandbox import SandboxServer

    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the sandbox speaks http on loopback
    with SandboxServer() as server:
        yield server


def connected(hub, google, zone: str) -> tuple[int, int]:
    google.state.add_user(EMAIL, "Alice", time_zone=zone)
    set_provider_config(hub, "google", google.provider_config())
    account = connect_google(hub, add_user(hub, EMAIL), EMAIL)
    refresh_calendars(hub, account)
    return account, calendar_id(hub, account, EMAIL)


def test_google_all_day_dates_are_days_of_the_calendars_zone(hub, google):
    account, cal = connected(hub, google, "America/New_York")
    first = datetime.now(UTC).date() + timedelta(days=5)
    google.state.create_event(EMAIL, EMAIL, {"summary": "Offsite", "start": {"date": first.isoformat()},
                                             "end": {"date": (first + timedelta(days=2)).isoformat()}})
    calendar_pull.sync_calendar(hub, account, cal)
    ny = ZoneInfo("America/New_York")
    assert busy_blocks(hub, cal) == [(datetime.combine(first, time.min, ny).astimezone(UTC),
                                 datetime.combine(first + timedelta(days=2), time.min, ny).astimezone(UTC))]


def test_a_google_series_keeps_its_local_hour_and_length_across_the_zones_dst_change(hub, google):
    account, cal = connected(hub, google, "Australia/Sydney")
    sydney = ZoneInfo("Australia/Sydney")
    change: date = transition_days(sydney, datetime.now(UTC).date() + timedelta(days=3))["gap"]
    first = change - timedelta(days=1)
    google.state.create_event(EMAIL, EMAIL, {
        "summary": "Night shift", "recurrence": ["RRULE:FREQ=DAILY;COUNT=3"],
        "start": {"dateTime": f"{first.isoformat()}T02:30:00", "timeZone": "Australia/Sydney"},
        "end": {"dateTime": f"{first.isoformat()}T03:30:00", "timeZone": "Australia/Sydney"}})
    calendar_pull.sync_calendar(hub, account, cal)
    found = busy_blocks(hub, cal)
    assert [e - s for s, e in found] == [timedelta(hours=1)] * 3, "§3.8.5.3: the exact length every day"
    assert [s for s, _ in found] == [datetime.combine(first + timedelta(days=i), time(2, 30), sydney).astimezone(UTC)
                                     for i in range(3)], "§3.3.5: the gap day's 02:30 takes the offset before"


# --- Microsoft Graph --------------------------------------------------------------------------------------

GRAPH_EMAIL = "alice@contoso.example"
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def graph(monkeypatch):
    from hub_office365.sandbox import serve

    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    with serve() as sandbox:
        sandbox.state.add_mailbox(GRAPH_EMAIL, "Alice Adams")
        yield sandbox


def test_an_outlook_series_in_a_windows_zone_keeps_its_local_hour_across_dst(hub, graph):
    set_provider_config(hub, "office365", graph.config())
    account = connect_office365(hub, add_user(hub, GRAPH_EMAIL), graph, GRAPH_EMAIL)
    refresh_calendars(hub, account)
    change = min(transition_days(BERLIN, datetime.now(UTC).date() + timedelta(days=15)).values())
    first = change - timedelta(weeks=2)
    windows = "W. Europe Standard Time"
    graph.state.add_event(GRAPH_EMAIL, {
        "subject": "Weekly sync", "originalStartTimeZone": windows, "originalEndTimeZone": windows,
        "start": {"dateTime": f"{first.isoformat()}T10:00:00.0000000", "timeZone": windows},
        "end": {"dateTime": f"{first.isoformat()}T11:00:00.0000000", "timeZone": windows},
        "recurrence": {"pattern": {"type": "weekly", "interval": 1, "daysOfWeek": [first.strftime("%A").lower()]},
                       "range": {"type": "numbered", "startDate": first.isoformat(), "numberOfOccurrences": 4,
                                 "recurrenceTimeZone": windows}}})
    with hub.db.session() as s:
        cal = s.query(Calendar).filter_by(account_id=account, is_default=True).one().id
    calendar_pull.sync_calendar(hub, account, cal)
    days = [first + timedelta(weeks=i) for i in range(4)]
    assert busy_blocks(hub, cal) == [(datetime.combine(d, time(10), BERLIN).astimezone(UTC),
                                      datetime.combine(d, time(11), BERLIN).astimezone(UTC)) for d in days]


def test_an_all_day_event_on_a_graph_calendar_is_a_day_of_the_mailbox_zone(hub, graph):
    """Graph calendars carry no zone of their own; the mailbox's (``/me/mailboxSettings`` → ``timeZone``,
    a Windows name here) is the one Outlook shows them in, and it wins over the owner's profile zone."""
    graph.state.mailbox(GRAPH_EMAIL).time_zone = "W. Europe Standard Time"
    set_provider_config(hub, "office365", graph.config())
    user = add_user(hub, GRAPH_EMAIL)
    with hub.db.session() as s:
        s.get(User, user).timezone = "America/New_York"
    account = connect_office365(hub, user, graph, GRAPH_EMAIL)
    refresh_calendars(hub, account)
    first = datetime.now(UTC).date() + timedelta(days=5)
    midnight = {"dateTime": f"{first.isoformat()}T00:00:00.0000000", "timeZone": "W. Europe Standard Time"}
    graph.state.add_event(GRAPH_EMAIL, {
        "subject": "Offsite", "isAllDay": True, "start": midnight,
        "end": dict(midnight, dateTime=f"{(first + timedelta(days=2)).isoformat()}T00:00:00.0000000")})
    with hub.db.session() as s:
        row = s.query(Calendar).filter_by(account_id=account, is_default=True).one()
        cal, zone = row.id, calendar_zone(row, s.get(User, user))
    assert zone == CalendarZone("Europe/Berlin", "calendar")
    calendar_pull.sync_calendar(hub, account, cal)
    assert busy_blocks(hub, cal) == [(datetime.combine(first, time.min, BERLIN).astimezone(UTC),
                                      datetime.combine(first + timedelta(days=2), time.min, BERLIN).astimezone(UTC))]
