"""A feed through the whole hub: subscribed on the web form, chosen as a conflict calendar on the
calendars page, synced by the worker — and the booking page no longer offers the feed's busy time."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from hub.models import Account, AccountStatus, Calendar, MeetingType, Role, User
from hub.scheduling.availability import availability
from hub.types import RemoteEvent

import hub_ics.hooks
from hub_ics.testing import FeedRemote

SELLER = "seller@example.com"


@pytest.fixture
def hub_plugins():
    return [("ics", hub_ics.hooks)]


@pytest.fixture
def form_app(app):
    app.config["WTF_CSRF_ENABLED"] = False  # the test client posts the forms a browser would
    return app


def test_a_subscribed_feed_blocks_booking_slots_once_it_is_a_conflict_calendar(hub, form_app, client, worker,
                                                                               feed_server):
    offsite = (datetime.now(timezone.utc) + timedelta(days=3)).replace(hour=10, minute=0, second=0, microsecond=0)
    FeedRemote(feed_server).create_event("feed", RemoteEvent("", offsite, offsite + timedelta(hours=2),
                                                             summary="Company offsite"))
    with hub.db.session() as s:
        s.add(User(email=SELLER, role=Role.SALESPERSON, password_hash=generate_password_hash("pw")))
    assert client.post("/login", data={"email": SELLER, "password": "pw"}).status_code == 302
    assert 'href="/connect/ics"' in client.get("/").get_data(as_text=True)
    response = client.post("/connect/ics", data={"url": feed_server.url, "username": "", "password": ""})
    assert response.status_code == 302, response.get_data(as_text=True)[:600]
    worker.drain()
    with hub.db.session() as s:
        account = s.scalars(sa.select(Account)).one()
        assert account.status == AccountStatus.ENABLED
        calendar = s.scalars(sa.select(Calendar).where(Calendar.account_id == account.id)).one()
        assert (calendar.name, calendar.access_role, calendar.is_default) == ("Team holidays", "reader", False)
        s.add(MeetingType(user_id=account.user_id, name="Demo", slug="demo", duration_minutes=60, timezone="UTC",
                          weekly_hours={d: [["08:00", "16:00"]] for d in ("mon", "tue", "wed", "thu", "fri",
                                                                             "sat", "sun")},
                          min_notice_minutes=0))
        calendar_id = calendar.id
    day = offsite.replace(hour=0)
    before = availability(hub, "demo", day, day + timedelta(days=1)).slots
    assert offsite in before  # not yet a conflict calendar: the feed blocks nothing

    assert client.post("/calendars/conflicts", data={"conflict": str(calendar_id)}).status_code == 302
    worker.drain()
    assert not worker.failed()
    after = availability(hub, "demo", day, day + timedelta(days=1)).slots
    assert offsite not in after and offsite + timedelta(hours=1) not in after
    assert offsite - timedelta(hours=1) in after and offsite + timedelta(hours=2) in after
