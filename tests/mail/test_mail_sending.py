"""Sending from the CRM through the user's own mailbox (hub_send_mail) logs the sent mail once."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from hub.exceptions import AuthExpired, PermissionDenied, ValidationError
from hub.models import Account, AccountStatus, MailMessage, TimelineEntry
from hub.sending import send_mail
from hub.sync.mail import sync_folder
from hub.types import Address, OutgoingMessage
from tests.mail_corpus.world import connect, mail

ALICE = "alice@acme.com"


def outgoing(**changes) -> OutgoingMessage:
    fields = {"sender": Address(ALICE, "Alice"), "to": [Address("dan@globex.com", "Dan")], "subject": "Proposal",
              "text_body": "Please find our proposal.", "html_body": "<p>Please find our <b>proposal</b>.</p>"}
    return OutgoingMessage(**{**fields, **changes})


def test_sent_mail_goes_through_the_users_mailbox_and_is_logged_once(hub, backend, acme):
    account = connect(hub, backend, acme.alice, ALICE)
    row_id = send_mail(hub, acme.alice, account, outgoing())

    [raw] = backend.outbox
    assert b"Subject: Proposal" in raw
    with hub.db.session() as s:
        row = s.get(MailMessage, row_id)
        assert (row.folder, row.source, row.direction, row.account_id) == ("sent", "crm", "out", account)
        assert row.message_id and row.message_id in raw.decode()
        on_timelines = s.scalars(sa.select(TimelineEntry.contact_id).where(TimelineEntry.contact_id.is_not(None))).all()
        assert on_timelines == [acme.dan]

    # the copy in the Sent folder is the same mail: the next sync neither stores nor logs it again
    result = sync_folder(hub, account, "sent")
    assert (result["fetched"], result["stored"], result["logged"]) == (1, 0, 0)
    with hub.db.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(TimelineEntry).where(
            TimelineEntry.contact_id == acme.dan)) == 1


def test_a_reply_from_the_crm_joins_the_thread(hub, backend, acme):
    account = connect(hub, backend, acme.alice, ALICE)
    backend.deliver(ALICE, "inbox", mail("dan@globex.com", ALICE, "Question", message_id="<q@globex.com>"))
    sync_folder(hub, account, "inbox")
    row_id = send_mail(hub, acme.alice, account, outgoing(subject="Re: Question", in_reply_to="<q@globex.com>",
                                                          references=["<q@globex.com>"]))
    with hub.db.session() as s:
        original = s.scalar(sa.select(MailMessage).where(MailMessage.message_id == "q@globex.com"))
        assert s.get(MailMessage, row_id).thread_id == original.thread_id is not None


def test_sending_from_someone_elses_account_or_without_recipient_is_refused(hub, backend, acme):
    account = connect(hub, backend, acme.alice, ALICE)
    with pytest.raises(PermissionDenied):
        send_mail(hub, acme.bob, account, outgoing())
    with pytest.raises(ValidationError) as err:
        send_mail(hub, acme.alice, account, outgoing(to=[]))
    assert err.value.fix
    assert backend.outbox == []


def test_an_expired_grant_fails_the_send_and_asks_for_a_reconnect(hub, backend, acme):
    account = connect(hub, backend, acme.alice, ALICE)
    backend.revoke(ALICE)
    with pytest.raises(AuthExpired):
        send_mail(hub, acme.alice, account, outgoing())
    with hub.db.session() as s:
        acct = s.get(Account, account)
        assert (acct.status, acct.needs_reconnect) == (AccountStatus.ERROR, True)
        assert s.scalar(sa.select(sa.func.count()).select_from(MailMessage)) == 0
