"""An administrator disables a provider in the browser; users no longer see it. Admin page screenshots."""

from __future__ import annotations

import pytest

from tests.web.browser.conftest import shot, sign_in
from tests.web.browser.test_calendars_and_mail import connect_memory
from tests.web.conftest import ALICE, PASSWORD

pytestmark = pytest.mark.browser


def test_admin_disables_a_provider(new_page, hub, people, background_worker):
    user = new_page()
    sign_in(user, ALICE, PASSWORD)
    connect_memory(user)
    background_worker.wait_idle()
    assert user.locator("a[data-provider=memory]").count() == 1

    admin = new_page()
    sign_in(admin, "admin@corp.test", PASSWORD)
    admin.click("nav a:has-text('Admin')")
    card = admin.wait_for_selector("section[data-provider=memory][data-enabled=yes]")
    assert "calendar" in card.inner_text() and "mail" in card.inner_text()
    shot(admin, "18-admin-providers")
    admin.click("section[data-provider=memory] button[data-action=disable]")
    admin.wait_for_selector(".flash.success:has-text('disabled')")
    admin.wait_for_selector("section[data-provider=memory][data-enabled=no] .badge:has-text('Disabled')")

    user.reload()
    assert user.locator("a[data-provider=memory]").count() == 0
    assert "No provider is enabled" in user.inner_text("main")

    admin.click("a:has-text('Users & connections')")
    admin.wait_for_selector(f"tr:has-text('{ALICE}') .badge.enabled")
    shot(admin, "19-admin-users")
    admin.click("a:has-text('Plans & limits')")
    admin.wait_for_selector("h2:has-text('Plans')")
    shot(admin, "20-admin-limits")
    admin.click("a:has-text('Queues & workers')")
    admin.wait_for_selector("tr[data-queue=sync]")
    shot(admin, "21-admin-health")

    admin.click("nav a:has-text('Admin')")
    admin.click("section[data-provider=memory] button[data-action=enable]")
    admin.wait_for_selector("section[data-provider=memory][data-enabled=yes]")
    user.reload()
    assert user.locator("a[data-provider=memory]").count() == 1
