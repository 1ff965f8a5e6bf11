"""The sandbox's consent page in a real headless Chromium: a person can click "Allow" and lands on
the hub's callback with a code the plugin exchanges."""

from __future__ import annotations

import shutil
import threading
from urllib.parse import parse_qsl, urlsplit

import pytest

from hub import oauth
from hub.testing.peers.base import peer_missing

from hub_google import hooks
from hub_google.testing import SANDBOX_USER


@pytest.fixture
def in_browser():
    """Run ``steps(page)`` in headless Chromium, in a thread of its own: Playwright's sync API refuses
    a thread where another suite's Playwright session (a session-scoped fixture) is still open."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        peer_missing("chromium is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        peer_missing("playwright is not installed (pip install playwright)")

    def run(steps):
        outcome = {}

        def drive():
            try:
                with sync_playwright() as driver:
                    browser = driver.chromium.launch(executable_path=chromium, args=[
                        "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
                    try:
                        outcome["value"] = steps(browser.new_page())
                    finally:
                        browser.close()
            except BaseException as exc:  # re-raised in the test's thread
                outcome["error"] = exc

        thread = threading.Thread(target=drive, name="browser")
        thread.start()
        thread.join(120)
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]

    return run


def test_consent_in_a_browser_then_connect(google_sandbox, google_context, in_browser):
    google_sandbox.state.add_user("bob@example.com", "Bob")
    start = oauth.start(f"{google_context.base_url}/integrations/google/callback", login_hint=SANDBOX_USER)

    def consent(page):
        page.goto(hooks.hub_authorization_url(context=google_context, start=start))
        assert page.locator("#email").input_value() == SANDBOX_USER, "login_hint preselects the account"
        with page.expect_navigation(url=lambda url: url.startswith(start.redirect_uri)):
            page.click("#allow")
        return page.url

    query = dict(parse_qsl(urlsplit(in_browser(consent)).query))
    assert query["state"] == start.state
    result = hooks.hub_connect(context=google_context, params={
        "code": query["code"], "code_verifier": start.code_verifier, "redirect_uri": start.redirect_uri})
    assert result.email == SANDBOX_USER
