"""The whole path through the hub for a calendar-only CalDAV account on Radicale, Xandikos and Cyrus:
connected through the web form and through the API with only a URL, a user name and a password →
account Enabled → calendars listed → events synced → a booking made in the CRM lands on the server.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from hub.models import (
    Account,
    AccountStatus,
    Calendar,
    CalendarEvent,
    MeetingType,
    Role,
    User,
)
from hub.scheduling import booking
from hub.types import RemoteEvent
from web.api import hash_token

import hub_caldav.hooks
from hub_caldav.testing import CyrusCalDAV, event_ics

HUB_USER = "seller@example.com"


@pytest.fixture
def hub_plugins():
    return [("caldav", hub_caldav.hooks)]


@pytest.fixture
def form_app(app):
    app.config["WTF_CSRF_ENABLED"] = False  # the test client posts the form a browser would
    return app


@pytest.fixture(params=["radicale", "xandikos", "cyrus"])
def server(request):
    """(peer, user, server URL, calendar path) of a fresh account on each CalDAV server."""
    if request.param == "radicale":
        radicale = request.getfixturevalue("radicale")
        user = radicale.add_user()
        return radicale, user, radicale.url, radicale.make_calendar(user, "work", "Work")
    if request.param == "cyrus":
        cyrus = CyrusCalDAV(request.getfixturevalue("cyrus"))
        user = cyrus.add_user()
        return cyrus, user, cyrus.url, f"{cyrus.home(user)}Default/"
    xandikos = request.getfixturevalue("xandikos")
    user = xandikos.add_user()
    return xandikos, user, user.url, "/user/calendars/calendar/"


def _hub_user(hub) -> int:
    with hub.db.session() as s:
        user = User(email=HUB_USER, role=Role.SALESPERSON, password_hash=generate_password_hash("pw"),
                    api_token_hash=hash_token("seller-token"))
        s.add(user)
        s.flush()
        return user.id


def _intro(peer, user, calendar: str) -> str:
    start = (datetime.now(timezone.utc) + timedelta(days=2)).replace(hour=9, minute=0, second=0, microsecond=0)
    event = RemoteEvent(remote_id="", start=start, end=start + timedelta(hours=1), summary="Intro call",
                        timezone="Europe/Berlin")
    href = f"{calendar}intro.ics"
    peer.put_object(user, href, event_ics(event, "intro-uid"))
    return href


def _check_synced_and_book(hub, worker, user_id: int, peer, user, calendar: str, intro: str) -> None:
    worker.drain()
    assert not worker.failed()
    with hub.db.session() as s:
        account = s.scalars(sa.select(Account).where(Account.user_id == user_id)).one()
        assert (account.provider, account.status) == ("caldav", AccountStatus.ENABLED)
        calendars = s.scalars(sa.select(Calendar).where(Calendar.account_id == account.id)).all()
        assert calendar in [c.remote_id for c in calendars]
        [event] = s.scalars(sa.select(CalendarEvent).where(CalendarEvent.remote_id == intro)).all()
        assert event.summary == "Intro call"
        s.add(MeetingType(user_id=user_id, name="Demo", slug="demo", duration_minutes=30, timezone="UTC",
                          weekly_hours={d: [["00:00", "23:59"]] for d in ("mon", "tue", "wed", "thu", "fri",
                                                                             "sat", "sun")},
                          min_notice_minutes=0))
    slot = (datetime.now(timezone.utc) + timedelta(days=3)).replace(hour=14, minute=0, second=0, microsecond=0)
    assert booking.book(hub, "demo", slot, "Guest Person", "guest@example.org")
    worker.drain()
    assert not worker.failed()
    listing = peer.request(user, "PROPFIND", calendar, headers={"Depth": "1"})
    hrefs = [line for line in listing.text.split("<") if line.endswith(".ics")]
    bodies = [peer.request(user, "GET", calendar + href.rsplit("/", 1)[-1]).text for href in hrefs]
    assert sum("SUMMARY:Demo with Guest Person" in body for body in bodies) == 1, "the booking landed once"


def test_connect_through_the_web_form(hub, form_app, client, worker, server):
    peer, user, url, calendar = server
    intro = _intro(peer, user, calendar)
    user_id = _hub_user(hub)
    assert client.post("/login", data={"email": HUB_USER, "password": "pw"}).status_code == 302
    integrations = client.get("/").get_data(as_text=True)
    assert 'href="/connect/caldav"' in integrations and "Connect CalDAV" in integrations
    assert "Nextcloud, Fastmail, Radicale" in integrations  # the button says which servers it covers
    page = client.get("/connect/caldav").get_data(as_text=True)
    assert 'name="server"' in page and "IMAP" in page  # the form says mail is separate
    response = client.post("/connect/caldav", data={"email": "", "server": url, "username": user.name,
                                                    "password": user.password})
    assert response.status_code == 302, response.get_data(as_text=True)[:600]
    _check_synced_and_book(hub, worker, user_id, peer, user, calendar, intro)


def test_connect_through_the_api(hub, app, worker, server):
    peer, user, url, calendar = server
    intro = _intro(peer, user, calendar)
    user_id = _hub_user(hub)
    response = app.test_client().post("/api/v1/accounts", headers={"Authorization": "Bearer seller-token"},
                                      json={"provider": "caldav", "server": url, "username": user.name,
                                            "password": user.password})
    assert response.status_code == 201, response.json
    _check_synced_and_book(hub, worker, user_id, peer, user, calendar, intro)
