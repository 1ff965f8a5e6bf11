"""Connecting an IMAP mailbox with the form: a wrong password is explained, the right one connects.

Runs against Dovecot (or pymap when Dovecot is not installed) and the aiosmtpd submission server.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hub.models import Account, ProviderSetting
from tests.web.browser.conftest import shot, sign_in
from tests.web.conftest import ALICE, PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def hub_load_plugins():
    return "imap"


@pytest.fixture
def imap_peer(request):
    import shutil

    name = "dovecot" if (shutil.which("dovecot") or shutil.which("/usr/sbin/dovecot")) else "pymap"
    return request.getfixturevalue(name)


@pytest.fixture
def mailbox(hub, imap_peer, smtp_server):
    """A mailbox on the peer; the admin trusts the peers' self-signed certificate."""
    user = imap_peer.add_user()
    smtp_server.add_user(user.username, user.password)
    pem = imap_peer.cert_path.read_text() + smtp_server.cert_path.read_text()
    with hub.db.session() as s:
        s.add(ProviderSetting(name="imap", enabled=True, config={"ca_certificates": pem}))
    return user


def fill_imap_form(page, imap_peer, smtp_server, user, password):
    page.fill("input[name=email]", user.email)
    page.select_option("select[name=preset]", "custom")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", password)
    page.fill("input[name=imap_host]", imap_peer.host)
    page.fill("input[name=imap_port]", str(imap_peer.port))
    page.select_option("select[name=imap_security]", "starttls")
    page.fill("input[name=smtp_host]", smtp_server.host)
    page.fill("input[name=smtp_port]", str(smtp_server.ssl_port))
    page.select_option("select[name=smtp_security]", "ssl")
    page.click("button:has-text('Connect')")


def test_wrong_then_right_password(page, hub, people, imap_peer, smtp_server, mailbox, background_worker):
    sign_in(page, ALICE, PASSWORD)
    page.click("a[data-provider=imap]")
    page.wait_for_selector("h1:has-text('Connect IMAP/SMTP')")
    page.wait_for_load_state("load")  # hub.js (deferred) has attached its handlers
    # a preset folds the server settings away; "custom" opens them
    page.select_option("select[name=preset]", "gmail")
    page.wait_for_selector("input[name=imap_host]", state="hidden")
    page.select_option("select[name=preset]", "custom")
    page.wait_for_selector("input[name=imap_host]", state="visible")
    fill_imap_form(page, imap_peer, smtp_server, mailbox, "not-the-password")
    alert = page.wait_for_selector(".card.error[role=alert]")
    text = alert.inner_text()
    assert "Authentication failed" in text or "password" in text.lower(), text
    shot(page, "05-imap-wrong-password")
    with hub.db.session() as s:
        assert s.scalar(select(Account.id)) is None
    fill_imap_form(page, imap_peer, smtp_server, mailbox, mailbox.password)
    page.wait_for_selector(".flash.success:has-text('Account connected.')")
    page.wait_for_selector(f".account[data-status='enabled'] .account-email:has-text('{mailbox.email}')")
    background_worker.wait_idle()
    page.goto("/mail/")
    page.wait_for_selector(".progress-text:has-text('Initial sync complete')")
    shot(page, "06-mail-sync")
