"""Pages that show rather than tell: the Integrations page's live state per account, a plain
"Disconnect" with its confirmation, what an administrator's decision looks like to users, an error log
that folds repeats and always says how to fix, and a removal that says how much goes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select

from hub.models import Account, MailMessage, ProviderSetting, SyncCursor, utcnow
from tests.web.browser.conftest import shot, sign_in
from tests.web.browser.test_calendars_and_mail import connect_memory
from tests.web.conftest import ALICE, PASSWORD

pytestmark = pytest.mark.browser


def account_id(hub) -> int:
    with hub.db.session() as s:
        return s.scalar(select(Account.id))


def test_the_integrations_page_shows_what_each_account_is_doing_live(page, hub, people, background_worker):
    background_worker.pause()
    sign_in(page, ALICE, PASSWORD)
    connect_memory(page)
    state = "[data-account] [data-live-state]"
    assert page.inner_text(state) == "Waiting for the first sync…"
    # the mail engine's cursor as it stands a third into a first sync of 10,000 messages
    with hub.db.session() as s:
        s.add(SyncCursor(account_id=account_id(hub), kind="mail", key="inbox", progress_done=3200,
                         progress_total=10_000, initial_done=False))
    page.wait_for_selector(f"{state}:has-text('Syncing 3,200 of 10,000 messages')")  # no reload
    shot(page, "26-integrations-syncing")
    with hub.db.session() as s:
        s.execute(delete(SyncCursor))
    background_worker.resume()
    background_worker.wait_idle()
    page.wait_for_selector(f"{state}:has-text('Up to date · just now')")
    assert page.inner_text("[data-account] [data-live-badge]") == "Enabled"
    with hub.db.session() as s:
        s.get(Account, account_id(hub)).last_synced_at = utcnow() - timedelta(minutes=2, seconds=5)
    page.reload()
    assert page.inner_text(state) == "Up to date · 2 min ago"
    shot(page, "26-integrations-up-to-date")

    # the account's button says what it does, and asks first
    button = page.locator("[data-account] button[data-action=disconnect]")
    assert button.inner_text() == "Disconnect"
    button.click()
    assert "Disconnect" in page.inner_text("dialog[open] h3")
    page.click("dialog[open] button:has-text('Cancel')")


def test_a_provider_the_admin_disabled_says_so_to_its_users(page, hub, people, background_worker):
    sign_in(page, ALICE, PASSWORD)
    connect_memory(page)
    background_worker.wait_idle()
    with hub.db.session() as s:
        s.merge(ProviderSetting(name="memory", enabled=False, config={}))
    hub.refresh_disabled_providers()
    page.reload()
    assert page.inner_text("[data-account] [data-live-badge]") == "Disabled"
    assert page.inner_text("[data-account] [data-live-state]") == "Disabled by your administrator."
    assert "Enabled" not in page.inner_text("[data-account]") and "Syncing" not in page.inner_text("[data-account]")
    shot(page, "26-integrations-disabled-by-admin")


def test_removing_previous_communication_asks_first_and_says_how_many(page, hub, people, memory, background_worker):
    from tests.web.mailboxes import add_maria, deliver_thread

    add_maria(hub)
    deliver_thread(memory, ALICE, "Pricing", turns=3)
    sign_in(page, ALICE, PASSWORD)
    connect_memory(page)
    background_worker.wait_idle()
    with hub.db.session() as s:
        logged = s.scalar(select(func.count(MailMessage.id)))
    assert logged >= 3
    page.goto("/mail/")
    page.check("input[name=previous][value=remove]")
    page.click("form.disable-mail button[type=submit]")
    box = page.wait_for_selector("#confirm-remove")
    assert f"Remove {logged} messages from timelines?" in box.inner_text()
    shot(page, "26-mail-remove-confirmation")
    page.click("#confirm-remove a:has-text('Cancel')")
    with hub.db.session() as s:
        assert s.scalar(select(func.count(MailMessage.id))) == logged  # nothing went
        assert s.scalar(select(Account.mail_enabled)) is True
    page.check("input[name=previous][value=remove]")
    page.click("form.disable-mail button[type=submit]")
    page.click("#confirm-remove button[data-action=confirm-remove]")
    page.wait_for_selector(f".flash.success:has-text('{logged} logged messages were removed')")
    with hub.db.session() as s:
        assert s.scalar(select(func.count(MailMessage.id))) == 0


def test_the_error_log_folds_repeats_says_how_to_fix_and_leaves_forged_notifications_to_the_admin(
        new_page, hub, people, background_worker):
    from hub.account_status import log_error
    from hub.exceptions import ProviderUnavailable, WebhookRejected

    alice = new_page()
    sign_in(alice, ALICE, PASSWORD)
    connect_memory(alice)
    background_worker.wait_idle()
    with hub.db.session() as s:
        account = s.get(Account, account_id(hub))
        for _ in range(3):
            log_error(s, account, ProviderUnavailable("The mail server did not answer."), "mail")
        for _ in range(2):
            log_error(s, account, WebhookRejected("A notification did not carry the right token."), "webhook")
    alice.goto("/mail/")
    alice.click("details.error-log summary")
    rows = alice.locator("details.error-log [data-error-entry]")
    assert rows.count() == 1  # three identical entries, one line; the forged notifications are not here
    assert rows.first.locator("[data-count]").inner_text() == "3"
    assert rows.first.locator(".fix").inner_text().strip()
    assert "token" not in alice.inner_text("details.error-log")
    shot(alice, "26-mail-error-log")

    admin = new_page()
    sign_in(admin, "admin@corp.test", PASSWORD)
    admin.goto("/admin/health")
    rejected = admin.locator("#rejected-notifications [data-error-entry]")
    assert rejected.count() == 1 and rejected.first.locator("[data-count]").inner_text() == "2"
    assert ALICE in rejected.first.inner_text()
    assert "forged" in rejected.first.locator(".fix").inner_text()
    shot(admin, "26-admin-rejected-notifications")


def test_times_are_in_the_users_zone_and_the_booking_page_in_the_guests(new_page, hub, people, background_worker):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from tests.web.browser.test_booking import book_first_slot, create_primary_meeting_type

    host = new_page()
    sign_in(host, ALICE, PASSWORD)
    host.goto("/settings/")
    host.select_option("select[name=timezone]", "Asia/Tokyo")
    host.click("form button:has-text('Save')")
    connect_memory(host)
    background_worker.wait_idle()
    create_primary_meeting_type(host)

    guest = new_page(timezone_id="America/New_York")  # the page opens in the guest's browser zone
    slot = book_first_slot(guest, "Grace Guest", "grace@example.org")
    guest.wait_for_selector("h1:has-text(\"You're booked\")")
    assert "America/New_York" in guest.inner_text("#when")

    host.goto("/meetings/")
    row = host.wait_for_selector("tr:has-text('Grace Guest')")
    expected = datetime.fromisoformat(slot).astimezone(ZoneInfo("Asia/Tokyo")).strftime("%a %d %b %Y, %H:%M")
    assert f"{expected} JST" in row.inner_text()
    assert "UTC" not in host.inner_text("main")
    shot(host, "26-meetings-in-the-users-zone")


def test_demo_mode_says_so_on_every_page_with_the_step_to_real_use(page, people, monkeypatch):
    from web.banner import DEMO_ENV

    page.goto("/login")
    assert page.locator("#demo-banner").count() == 0
    monkeypatch.setenv(DEMO_ENV, "1")  # what `hub demo` sets for itself and its children
    sign_in(page, ALICE, PASSWORD)
    for path in ("/", "/calendars/", "/mail/", "/settings/"):
        page.goto(path)
        banner = page.inner_text("#demo-banner")
        assert "Demo mode" in banner and "python3 dev.py run --real" in banner
    shot(page, "26-demo-banner")
