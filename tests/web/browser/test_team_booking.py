"""A round-robin team type made in the meeting-type form and booked by two guests in a browser: each
guest answers the type's question, the same slot goes to two different members, then it is gone."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hub.models import Booking, Role
from tests.web.browser.conftest import shot, sign_in
from tests.web.browser.test_calendars_and_mail import connect_memory
from tests.web.conftest import ALICE, PASSWORD

pytestmark = pytest.mark.browser

SALES = "salesperson@corp.test"
SALES_MAILBOX_PASSWORD = "sales-mailbox-secret"


@pytest.fixture
def memory(memory):
    """Alice's account and the salesperson's, each with a calendar."""
    memory.add_account(SALES, SALES_MAILBOX_PASSWORD, "Salesperson", calendars=("primary",))
    return memory


def create_round_robin_type(page, members):
    page.goto("/meetings/new")
    page.fill("input[name=name]", "Talk to sales")
    page.fill("input[name=slug]", "sales")
    page.select_option("select[name=timezone]", "UTC")
    for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"):
        page.fill(f"input[name=hours_{day}]", "00:00-24:00")
    page.fill("input[name=slot_step_minutes]", "30")
    page.select_option("select[name=kind]", "round_robin")
    for uid in members:
        page.check(f"input[name=member][value='{uid}']")
    page.fill("textarea[name=questions]", "Company size | choice | 1-10, 11-50 | required")
    shot(page, "team-01-meeting-type-form")
    page.click("button:has-text('Save')")
    page.wait_for_selector("[data-kind=round_robin]")


def book(page, slot, name, email):
    page.goto("/book/sales")
    page.wait_for_selector("a.slot")
    page.click(f"a.slot[data-slot='{slot}']")
    page.wait_for_selector("#booking-form")
    page.fill("input[name=guest_name]", name)
    page.fill("input[name=guest_email]", email)
    page.select_option("select[name=q_company_size]", "11-50")
    page.click("#booking-form button:has-text('Book this time')")
    page.wait_for_selector("h1:has-text(\"You're booked\")")


def test_two_guests_book_the_same_round_robin_slot_with_two_different_members(new_page, hub, people,
                                                                              background_worker):
    seller = new_page()
    sign_in(seller, SALES, PASSWORD)
    connect_memory(seller, SALES, SALES_MAILBOX_PASSWORD)
    host = new_page()
    sign_in(host, ALICE, PASSWORD)
    connect_memory(host)
    background_worker.wait_idle()
    create_round_robin_type(host, [people["alice"], people[Role.SALESPERSON]])

    first = new_page()
    first.goto("/book/sales")
    first.wait_for_selector("p.muted:has-text('with one of')")
    slot = first.locator("a.slot").first.get_attribute("data-slot")
    book(first, slot, "Grace Guest", "grace@example.org")
    shot(first, "team-02-booked")
    second = new_page()
    book(second, slot, "Ada Guest", "ada@example.org")  # the same time: still offered, by the other member
    with hub.db.session() as s:
        rows = s.execute(select(Booking.host_user_id, Booking.answers)).all()
    assert sorted(host for host, _ in rows) == sorted([people["alice"], people[Role.SALESPERSON]])
    assert all(answers[0]["answer"] == "11-50" for _, answers in rows)

    third = new_page()
    third.goto("/book/sales")
    third.wait_for_selector("a.slot")
    assert third.locator(f"a.slot[data-slot='{slot}']").count() == 0  # both members are booked then
