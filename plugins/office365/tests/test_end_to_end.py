"""The whole path through the hub, over real sockets: the web connect flow → account Enabled →
calendars and events synced → a booking pushed with a Teams link → an Outlook change notified to the
hub's webhook route → synced.

The hub's Flask app runs on a loopback port (Graph's sandbox must reach its webhook route), jobs run
through a real RQ worker, the database is the test database of :mod:`hub.testing`.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from hub.models import (
    Account,
    AccountStatus,
    Calendar,
    CalendarEvent,
    Meeting,
    MeetingType,
    ProviderSetting,
    PushChannelRecord,
    Role,
    User,
)
from hub.scheduling import booking

import hub_office365.hooks
from hub_office365.testing import USER, Office365Remote


@pytest.fixture
def hub_settings_overrides(live_port):
    return {"base_url": f"http://127.0.0.1:{live_port}"}


@pytest.fixture
def hub_plugins():
    return [("office365", hub_office365.hooks)]


@pytest.fixture
def live_app(app, live_url):
    app.config["WTF_CSRF_ENABLED"] = False  # the test client posts the forms a browser would
    return app


def _at(days: int, hour: int) -> dict:
    day = (datetime.now(timezone.utc) + timedelta(days=days)).replace(hour=hour, minute=0, second=0, microsecond=0)
    return {"dateTime": day.replace(tzinfo=None).isoformat(), "timeZone": "UTC"}


def test_connect_sync_book_and_get_notified(hub, live_app, client, worker, office365_sandbox):
    state = office365_sandbox.state
    intro = state.add_event(USER, {"subject": "Intro call", "start": _at(2, 9), "end": _at(2, 10),
                                   "attendees": [{"emailAddress": {"address": "ana@northwind.example"}}]})
    with hub.db.session() as s:
        s.add(ProviderSetting(name="office365", config=office365_sandbox.config()))
        user = User(email=USER, role=Role.SALESPERSON, password_hash=generate_password_hash("pw"))
        s.add(user)
        s.flush()
        user_id = user.id

    assert client.post("/login", data={"email": USER, "password": "pw"}).status_code == 302
    start = client.post("/connect/office365/start")
    assert start.status_code == 302 and start.location.startswith(office365_sandbox.login_base)
    query = Office365Remote(office365_sandbox).approve(start.location)
    assert client.get("/connect/office365/callback?" + urlencode(query)).status_code == 302

    with hub.db.session() as s:
        account = s.scalars(sa.select(Account).where(Account.user_id == user_id)).one()
        assert (account.provider, account.email, account.status) == ("office365", USER, AccountStatus.ENABLED)
        account_id = account.id
    worker.drain()
    assert not worker.failed()

    with hub.db.session() as s:
        calendars = s.scalars(sa.select(Calendar).where(Calendar.account_id == account_id)).all()
        assert [c.remote_id for c in calendars] == [state.mailbox(USER).default_calendar_id]
        events = s.scalars(sa.select(CalendarEvent).where(CalendarEvent.remote_id == intro["id"])).all()
        assert [e.summary for e in events] == ["Intro call"]
        channels = s.scalars(sa.select(PushChannelRecord).where(PushChannelRecord.account_id == account_id)).all()
        assert {c.kind for c in channels} == {"calendar", "mail"}
    assert {s["_kind"] for s in state.subscriptions.values()} == {"event", "message"}

    # a booking lands in Outlook with a Teams link, which comes back to the CRM meeting
    with hub.db.session() as s:
        s.add(MeetingType(user_id=user_id, name="Demo", slug="demo", duration_minutes=30, timezone="UTC",
                          weekly_hours={d: [["00:00", "23:59"]] for d in ("mon", "tue", "wed", "thu", "fri",
                                                                             "sat", "sun")},
                          min_notice_minutes=0, want_video=True))
    slot = datetime.fromisoformat(_at(3, 14)["dateTime"]).replace(tzinfo=timezone.utc)
    booking_id = booking.book(hub, "demo", slot, "Guest Person", "guest@example.org")
    worker.drain()
    assert not worker.failed()
    [pushed] = [e for e in state.mailbox(USER).events.values() if e["transactionId"]]
    assert pushed["onlineMeeting"]["joinUrl"].startswith("https://teams.microsoft.com/")
    assert [a["emailAddress"]["address"] for a in pushed["attendees"]] == ["guest@example.org"]
    with hub.db.session() as s:
        meeting = s.scalars(sa.select(Meeting).where(Meeting.origin == "booking")).one()
        assert meeting.video_url == pushed["onlineMeeting"]["joinUrl"] and booking_id

    # someone moves the intro call in Outlook: Graph notifies the hub, which syncs the change
    seen = len(state.deliveries)
    state.update_event(USER, intro["id"], {"subject": "Intro call (moved)", "start": _at(2, 11),
                                          "end": _at(2, 12)})
    state.wait_for_deliveries()
    codes = [d[2] for d in state.deliveries[seen:]]
    assert codes and set(codes) == {202}  # Graph may deliver more than once; each is accepted, none duplicates
    worker.drain()
    assert not worker.failed()
    with hub.db.session() as s:
        [event] = s.scalars(sa.select(CalendarEvent).where(CalendarEvent.remote_id == intro["id"])).all()
        assert event.summary == "Intro call (moved)"
        assert [e.summary for e in s.scalars(sa.select(CalendarEvent))].count("Demo with Guest Person") == 1
