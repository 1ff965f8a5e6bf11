"""Connecting Google through the sandbox's consent page, the way a person clicks through it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hub.models import Account, Calendar, ProviderSetting
from tests.web.browser.conftest import shot, sign_in
from tests.web.conftest import ALICE, PASSWORD

pytestmark = pytest.mark.browser

GOOGLE_USER = "alice@example.com"  # the sandbox's user (hub_google.testing)


@pytest.fixture
def hub_load_plugins():
    return "google"


@pytest.fixture
def google_configured(hub, google_sandbox):
    with hub.db.session() as s:
        s.add(ProviderSetting(name="google", enabled=True, config=google_sandbox.provider_config()))
    return google_sandbox


def test_sign_in_with_google_through_the_consent_page(page, hub, people, google_configured, background_worker):
    sign_in(page, ALICE, PASSWORD)
    shot(page, "02-integrations-empty")
    page.click("button:has-text('Sign in with Google')")
    page.wait_for_selector("text=wants to access your Google Account")  # the sandbox's consent page
    assert page.url.startswith(google_configured.url)
    shot(page, "03-google-consent")
    assert page.locator("#email").input_value() == ""  # no one else's account is picked for Alice
    page.select_option("#email", GOOGLE_USER)
    page.click("#allow")
    page.wait_for_selector(".flash.success:has-text('Account connected.')")
    page.wait_for_selector(f".account[data-status='enabled'] .account-email:has-text('{GOOGLE_USER}')")
    assert page.is_visible("button[data-action=disconnect]:has-text('Disconnect')")
    background_worker.wait_idle()
    with hub.db.session() as s:
        account = s.scalar(select(Account))
        assert (account.provider, account.email) == ("google", GOOGLE_USER)
        assert s.scalar(select(Calendar.name).where(Calendar.is_default.is_(True)))  # the calendar list was read
    page.goto("/calendars/")
    page.wait_for_selector("tr[data-calendar] .synced-check")  # the default calendar synced: green check
    shot(page, "04-calendars-google")


def test_cancelling_the_consent_says_access_was_not_granted(page, people, google_configured):
    sign_in(page, ALICE, PASSWORD)
    page.click("button:has-text('Sign in with Google')")
    page.click("#deny")
    page.wait_for_selector(".flash.error:has-text('did not grant access (access_denied)')")
