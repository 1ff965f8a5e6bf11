"""Choosing the Sent folder in a browser, for a Cyrus mailbox whose Sent folder carries no \\Sent flag
and no well-known name: the Mail sync page says so, offers the mailbox's folders, and the sent mail
of the chosen one is logged on the contact's timeline."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hub.accounts import connect_account
from hub.models import Account, AccountStatus, MailMessage, ProviderSetting
from tests.mail_corpus.world import mail
from tests.web.browser.conftest import shot, sign_in
from tests.web.conftest import ALICE, PASSWORD
from tests.web.mailboxes import add_maria

pytestmark = pytest.mark.browser

SENT = "INBOX.Sent by Thunderbird"


@pytest.fixture
def hub_load_plugins():
    return "imap"


@pytest.fixture
def legacy_mailbox(hub, people, cyrus, smtp_server, background_worker):
    """Alice's Cyrus mailbox: the flag-less legacy Sent folder replaced by one her mail program
    named, holding one mail to Maria; connected, its first sync run (and failed on Sent)."""
    from hub_imap import session as imap_sessions
    from hub_imap.testing import connect_params, trusted

    add_maria(hub)
    user = cyrus.add_user(legacy_sent=True)
    with cyrus.client(user) as imap:
        imap.delete_folder("INBOX.Sent")
        imap.create_folder(SENT)
    cyrus.append(user, SENT, mail(ALICE, "maria@acme.test", "My proposal", body="The numbers we discussed."))
    with hub.db.session() as s:
        s.add(ProviderSetting(name="imap", enabled=True, config={"ca_certificates": trusted(cyrus, smtp_server)}))
    params = connect_params(cyrus, user, smtp_server, imap_security="starttls", smtp_security="ssl")
    account_id = connect_account(hub, people["alice"], "imap", params)
    background_worker.wait_idle()
    yield account_id
    imap_sessions.close_all()


def test_pick_the_sent_folder_and_its_mail_is_logged(page, hub, legacy_mailbox, background_worker):
    sign_in(page, ALICE, PASSWORD)
    page.click("nav a:has-text('Mail sync')")
    account = page.locator(f".account[data-account='{legacy_mailbox}']")
    account.locator(".error-line:has-text('no Sent folder')").wait_for()
    shot(page, "11-mail-no-sent-folder")

    account.locator(".sent-folder a").click()
    page.wait_for_selector("h1:has-text('Sent folder of')")
    offered = page.locator("select[name=sent_folder] option").evaluate_all("options => options.map(o => o.value)")
    assert SENT in offered and "INBOX" in offered, offered
    page.select_option("select[name=sent_folder]", SENT)
    shot(page, "12-mail-sent-folder-picker")
    page.click("button:has-text('Use this folder')")
    page.wait_for_selector(".flash.success:has-text('is synced as your Sent folder')")

    background_worker.wait_idle()
    page.reload()
    account.locator(f".sent-folder a:has-text('Sent folder: {SENT}')").wait_for()
    account.locator("[data-status]:has-text('Enabled')").wait_for()
    account.locator("[data-folder=sent] .progress-text:has-text('Initial sync complete (1 messages)')").wait_for()
    page.click("nav a:has-text('Contacts')")
    page.click("a:has-text('Maria Lopez')")
    page.wait_for_selector("details.thread summary:has-text('My proposal')")
    shot(page, "13-mail-sent-folder-logged")
    with hub.db.session() as s:
        assert s.get(Account, legacy_mailbox).status == AccountStatus.ENABLED
        sent = s.scalars(select(MailMessage).where(MailMessage.folder == "sent")).all()
        assert [(m.subject, m.direction) for m in sent] == [("My proposal", "out")]
