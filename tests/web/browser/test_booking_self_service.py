"""A guest reschedules and then cancels through the links of the e-mails the test SMTP server received,
and a booking page embedded in another site tells that site `booked` — in Chromium, with a real worker.

The host's calendar provider cannot send mail here, so booking e-mails take the hub's relay: the
aiosmtpd peer."""

from __future__ import annotations

import re
import threading

import icalendar
import pytest
from sqlalchemy import select

from hub.models import Booking, BookingStatus
from hub.testing.memory import MemoryProvider
from hub.testing.peers.base import free_port
from hub.testing.waiting import wait_until
from hub.types import ALL_CAPABILITIES, SEND
from tests.web.browser.conftest import shot, sign_in
from tests.web.browser.test_booking import book_first_slot, create_primary_meeting_type
from tests.web.browser.test_calendars_and_mail import connect_memory
from tests.web.conftest import ALICE, PASSWORD

pytestmark = pytest.mark.browser

GUEST = "grace@example.org"


@pytest.fixture
def hub_plugins(memory):
    return [("memory", MemoryProvider(memory, capabilities=ALL_CAPABILITIES - {SEND}))]


@pytest.fixture
def site():
    """The company's own site: a server on another port, so another origin than the hub (on loopback too —
    Chromium refuses a public page's requests to a loopback address). ``site.page`` is what it serves."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Site(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server naming)
            body = server.page.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Site)
    server.page = ""
    server.origin = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def hub_settings_overrides(live_port, smtp_server, site):
    user = smtp_server.user
    return {"base_url": f"http://127.0.0.1:{live_port}", "embed_origins": site.origin,
            "smtp_relay_url": f"smtp://{user.username}:{user.password}@{smtp_server.host}:{smtp_server.port}",
            "smtp_relay_ca_file": str(smtp_server.cert_path)}


def mail_to_guest(smtp_server, subject_start: str):
    """The guest's e-mail whose subject starts so, once the relay got it: (text, parsed .ics)."""
    def find():
        for captured in smtp_server.messages:
            msg = captured.message()
            if GUEST in captured.rcpt_tos and str(msg["Subject"]).startswith(subject_start):
                [ics] = [p for p in msg.iter_attachments() if p.get_content_type() == "text/calendar"]
                return msg.get_body(("plain",)).get_content(), icalendar.Calendar.from_ical(ics.get_content())
        return None
    return wait_until(find, what=f"the guest's {subject_start!r} e-mail")


def booking_row(hub) -> Booking:
    with hub.db.session() as s:
        [row] = s.scalars(select(Booking)).all()
        return row


def test_reschedule_then_cancel_through_the_e_mailed_links(new_page, hub, people, background_worker, smtp_server):
    host = new_page()
    sign_in(host, ALICE, PASSWORD)
    connect_memory(host)
    background_worker.wait_idle()
    create_primary_meeting_type(host)

    guest = new_page(timezone_id="America/New_York")
    book_first_slot(guest, "Grace Guest", GUEST)
    guest.wait_for_selector("h1:has-text(\"You're booked\")")
    text, cal = mail_to_guest(smtp_server, "Confirmed:")
    [first] = cal.walk("VEVENT")
    link = re.search(r"Reschedule: (\S+)", text).group(1)

    guest.goto(link)
    guest.wait_for_selector("[data-booking-page][data-zone='America/New_York'] a.slot")
    shot(guest, "25-reschedule-page")
    target = guest.locator("a.slot").nth(3)
    new_start = target.get_attribute("data-slot")
    target.click()
    guest.click("#confirm-reschedule")
    guest.wait_for_selector("h1:has-text(\"You're booked\")")
    assert booking_row(hub).start.isoformat() == new_start
    text, cal = mail_to_guest(smtp_server, "Moved:")
    [moved] = cal.walk("VEVENT")
    assert (moved["uid"], moved["sequence"]) == (first["uid"], 1)
    assert moved.decoded("dtstart").isoformat() == new_start

    guest.goto(re.search(r"Cancel: (\S+)", text).group(1))
    guest.fill("textarea[name=reason]", "Something came up")
    shot(guest, "26-cancel-page")
    guest.click("#confirm-cancel")
    guest.wait_for_selector("#cancelled")
    row = booking_row(hub)
    assert (row.status, row.cancel_reason) == (BookingStatus.CANCELLED, "Something came up")
    text, cal = mail_to_guest(smtp_server, "Cancelled:")
    assert str(cal["method"]) == "CANCEL" and cal.walk("VEVENT")[0]["sequence"] == 2

    guest.goto(link)  # the reschedule link of the first e-mail
    guest.wait_for_selector("#link-gone:has-text('cancelled')")


def test_an_embedded_booking_page_tells_the_site_booked(new_page, hub, people, background_worker, live_server,
                                                        site):
    host = new_page()
    sign_in(host, ALICE, PASSWORD)
    connect_memory(host)
    background_worker.wait_idle()
    create_primary_meeting_type(host)
    host.goto("/meetings/")
    snippet = host.text_content("#embed-alice-intro")  # inside a closed <details>: not rendered text
    assert f"{live_server}/static/embed.js" in snippet and f"{live_server}/book/alice-intro/embed" in snippet

    # the company's own site, at another origin, with the snippet and a listener of its own
    site.page = f"""<!doctype html><html><body><h1>Acme shop</h1>
      <script>window.heard = []; window.addEventListener("message", function (e) {{
        if (e.data && e.data.type === "booked") {{ window.heard.push(e.data); }} }});
        document.addEventListener("hub:booked", function (e) {{ window.bookedEvent = e.detail; }});</script>
      {snippet}</body></html>"""
    visitor = new_page(timezone_id="America/New_York")
    visitor.goto(site.origin + "/book-a-demo")
    frame = visitor.frame_locator("iframe.hub-booking-frame")
    frame.locator("[data-booking-page][data-zone='America/New_York']").wait_for()  # the browser's zone
    assert frame.locator("header.top").count() == 0, "no site chrome in the frame"
    slot = frame.locator("a.slot").first
    start = slot.get_attribute("data-slot")
    slot.click()
    frame.locator("input[name=guest_name]").fill("Vera Visitor")
    frame.locator("input[name=guest_email]").fill("vera@example.org")
    frame.locator("#booking-form button:has-text('Book this time')").click()
    visitor.wait_for_function("window.heard.length > 0")
    shot(visitor, "27-embedded-booked")
    [heard] = visitor.evaluate("window.heard")
    assert (heard["meetingType"], heard["start"]) == ("alice-intro", start)
    assert visitor.evaluate("window.bookedEvent.start") == start, "embed.js passes it on as hub:booked"
    height = visitor.evaluate("document.querySelector('iframe.hub-booking-frame').style.height")
    assert height.endswith("px") and height != "640px", "the frame was sized to its content"
    assert booking_row(hub).guest_email == "vera@example.org"
