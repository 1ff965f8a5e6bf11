"""Choosing default and conflict calendars, and watching an initial mail sync complete, in a browser."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hub.models import Calendar, User
from tests.web.browser.conftest import shot, sign_in
from tests.web.conftest import ALICE, ALICE_MAILBOX_PASSWORD, PASSWORD
from tests.web.mailboxes import add_maria, deliver_thread, raw_mail

pytestmark = pytest.mark.browser


def connect_memory(page, email=ALICE, password=ALICE_MAILBOX_PASSWORD):
    page.goto("/")
    page.click("a[data-provider=memory]")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button:has-text('Connect')")
    page.wait_for_selector(".flash.success:has-text('Account connected.')")


def test_choose_default_and_conflict_calendars(page, hub, people, background_worker):
    sign_in(page, ALICE, PASSWORD)
    connect_memory(page)
    background_worker.wait_idle()
    page.click("nav a:has-text('Calendars')")
    page.wait_for_selector("tr[data-name='primary'] .synced-check")  # the primary calendar: default, synced, ✓
    # the read-only holiday calendar can block time but never be the default
    assert page.locator("#default-form label:has-text('Holidays')").count() == 0
    page.check("#default-form label:has-text('Team calendar') input")
    page.click("#default-form button")
    page.wait_for_selector(".flash.success:has-text('Default calendar saved')")
    page.check("#conflict-form label:has-text('Holidays') input")
    page.check("#conflict-form label:has-text('primary') input")
    page.click("#conflict-form button")
    page.wait_for_selector(".flash.success:has-text('Conflict calendars saved')")
    background_worker.wait_idle()
    page.reload()
    page.wait_for_selector("tr[data-name='Team calendar'] .synced-check")  # synced once it became the default
    assert page.is_checked("#default-form label:has-text('Team calendar') input")
    assert page.is_disabled("#conflict-form label:has-text('Team calendar') input")  # the default always blocks
    assert page.is_checked("#conflict-form label:has-text('Holidays') input")
    shot(page, "07-calendars")
    with hub.db.session() as s:
        rows = {c.name: (c.is_default, c.is_conflict) for c in s.scalars(select(Calendar))}
    assert rows == {"primary": (False, True), "Team calendar": (True, True), "Holidays": (False, True)}
    # sync preferences of one calendar
    prefs = page.locator("form.prefs[data-calendar]").filter(has_text="Holidays")
    prefs.locator("select[name=sync_direction]").select_option("from_calendar")
    prefs.locator("select[name=appointment_type]").select_option("call")
    prefs.locator("button").click()
    page.wait_for_selector(".flash.success:has-text('Calendar preferences saved.')")
    with hub.db.session() as s:
        holidays = s.scalar(select(Calendar).where(Calendar.name == "Holidays"))
        assert (holidays.sync_direction.value, holidays.appointment_type) == ("from_calendar", "call")


def test_watch_the_initial_sync_progress_complete(page, hub, people, memory, background_worker):
    with hub.db.session() as s:
        s.get(User, people["alice"]).plan_id = None  # no daily cap: the whole mailbox syncs now
    add_maria(hub)
    for n in range(6):
        deliver_thread(memory, ALICE, f"Proposal {n}", turns=3)
    for n in range(240):
        memory.deliver(ALICE, "inbox", raw_mail(f"news{n % 7}@letters.example", ALICE, f"Newsletter {n}")[0])
    sign_in(page, ALICE, PASSWORD)
    background_worker.pause()  # the initial sync waits until the page is open
    connect_memory(page)
    page.click("nav a:has-text('Mail sync')")
    page.wait_for_selector(".progress-text.waiting:has-text('Initial sync starting')")
    shot(page, "08-mail-sync-starting")
    background_worker.resume()
    # no reload: the page polls the API and redraws the bars
    page.wait_for_selector("[data-folder=inbox] .progress-text:has-text('Initial sync complete (252 messages)')")
    page.wait_for_selector("[data-folder=sent] .progress-text:has-text('Initial sync complete (6 messages)')")
    assert page.get_attribute("[data-folder=inbox] progress", "value") == "100"
    shot(page, "09-mail-sync-complete")
    page.click("nav a:has-text('Contacts')")
    page.click("a:has-text('Maria Lopez')")
    page.wait_for_selector("details.thread summary:has-text('Proposal 5')")
    assert page.locator("details.thread").count() == 6
    shot(page, "10-contact-timeline")
