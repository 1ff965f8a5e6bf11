"""The whole path through the hub, over real sockets: the web connect flow (authorize → consent →
callback) → account Enabled → calendars listed and synced → the availability API offers only free
slots → a booking lands in Google Calendar with a Meet link → a change made in Google arrives
through a push notification on the hub's webhook route → synced.

The hub's Flask app runs on a loopback port (the sandbox must reach its webhook route), jobs run
through a real RQ worker, the database is the test database of :mod:`hub.testing`.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from hub import work
from hub.models import (
    Account,
    AccountStatus,
    BusyBlock,
    Calendar,
    CalendarEvent,
    Meeting,
    MeetingType,
    ProviderSetting,
    PushChannelRecord,
    Role,
    User,
)
from hub.sync import calendars as calendar_rules

import hub_google.hooks
from hub_google.testing import SANDBOX_USER, approve

WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@pytest.fixture
def hub_settings_overrides(live_port):
    return {"base_url": f"http://127.0.0.1:{live_port}"}


@pytest.fixture
def hub_plugins():
    return [("google", hub_google.hooks)]


@pytest.fixture
def live_app(app, live_url):
    app.config["WTF_CSRF_ENABLED"] = False  # the test client posts the forms a browser would
    return app


def _at(days: int, hour: int) -> datetime:
    return (datetime.now(timezone.utc) + timedelta(days=days)).replace(hour=hour, minute=0, second=0, microsecond=0)


def _when(start: datetime, hours: int = 1) -> dict:
    return {"start": {"dateTime": start.isoformat()}, "end": {"dateTime": (start + timedelta(hours=hours)).isoformat()}}


def test_connect_sync_book_with_meet_and_get_notified(hub, live_app, client, worker, google_sandbox):
    state = google_sandbox.state
    busy_at = _at(3, 10)
    intro = state.create_event(SANDBOX_USER, SANDBOX_USER, {
        "summary": "Intro call", **_when(_at(2, 9)), "attendees": [{"email": "ana@northwind.example"}]})
    state.create_event(SANDBOX_USER, SANDBOX_USER, {"summary": "Busy block", **_when(busy_at, 2)})
    # a colleague's calendar shared with free/busy access only: pulled with freeBusy over the whole
    # sync window (92 days and more), which Google refuses in one query
    state.add_user("bob@example.com", "Bob")
    bobs = state.add_calendar("bob@example.com", "Bob")
    state.share(bobs.id, SANDBOX_USER, "freeBusyReader")
    late_busy = _at(80, 14)
    state.create_event("bob@example.com", bobs.id, {"summary": "Bob away", **_when(late_busy)})
    with hub.db.session() as s:
        s.add(ProviderSetting(name="google", enabled=True, config=google_sandbox.provider_config()))
        user = User(email=SANDBOX_USER, role=Role.SALESPERSON, password_hash=generate_password_hash("pw"))
        s.add(user)
        s.flush()
        user_id = user.id

    # the web connect flow: the hub sends the browser to Google's consent page and takes the code back
    assert client.post("/login", data={"email": SANDBOX_USER, "password": "pw"}).status_code == 302
    start = client.post("/connect/google/start")
    assert start.status_code == 302 and start.location.startswith(google_sandbox.url)
    query = approve(start.location, SANDBOX_USER)
    assert client.get("/connect/google/callback?" + urlencode(query)).status_code == 302
    with hub.db.session() as s:
        account = s.scalars(sa.select(Account).where(Account.user_id == user_id)).one()
        assert (account.provider, account.email, account.status) == ("google", SANDBOX_USER, AccountStatus.ENABLED)
        account_id = account.id

    worker.drain()
    assert not worker.failed()
    with hub.db.session() as s:
        calendars = s.scalars(sa.select(Calendar).where(Calendar.account_id == account_id)).all()
        assert SANDBOX_USER in [c.remote_id for c in calendars]
        events = s.scalars(sa.select(CalendarEvent).where(CalendarEvent.remote_id == intro["id"])).all()
        assert [e.summary for e in events] == ["Intro call"]
        channels = s.scalars(sa.select(PushChannelRecord).where(PushChannelRecord.account_id == account_id)).all()
        assert "calendar" in {c.kind for c in channels}
        [shared_id] = [c.id for c in calendars if c.remote_id == bobs.id]
    assert state.channels.on_calendar(SANDBOX_USER), "a watch channel is open on the synced calendar"

    # the user turns on sync of the free/busy-only calendar: its busy time is read over the whole window
    calendar_rules.set_preferences(hub, user_id, shared_id, sync_enabled=True)
    work.enqueue_calendar_sync(hub, account_id, shared_id)
    worker.drain()
    assert not worker.failed()
    with hub.db.session() as s:
        assert s.get(Calendar, shared_id).unreadable_since is None
        blocks = s.scalars(sa.select(BusyBlock).where(BusyBlock.calendar_id == shared_id)).all()
        assert [b.start_ts for b in blocks] == [int(late_busy.timestamp())]

    # the booking tool: the busy block is never offered; a free slot books with a Meet link
    with hub.db.session() as s:
        s.add(MeetingType(user_id=user_id, name="Demo", slug="demo", duration_minutes=30, timezone="UTC",
                          weekly_hours={d: [["00:00", "23:59"]] for d in WEEK}, min_notice_minutes=0,
                          want_video=True))
    day = busy_at.replace(hour=0)
    offered = client.get("/api/v1/meeting-types/demo/availability", query_string={
        "start": day.isoformat(), "end": (day + timedelta(days=1)).isoformat()})
    assert offered.status_code == 200, offered.get_data(as_text=True)
    starts = [datetime.fromisoformat(slot["start"]) for slot in offered.json["slots"]]
    assert starts and not [t for t in starts if busy_at - timedelta(minutes=30) < t < busy_at + timedelta(hours=2)]
    slot = next(t for t in starts if t >= busy_at + timedelta(hours=3))
    booked = client.post("/api/v1/bookings", json={"slug": "demo", "start": slot.isoformat(),
                                                   "guest_name": "Guest Person", "guest_email": "guest@example.org"})
    assert booked.status_code == 201, booked.get_data(as_text=True)
    worker.drain()
    assert not worker.failed()
    [pushed] = [e for e in state.calendars[SANDBOX_USER].events.values()
                if e.get("summary") == "Demo with Guest Person"]
    meet = pushed["conferenceData"]["entryPoints"][0]["uri"]
    assert meet.startswith("https://meet.google.com/") and pushed["hangoutLink"] == meet
    assert "guest@example.org" in [a["email"] for a in pushed["attendees"]]
    assert pushed["extendedProperties"]["private"], "hub-made events are marked as the hub's"
    with hub.db.session() as s:
        meeting = s.scalars(sa.select(Meeting).where(Meeting.origin == "booking")).one()
        assert meeting.video_url == meet, "the Meet link came back to the CRM meeting"

    # someone moves the intro call in Google Calendar: Google notifies the hub, which syncs the change
    seen = len(state.notifier.deliveries)
    state.update_event(SANDBOX_USER, SANDBOX_USER, intro["id"], {"summary": "Intro call (moved)", **_when(_at(2, 11))},
                       replace=False)
    assert state.wait_for_notifications()
    codes = [d.status for d in state.notifier.deliveries[seen:]]
    assert codes and set(codes) == {200}, state.notifier.deliveries[seen:]
    worker.drain()
    assert not worker.failed()
    with hub.db.session() as s:
        [event] = s.scalars(sa.select(CalendarEvent).where(CalendarEvent.remote_id == intro["id"])).all()
        assert event.summary == "Intro call (moved)"
        summaries = [e.summary for e in s.scalars(sa.select(CalendarEvent))]
        assert summaries.count("Demo with Guest Person") == 1
