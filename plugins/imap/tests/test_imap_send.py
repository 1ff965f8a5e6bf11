"""Sending through SMTP: the message on the wire, the envelope, threading headers and the Sent copy."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from hub.exceptions import ValidationError
from hub.testing.conformance import sync_mail_all
from hub.types import AccountHandle, Address, OutgoingMessage

import hub_imap.hooks
from hub_imap.testing import account_for, connect_params, context_for


def outgoing(account, **changes) -> OutgoingMessage:
    fields = dict(
        sender=Address(account.email, "Ana Müller"), to=[Address("bob@example.org", "Bob")],
        cc=[Address("carol@example.org")], bcc=[Address("audit@example.org")],
        subject="Quarterly numbers – draft", text_body="Hi Bob,\nsee below.\n", html_body="<p>Hi Bob,</p>",
        in_reply_to="<question-1@example.org>", references=["<start-0@example.org>"],
    )
    fields.update(changes)
    return OutgoingMessage(**fields)


def sent_folder(account):
    messages, _, _ = sync_mail_all(hub_imap.hooks, account, "sent", None, 50,
                                   datetime.now(timezone.utc) - timedelta(days=1))
    return messages


def test_send_builds_the_message_and_the_envelope(peer, imap_account, smtp_server):
    sent = hub_imap.hooks.hub_send_mail(account=imap_account, message=outgoing(imap_account))
    [captured] = smtp_server.messages
    assert captured.mail_from == imap_account.email
    assert sorted(captured.rcpt_tos) == ["audit@example.org", "bob@example.org", "carol@example.org"]
    msg = captured.message()
    assert msg["Bcc"] is None, "Bcc recipients are only in the envelope"
    assert msg["Message-ID"] == sent.message_id
    assert msg["In-Reply-To"] == "<question-1@example.org>"
    assert msg["References"].split() == ["<start-0@example.org>", "<question-1@example.org>"]
    assert msg["From"].addresses[0].display_name == "Ana Müller"
    assert msg["Subject"] == "Quarterly numbers – draft"
    assert msg.get_body(("plain",)).get_content().replace("\r\n", "\n") == "Hi Bob,\nsee below.\n"
    assert "<p>Hi Bob,</p>" in msg.get_body(("html",)).get_content()
    assert captured.login == imap_account.settings["username"]


def test_sent_copy_is_filed_and_synced_with_the_same_id(peer, imap_account):
    sent = hub_imap.hooks.hub_send_mail(account=imap_account, message=outgoing(imap_account, subject="filed"))
    [copy] = sent_folder(imap_account)
    assert copy.remote_id == sent.remote_id, "the sync sees the copy under the id the send returned"
    assert copy.message_id == sent.message_id
    assert [a.email for a in copy.bcc] == ["audit@example.org"], "the sender's copy keeps Bcc"
    assert copy.subject == "filed" and "see below." in copy.text_body


def test_server_that_files_sent_mail_itself_gets_no_copy(peer, mail_user, smtp_server, imap_context):
    account = account_for(imap_context, connect_params(peer, mail_user, smtp_server, imap_security="starttls",
                                                       smtp_security="ssl", server_saves_sent="true"))
    assert account.settings["server_saves_sent"] is True
    sent = hub_imap.hooks.hub_send_mail(account=account, message=outgoing(account))
    assert sent.remote_id is None and sent.message_id
    assert sent_folder(account) == []
    assert len(smtp_server.messages) == 1


def test_gmail_preset_assumes_the_server_files_sent_mail():
    from hub_imap.config import MailboxConfig

    gmail = MailboxConfig.from_params({"preset": "gmail", "email": "a@gmail.com", "password": "pw"})
    custom = MailboxConfig.from_params({"email": "a@example.com", "password": "pw", "imap_host": "imap.example.com",
                                        "smtp_host": "smtp.example.com"})
    assert gmail.server_saves_sent and not custom.server_saves_sent


def test_send_with_xoauth2(dovecot, smtp_server, imap_context_dovecot):
    user = dovecot.add_user()
    token = dovecot.add_token(user)
    smtp_server.tokens[token] = user.username
    params = connect_params(dovecot, user, smtp_server, imap_security="ssl", smtp_security="starttls",
                            auth="xoauth2", access_token=token, password="")
    account = account_for(imap_context_dovecot, params)
    hub_imap.hooks.hub_send_mail(account=account, message=outgoing(account, subject="via oauth"))
    assert [(m.login, m.mechanism) for m in smtp_server.messages] == [(user.username, "XOAUTH2")]
    assert [m.subject for m in sent_folder(account)] == ["via oauth"]


@pytest.fixture
def imap_context_dovecot(dovecot, smtp_server):
    return context_for(dovecot, smtp_server)


def test_no_recipients(imap_account: AccountHandle):
    with pytest.raises(ValidationError):
        hub_imap.hooks.hub_send_mail(account=imap_account, message=outgoing(imap_account, to=[], cc=[], bcc=[]))


def test_html_only_message(peer, imap_account, smtp_server):
    hub_imap.hooks.hub_send_mail(account=imap_account, message=outgoing(
        imap_account, text_body="", html_body="<h1>Only HTML</h1>", bcc=[]))
    msg = smtp_server.messages[0].message()
    assert msg.get_content_type() == "text/html"
