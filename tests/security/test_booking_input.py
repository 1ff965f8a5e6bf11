"""Finding 1: header injection on the public booking form and API.

A guest address with CR/LF (or 600 KB of it) was accepted; every push to the host's calendar then
failed and the host's account went to Error. Now one validator (``hub.public_input``) refuses it on
the form and on the API, and nothing is stored.
"""

from __future__ import annotations

import pytest
import requests
from sqlalchemy import func, select

from hub.models import Account, AccountStatus, Booking, Contact, Meeting
from tests.security.conftest import slots_on

INJECTED = "eve@evil.example\r\nATTENDEE:mailto:x@evil.example"
HUGE = "eve@" + "a" * 600_000 + ".example"


def _counts(hub) -> tuple[int, int, int]:
    with hub.db.session() as s:
        return tuple(s.scalar(select(func.count()).select_from(m)) for m in (Booking, Meeting, Contact))


@pytest.mark.parametrize("name, email, field", [
    ("Eve", INJECTED, "guest_email"),
    ("Eve", HUGE, "guest_email"),
    ("Eve\r\nATTENDEE:mailto:x@evil.example", "eve@evil.example", "guest_name"),
    ("Eve\x00", "eve@evil.example", "guest_name"),
    ("E" * 201, "eve@evil.example", "guest_name"),
    ("Eve", "eve@@evil.example", "guest_email"),
])
def test_the_booking_form_refuses_injected_or_oversized_guest_details(bookable, hub, live_url, worker, name, email,
                                                                      field):
    page = requests.get(f"{live_url}/book/{bookable}?tz=UTC", timeout=30)
    slot = slots_on(page.text)[0]
    before = _counts(hub)
    response = requests.post(f"{live_url}/book/{bookable}?tz=UTC", timeout=60, allow_redirects=False,
                             data={"start": slot, "guest_name": name, "guest_email": email, "tz": "UTC"})
    assert response.status_code == 400
    assert "not allowed" in response.text or "too long" in response.text or "valid email" in response.text
    assert _counts(hub) == before
    worker.drain()
    with hub.db.session() as s:
        assert s.scalar(select(Account.status)) == AccountStatus.ENABLED
    assert slot in slots_on(requests.get(f"{live_url}/book/{bookable}?tz=UTC", timeout=30).text)


@pytest.mark.parametrize("name, email, field", [
    ("Eve", INJECTED, "guest_email"),
    ("Eve", HUGE, "guest_email"),
    ("Eve\r\nATTENDEE:mailto:x@evil.example", "eve@evil.example", "guest_name"),
    ("Eve\u202e", "eve@evil.example", "guest_name"),
])
def test_the_booking_api_refuses_them_with_the_same_validator(bookable, hub, live_url, name, email, field):
    slots = requests.get(f"{live_url}/api/v1/meeting-types/{bookable}/availability", timeout=30).json()["slots"]
    before = _counts(hub)
    response = requests.post(f"{live_url}/api/v1/bookings", timeout=60, json={
        "slug": bookable, "start": slots[0]["start"], "guest_name": name, "guest_email": email})
    assert response.status_code == 400, response.text[:300]
    assert response.json()["field"] == field
    assert _counts(hub) == before


def test_a_good_booking_still_goes_through(bookable, hub, live_url):
    slots = requests.get(f"{live_url}/api/v1/meeting-types/{bookable}/availability", timeout=30).json()["slots"]
    response = requests.post(f"{live_url}/api/v1/bookings", timeout=60, json={
        "slug": bookable, "start": slots[0]["start"], "guest_name": "Zoë O'Brien", "guest_email": "Zoe@Example.ORG"})
    assert response.status_code == 201, response.text[:300]
    assert response.json()["guest_email"] == "zoe@example.org"


def test_an_event_icalendar_cannot_hold_is_one_failed_item_not_a_failed_account(radicale, dovecot, smtp_server):
    """Bookings stored before the validator existed still reach the iCloud writer: the bad one fails alone."""
    from datetime import datetime, timedelta, timezone

    from hub.exceptions import ValidationError
    from hub.types import EventChange, Participant, RemoteEvent

    from hub_icloud.testing import connect, mail_config, new_user, plugin_hooks

    hooks = plugin_hooks()
    user = new_user(radicale, dovecot, smtp_server)
    account = connect(hooks, radicale.url, user, **mail_config(dovecot, smtp_server))
    start = datetime(2030, 3, 4, 10, tzinfo=timezone.utc)

    def change(client_id: str, email: str) -> EventChange:
        event = RemoteEvent("", start, start + timedelta(minutes=30), summary="Intro call",
                            attendees=[Participant(email, "Eve")])
        return EventChange("create", client_id, event=event, send_invites=False)

    bad, good = hooks.hub_push_events(account=account, calendar_id=f"/{user.name}/home/",
                                      changes=[change("crm-bad", INJECTED), change("crm-good", "eve@evil.example")])
    assert isinstance(bad.error, ValidationError) and bad.remote_id is None
    assert good.error is None and good.remote_id
