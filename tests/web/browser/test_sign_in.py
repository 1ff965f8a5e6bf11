"""Signing in with a browser: a wrong password is refused, the right one opens the Integrations page."""

from __future__ import annotations

import pytest

from tests.web.browser.conftest import shot, sign_in
from tests.web.conftest import ALICE, PASSWORD

pytestmark = pytest.mark.browser


def test_sign_in_and_out(page, people):
    page.goto("/")
    assert "/login" in page.url
    shot(page, "01-sign-in")
    page.fill("input[name=email]", ALICE)
    page.fill("input[name=password]", "not my password")
    page.click("button[type=submit]")
    page.wait_for_selector(".flash.error:has-text('Wrong email or password.')")
    sign_in(page, ALICE, PASSWORD)
    assert page.inner_text("header .who a") == ALICE
    page.click("header button:has-text('Sign out')")
    page.wait_for_selector("h1:has-text('Sign in')")
