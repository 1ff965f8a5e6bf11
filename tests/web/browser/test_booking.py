"""Booking a slot on the public page, the slot disappearing for the next guest, and a disconnect
turning the booking link inactive — in a browser, with a real worker pushing to the calendar."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from hub.models import Booking
from tests.web.browser.conftest import shot, sign_in
from tests.web.browser.test_calendars_and_mail import connect_memory
from tests.web.conftest import ALICE, PASSWORD

pytestmark = pytest.mark.browser

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def create_primary_meeting_type(page):
    page.goto("/")
    page.click("#primary-meeting-prompt a")  # the prompt after the first connection
    page.wait_for_selector("h1:has-text('New meeting type')")
    page.fill("input[name=name]", "Intro call")
    page.fill("input[name=slug]", "alice-intro")
    page.select_option("select[name=timezone]", "UTC")
    for day in DAYS:
        page.fill(f"input[name=hours_{day}]", "00:00-24:00")
    page.fill("input[name=min_notice_minutes]", "60")
    page.fill("input[name=slot_step_minutes]", "30")
    shot(page, "11-meeting-type-form")
    page.click("button:has-text('Save')")
    page.wait_for_selector(".flash.success:has-text('booking page is live at /book/alice-intro')")
    shot(page, "12-meetings")


def book_first_slot(page, name, email):
    page.goto("/book/alice-intro")
    page.wait_for_selector("[data-booking-page][data-zone='America/New_York']")  # the guest's own zone
    first = page.locator("a.slot").first
    slot = first.get_attribute("data-slot")
    first.click()
    page.wait_for_selector("#booking-form")
    page.fill("input[name=guest_name]", name)
    page.fill("input[name=guest_email]", email)
    page.click("#booking-form button:has-text('Book this time')")
    return slot


def test_book_a_slot_then_it_is_gone_for_the_next_guest(new_page, hub, people, background_worker):
    host = new_page()
    sign_in(host, ALICE, PASSWORD)
    connect_memory(host)
    background_worker.wait_idle()
    create_primary_meeting_type(host)

    guest = new_page(timezone_id="America/New_York")
    guest.goto("/book/alice-intro")
    guest.wait_for_selector("a.slot")
    shot(guest, "13-booking-page")
    slot = book_first_slot(guest, "Grace Guest", "grace@example.org")
    guest.wait_for_selector("h1:has-text(\"You're booked\")")
    assert "America/New_York" in guest.inner_text("#when")
    link = guest.wait_for_selector("#video-link")  # appears once the push made the calendar event
    assert re.match(r"https://video\.memory\.invalid/", link.inner_text())
    shot(guest, "14-booking-confirmed")

    next_guest = new_page(timezone_id="America/New_York")
    next_guest.goto("/book/alice-intro")
    next_guest.wait_for_selector("a.slot")
    assert next_guest.locator(f"a.slot[data-slot='{slot}']").count() == 0
    with hub.db.session() as s:
        assert [b.guest_email for b in s.scalars(select(Booking))] == ["grace@example.org"]

    host.goto("/meetings/")
    host.wait_for_selector("td:has-text('Grace Guest')")


def test_disconnecting_makes_the_booking_link_inactive(new_page, hub, people, background_worker):
    host = new_page()
    sign_in(host, ALICE, PASSWORD)
    connect_memory(host)
    background_worker.wait_idle()
    create_primary_meeting_type(host)
    guest = new_page(timezone_id="America/New_York")
    guest.goto("/book/alice-intro")
    guest.wait_for_selector("a.slot")

    host.goto("/")
    host.click("button[data-action=disconnect]")  # "Disconnect" → the confirmation explains what it does
    dialog = host.wait_for_selector("dialog[open]")
    assert "deactivated" in dialog.inner_text() and "not active" in dialog.inner_text()
    shot(host, "15-disconnect-confirmation")
    host.click("dialog[open] button:has-text('Cancel')")
    assert host.locator("dialog[open]").count() == 0
    host.click("button[data-action=disconnect]")
    host.click("dialog[open] button[data-action=confirm-disconnect]")
    host.wait_for_selector(".account[data-status='disconnected']")
    host.wait_for_selector("button[data-action=reconnect]")
    shot(host, "16-integrations-disconnected")

    guest.reload()
    guest.wait_for_selector("h1:has-text('This booking link is not active')")
    shot(guest, "17-booking-not-active")
    host.goto("/meetings/")
    host.wait_for_selector("td .badge:has-text('Not active')")
