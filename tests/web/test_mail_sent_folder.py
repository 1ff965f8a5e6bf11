"""Picking the Sent folder on the Mail sync page, for a server that marks none (Cyrus, a legacy mailbox)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hub.accounts import connect_account
from hub.models import Account, AccountStatus, MailMessage, ProviderSetting
from tests.mail_corpus.world import mail
from tests.web.conftest import ALICE

hub_imap = pytest.importorskip("hub_imap.hooks", reason="the IMAP plugin (plugins/imap) is not installed")
from hub_imap import session as imap_sessions  # noqa: E402
from hub_imap.testing import connect_params, trusted  # noqa: E402


@pytest.fixture
def hub_plugins():
    return [("imap", hub_imap)]


@pytest.fixture
def legacy_mailbox(hub, people, cyrus, smtp_server, worker):
    """Alice's Cyrus mailbox whose Sent folder is not flagged, and a folder she files sent mail in."""
    user = cyrus.add_user(legacy_sent=True)
    with cyrus.client(user) as imap:
        imap.delete_folder("INBOX.Sent")
        imap.create_folder("INBOX.Sent by Thunderbird")
    cyrus.append(user, "INBOX.Sent by Thunderbird", mail(ALICE, "dan@globex.com", "my proposal"))
    with hub.db.session() as s:
        s.add(ProviderSetting(name="imap", enabled=True, config={"ca_certificates": trusted(cyrus, smtp_server)}))
    params = connect_params(cyrus, user, smtp_server, imap_security="starttls", smtp_security="ssl")
    account_id = connect_account(hub, people["alice"], "imap", params)
    worker.drain()
    yield account_id
    imap_sessions.close_all()


def test_the_user_picks_the_sent_folder_and_it_syncs(alice, hub, worker, legacy_mailbox):
    with hub.db.session() as s:  # no folder is flagged or named like Sent: the sync says so
        assert s.get(Account, legacy_mailbox).status == AccountStatus.ERROR
        assert "no Sent folder" in s.get(Account, legacy_mailbox).last_error
    page = alice.get("/mail/").get_data(as_text=True)
    assert f"/mail/accounts/{legacy_mailbox}/sent-folder" in page

    picker = alice.get(f"/mail/accounts/{legacy_mailbox}/sent-folder").get_data(as_text=True)
    assert '<option value="INBOX.Sent by Thunderbird"' in picker and '<option value="INBOX"' in picker
    done = alice.post(f"/mail/accounts/{legacy_mailbox}/sent-folder", data={"sent_folder": "INBOX.Sent by Thunderbird"})
    assert done.status_code == 302
    worker.drain()
    with hub.db.session() as s:
        account = s.get(Account, legacy_mailbox)
        assert account.settings["sent_folder"] == "INBOX.Sent by Thunderbird"
        assert account.status == AccountStatus.ENABLED
        sent = s.scalars(select(MailMessage).where(MailMessage.folder == "sent")).all()
        assert [(m.subject, m.direction) for m in sent] == [("my proposal", "out")]
    assert "Sent folder: INBOX.Sent by Thunderbird" in alice.get("/mail/").get_data(as_text=True)


def test_a_folder_the_mailbox_does_not_have_is_refused(alice, hub, legacy_mailbox):
    response = alice.post(f"/mail/accounts/{legacy_mailbox}/sent-folder", data={"sent_folder": "INBOX.Nope"})
    assert response.status_code == 302
    with hub.db.session() as s:
        assert "sent_folder" not in s.get(Account, legacy_mailbox).settings


def test_someone_else_cannot_open_the_picker(client, people, hub, legacy_mailbox):
    from tests.web.conftest import sign_in

    sign_in(client, "salesperson@corp.test")
    assert client.get(f"/mail/accounts/{legacy_mailbox}/sent-folder").status_code == 404
