"""The self-service pages behind the e-mailed links (no JavaScript), the host's cancel on the meetings page,
and the embeddable booking page's framing rules."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from hub.models import Booking, BookingStatus, BusyBlock, CalendarEvent, MeetingType, User
from hub.scheduling import links
from hub.scheduling.booking import book
from tests.sync.calendar_world import ALICE, BOB, local, meeting_type, next_weekday, push, sync

GUEST = "grace@hopper.example"


@pytest.fixture
def monday():
    return next_weekday(0)


@pytest.fixture
def booked(hub, acme, monday):
    meeting_type(hub, acme.alice, slug="alice-30", weekly_hours={"mon": [["09:00", "12:00"]]})
    sync(hub, acme.alice_account)
    return book(hub, "alice-30", local(monday, 10), "Grace", GUEST, "Europe/Berlin")


def set_password(hub, user_id):
    from werkzeug.security import generate_password_hash

    with hub.db.session() as s:
        s.get(User, user_id).password_hash = generate_password_hash("pw-host-123", method="pbkdf2:sha256:1000")


def status_of(hub, booking_id):
    with hub.db.session() as s:
        b = s.get(Booking, booking_id)
        return b.status, b.start, b.cancel_reason


def test_reschedule_through_the_link_without_javascript(client, hub, booked, monday):
    path = f"/book/manage/reschedule/{links.token(hub, booked, 'reschedule')}"
    page = client.get(path + "?tz=Europe/Berlin&from=" + monday.isoformat())
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "now booked for" in html and "10:00" in html
    new = local(monday, 11)
    assert f'data-slot="{new.isoformat()}"' in html
    chosen = client.get(path, query_string={"tz": "Europe/Berlin", "slot": new.isoformat()})
    assert "Move to this time" in chosen.get_data(as_text=True)
    moved = client.post(path, data={"start": new.isoformat(), "tz": "Europe/Berlin"})
    assert moved.status_code == 302 and "/book/alice-30/confirmed/" in moved.headers["Location"]
    assert status_of(hub, booked)[:2] == (BookingStatus.CONFIRMED, new)
    confirmation = client.get(moved.headers["Location"]).get_data(as_text=True)
    assert "11:00" in confirmation and 'id="reschedule-link"' in confirmation and 'id="cancel-link"' in confirmation


def test_the_reschedule_page_offers_times_overlapping_the_bookings_own(client, hub, acme, monday):
    """Moving an hour's meeting by half an hour: the booking's own time (its row, and the busy time of
    its event in the host's calendar once synced back) is free for itself — as the move itself treats
    it — while another guest's booking still is not; a one-a-day type still offers its own day."""
    meeting_type(hub, acme.alice, slug="alice-60", duration_minutes=60, max_per_day=1,
                 weekly_hours={"mon": [["09:00", "13:00"]]})
    sync(hub, acme.alice_account)
    mine = book(hub, "alice-60", local(monday, 10), "Grace", GUEST, "Europe/Berlin")
    push(hub, acme.alice_account)
    sync(hub, acme.alice_account)  # the booking's event comes back from the calendar as busy time
    with hub.db.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(BusyBlock).join(CalendarEvent).join(
            Booking, Booking.meeting_id == CalendarEvent.meeting_id).where(Booking.id == mine)) == 1
    path = f"/book/manage/reschedule/{links.token(hub, mine, 'reschedule')}"
    html = client.get(path + "?tz=Europe/Berlin&from=" + monday.isoformat()).get_data(as_text=True)
    offered = {s for s in re.findall(r'data-slot="([^"]+)"', html)}
    assert {local(monday, 9, 30).isoformat(), local(monday, 10, 30).isoformat(),
            local(monday, 12).isoformat()} <= offered
    moved = client.post(path, data={"start": local(monday, 10, 30).isoformat(), "tz": "Europe/Berlin"})
    assert moved.status_code == 302 and status_of(hub, mine)[1] == local(monday, 10, 30)


def test_a_taken_slot_on_the_reschedule_page_is_a_clear_409(client, hub, booked, monday):
    book(hub, "alice-30", local(monday, 11), "Ada", "ada@lovelace.example")
    path = f"/book/manage/reschedule/{links.token(hub, booked, 'reschedule')}"
    answer = client.post(path, data={"start": local(monday, 11).isoformat()})
    assert answer.status_code == 409 and "no longer available" in answer.get_data(as_text=True)
    assert status_of(hub, booked)[1] == local(monday, 10)


def test_cancel_through_the_link_with_a_reason_then_the_links_are_gone(client, hub, booked):
    path = f"/book/manage/cancel/{links.token(hub, booked, 'cancel')}"
    form = client.get(path)
    assert form.status_code == 200 and "Cancel this booking" in form.get_data(as_text=True)
    done = client.post(path, data={"reason": "Snowed in"})
    assert done.status_code == 200 and "is cancelled" in done.get_data(as_text=True)
    assert status_of(hub, booked)[0::2] == (BookingStatus.CANCELLED, "Snowed in")
    for purpose in ("cancel", "reschedule"):
        gone = client.get(f"/book/manage/{purpose}/{links.token(hub, booked, purpose)}")
        assert gone.status_code == 410 and "was cancelled" in gone.get_data(as_text=True)


def test_a_forged_or_crossed_link_is_refused(client, hub, booked):
    assert client.get("/book/manage/cancel/not-a-token").status_code == 410
    crossed = client.post(f"/book/manage/cancel/{links.token(hub, booked, 'reschedule')}", data={})
    assert crossed.status_code == 410 and status_of(hub, booked)[0] == BookingStatus.CONFIRMED


def test_the_host_cancels_from_the_meetings_page(client, hub, acme, booked):
    from tests.web.conftest import sign_in

    set_password(hub, acme.alice)
    sign_in(client, ALICE, "pw-host-123")
    page = client.get("/meetings/").get_data(as_text=True)
    assert f'data-booking="{booked}"' in page and "/book/manage/reschedule/" in page
    assert "/static/embed.js" in page and "/book/alice-30/embed" in page, "the embed snippet"
    with hub.db.session() as s:
        type_id = s.query(MeetingType.id).scalar()
    edit = client.get(f"/meetings/{type_id}/edit").get_data(as_text=True)
    assert 'id="embed-alice-30"' in edit and "HUB_EMBED_ORIGINS" in edit, "on the type's page too, with the hint"
    done = client.post(f"/meetings/bookings/{booked}/cancel", data={"reason": "Ill"})
    assert done.status_code == 302
    assert status_of(hub, booked)[0::2] == (BookingStatus.CANCELLED, "Ill")


def test_the_host_moving_a_booking_through_the_page_is_recorded_as_the_host(client, hub, acme, booked, monday):
    from hub.models import Event
    from tests.web.conftest import sign_in

    set_password(hub, acme.alice)
    sign_in(client, ALICE, "pw-host-123")
    page = client.get("/meetings/").get_data(as_text=True)
    path = re.search(r'href="(/book/manage/reschedule/[^"]+)"', page).group(1)
    assert client.post(path, data={"start": local(monday, 11).isoformat()}).status_code == 302
    with hub.db.session() as s:
        [event] = s.query(Event).filter(Event.type == "booking.rescheduled").all()
        assert event.payload["data"]["by"] == "host"


def test_another_users_booking_cannot_be_cancelled_from_the_meetings_page(client, hub, acme, booked):
    from tests.web.conftest import sign_in

    set_password(hub, acme.bob)
    sign_in(client, BOB, "pw-host-123")
    assert client.post(f"/meetings/bookings/{booked}/cancel", data={}).status_code == 404
    assert status_of(hub, booked)[0] == BookingStatus.CONFIRMED


def test_only_the_embed_page_may_be_framed_and_only_by_the_configured_sites(client, hub, booked, monday):
    normal = client.get("/book/alice-30")
    assert normal.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in normal.headers["Content-Security-Policy"]
    embed = client.get("/book/alice-30/embed")
    assert embed.status_code == 200 and "frame-ancestors 'none'" in embed.headers["Content-Security-Policy"]
    html = embed.get_data(as_text=True)
    assert "data-embedded" in html and 'class="top"' not in html, "no site chrome"

    hub.settings.embed_origins = "https://www.acme.example https://shop.acme.example"
    embed = client.get("/book/alice-30/embed")
    assert "X-Frame-Options" not in embed.headers
    assert re.search(r"frame-ancestors https://www\.acme\.example https://shop\.acme\.example(;|$)",
                     embed.headers["Content-Security-Policy"])
    assert client.get("/book/alice-30").headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("bad", ["https://a.example; script-src *", "javascript:alert(1)", "a.example"])
def test_embed_origins_that_are_not_origins_stop_start_up(bad):
    from hub.config import Settings
    from hub.exceptions import ConfigError

    with pytest.raises(ConfigError):
        Settings.load({"embed_origins": f"https://ok.example {bad}"}, environ={})
    assert Settings.load({"embed_origins": "https://*.acme.example http://127.0.0.1:8080 *"}, environ={})


def test_the_embedded_form_books_without_a_session_and_stays_embedded(app, hub, booked, monday):
    app.config["WTF_CSRF_ENABLED"] = True  # a third-party frame may get no session cookie: no token to send
    hub.settings.embed_origins = "https://www.acme.example"
    client = app.test_client()
    answer = client.post("/book/alice-30/embed", data={"start": local(monday, 11).isoformat(), "tz": "UTC",
                                                       "guest_name": "Ada", "guest_email": "ada@lovelace.example"})
    assert answer.status_code == 302 and answer.headers["Location"].endswith("?embed=1")
    confirmation = client.get(answer.headers["Location"])
    assert "frame-ancestors https://www.acme.example" in confirmation.headers["Content-Security-Policy"]
    assert 'data-booked="alice-30"' in confirmation.get_data(as_text=True)
    assert client.post("/book/alice-30", data={"start": local(monday, 11, 30).isoformat(), "guest_name": "Eve",
                                               "guest_email": "eve@example.org"}).status_code == 400, \
        "the site's own booking page still wants its CSRF token"
