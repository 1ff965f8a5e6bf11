"""Meeting types (CRUD, the primary prompt) and the public booking page (slots, booking, confirmation)."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from hub.models import Booking, Calendar, MeetingType
from tests.web.conftest import connect_memory, new_type


def test_prompt_for_a_primary_meeting_type_after_the_first_connection(alice, worker):
    assert "primary-meeting-prompt" not in alice.get("/").get_data(as_text=True)
    connect_memory(alice, worker)
    assert "primary-meeting-prompt" in alice.get("/").get_data(as_text=True)
    assert "primary-meeting-prompt" in alice.get("/meetings/").get_data(as_text=True)
    form = alice.get("/meetings/new?primary=1").get_data(as_text=True)
    assert 'name="is_primary" value="1" checked' in form
    new_type(alice, is_primary="1")
    assert "primary-meeting-prompt" not in alice.get("/").get_data(as_text=True)


def test_marketing_managers_get_no_prompt(app, hub, people, worker, memory):
    from tests.web.conftest import sign_in

    memory.add_account("marketing_manager@corp.test", "pw")
    client = app.test_client()
    sign_in(client, "marketing_manager@corp.test")
    connect_memory(client, worker, "marketing_manager@corp.test", "pw")
    assert "primary-meeting-prompt" not in client.get("/").get_data(as_text=True)


def test_create_edit_turn_off_and_delete(bookable, hub):
    page = bookable.get("/meetings/").get_data(as_text=True)
    assert "Intro call" in page and "/book/alice-intro" in page and "Active" in page
    edit = bookable.post("/meetings/1/edit", data={"name": "Intro (45)", "slug": "alice-intro", "duration_minutes": "45",
                                                   "timezone": "Europe/Berlin", "hours_mon": "09:00-12:00, 13:00-17:00"})
    assert edit.status_code == 302
    with hub.db.session() as s:
        mt = s.get(MeetingType, 1)
        assert (mt.name, mt.duration_minutes, mt.timezone) == ("Intro (45)", 45, "Europe/Berlin")
        assert mt.weekly_hours == {"mon": [["09:00", "12:00"], ["13:00", "17:00"]]}
    assert "09:00-12:00, 13:00-17:00" in bookable.get("/meetings/1/edit").get_data(as_text=True)
    bookable.post("/meetings/1/active", data={"active": "0"})
    assert bookable.get("/book/alice-intro").status_code == 410
    bookable.post("/meetings/1/active", data={"active": "1"})
    assert bookable.get("/book/alice-intro").status_code == 200
    bookable.post("/meetings/1/delete")
    assert bookable.get("/book/alice-intro").status_code == 404


@pytest.mark.parametrize("fields, message", [
    ({"hours_mon": "17:00-09:00"}, "ends before it starts"),
    ({"hours_tue": "nine to five"}, "write hours like"),
    ({"name": ""}, "Give the meeting type a name"),
    ({"slug": "Not A Slug"}, "lowercase letters, digits and dashes"),
    ({"duration_minutes": "0"}, "Duration must be between"),
    ({"timezone": "Mars/Olympus"}, "Unknown time zone"),
])
def test_invalid_meeting_types_are_explained(bookable, fields, message):
    response = new_type(bookable, **{"slug": "another", **fields})
    assert response.status_code == 400 and message in response.get_data(as_text=True)


def test_a_taken_link_is_refused(bookable):
    response = new_type(bookable)
    assert response.status_code == 400 and "is taken" in response.get_data(as_text=True)


def test_without_a_default_calendar_types_are_saved_inactive(alice, hub):
    assert new_type(alice).status_code == 302
    with hub.db.session() as s:
        assert s.scalar(select(MeetingType.active)) is False
    response = alice.post("/meetings/1/active", data={"active": "1"})
    assert response.status_code == 400 and "choose a default calendar" in response.get_data(as_text=True)


def slots_on_page(html: str) -> list[str]:
    return re.findall(r'data-slot="([^"]+)"', html)


def test_the_booking_page_shows_slots_in_the_guests_time_zone(bookable, client):
    utc = slots_on_page(client.get("/book/alice-intro?tz=UTC").get_data(as_text=True))
    tokyo_html = client.get("/book/alice-intro?tz=Asia/Tokyo").get_data(as_text=True)
    assert utc and slots_on_page(tokyo_html)[:5] == utc[:5]  # the same instants …
    first = datetime.fromisoformat(utc[0])
    assert f">{first.astimezone(ZoneInfo('Asia/Tokyo')).strftime('%H:%M')}</a>" in tokyo_html
    assert "Asia/Tokyo" in tokyo_html  # … shown in the guest's zone


def book(client, slot: str, name="Guest One", email="guest1@example.org", tz="Europe/Lisbon"):
    return client.post(f"/book/alice-intro?tz={tz}", data={"start": slot, "guest_name": name, "guest_email": email,
                                                          "tz": tz})


def test_booking_confirms_with_the_video_link_and_the_slot_disappears(bookable, app, hub, worker):
    guest = app.test_client()
    slot = slots_on_page(guest.get("/book/alice-intro?tz=UTC").get_data(as_text=True))[2]
    form = guest.get(f"/book/alice-intro?tz=UTC&slot={quote(slot)}").get_data(as_text=True)
    assert 'id="booking-form"' in form and f'value="{slot}"' in form
    response = book(guest, slot)
    assert response.status_code == 302 and "/confirmed/" in response.headers["Location"]
    worker.drain()  # the push to Alice's calendar creates the event and its video link
    confirmation = guest.get(response.headers["Location"]).get_data(as_text=True)
    assert "You're booked" in confirmation and "guest1@example.org" in confirmation
    assert re.search(r'id="video-link" rel="noopener">https://video\.memory\.invalid/', confirmation)
    assert "Europe/Lisbon" in confirmation
    status = guest.get(response.headers["Location"] + ".json").json
    assert status["video_url"].startswith("https://video.memory.invalid/")
    # the next guest no longer sees the slot, and cannot book it
    next_guest = app.test_client()
    assert slot not in slots_on_page(next_guest.get("/book/alice-intro?tz=UTC").get_data(as_text=True))
    late = book(next_guest, slot, "Guest Two", "guest2@example.org")
    assert late.status_code == 409 and "no longer available" in late.get_data(as_text=True)
    with hub.db.session() as s:
        assert s.scalar(select(func.count(Booking.id))) == 1


def test_booking_needs_a_name_and_an_email(bookable, client):
    slot = slots_on_page(client.get("/book/alice-intro?tz=UTC").get_data(as_text=True))[0]
    response = book(client, slot, name="", email="not-an-address")
    assert response.status_code == 400 and "Please enter your name." in response.get_data(as_text=True)


def test_a_tampered_confirmation_link_is_not_found(bookable, client):
    assert client.get("/book/alice-intro/confirmed/forged").status_code == 404


def test_unreadable_conflict_calendar_limits_availability(bookable, hub, client):
    with hub.db.session() as s:
        s.scalar(select(Calendar).where(Calendar.is_default.is_(True))).unreadable_since = datetime.now(timezone.utc)
    html = client.get("/book/alice-intro?tz=UTC").get_data(as_text=True)
    assert "Availability is limited" in html and not slots_on_page(html)


def test_unknown_booking_link(client, people):
    assert client.get("/book/nobody-here").status_code == 404


def test_upcoming_bookings_are_listed_for_the_host(bookable, client, worker):
    slot = slots_on_page(client.get("/book/alice-intro?tz=UTC").get_data(as_text=True))[0]
    book(client, slot)
    worker.drain()
    page = bookable.get("/meetings/").get_data(as_text=True)
    assert "Guest One &lt;guest1@example.org&gt;" in page and "Intro call with Guest One" in page
