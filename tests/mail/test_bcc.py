"""The BCC logging address over real SMTP (aiosmtpd server, smtplib client): logging, contacts for
external recipients with auto-sync, refusals at RCPT time, size limits, malformed mail."""

from __future__ import annotations

import smtplib

import pytest
import sqlalchemy as sa

from hub.bcc import bcc_address, rotate_bcc_token, start_bcc_server
from hub.models import Company, CompanyDomain, Contact, ContactAddress, MailMessage, TimelineEntry, User
from hub.sync.mail import sync_folder
from hub.testing.peers.base import free_port
from tests.mail_corpus.world import connect, mail

ALICE = "alice@acme.com"


@pytest.fixture
def bcc_server(hub):
    controller = start_bcc_server(hub, "127.0.0.1", free_port(), max_size=300_000)
    yield controller
    controller.stop()


@pytest.fixture
def send(bcc_server):
    def send(raw: bytes, rcpts: list[str], sender: str = ALICE):
        with smtplib.SMTP(bcc_server.hostname, bcc_server.port, timeout=10) as client:
            return client.sendmail(sender, rcpts, raw)

    return send


def address_of(hub, user_id: int) -> str:
    with hub.db.session() as s:
        return bcc_address(s.get(User, user_id), hub)


def contact_by_email(hub, email: str) -> Contact | None:
    with hub.db.session() as s:
        return s.scalar(sa.select(Contact).join(ContactAddress).where(ContactAddress.email == email))


def logged_on(hub, contact_id: int) -> list[str]:
    with hub.db.session() as s:
        return sorted(s.scalars(sa.select(MailMessage.subject).join(
            TimelineEntry, TimelineEntry.mail_message_id == MailMessage.id).where(
            TimelineEntry.contact_id == contact_id)).all())


def test_the_address_is_private_per_user_on_the_hub_mail_domain(hub, acme):
    address = address_of(hub, acme.alice)
    local, _, domain = address.partition("@")
    assert local.startswith("log+") and len(local) > 12 and domain == hub.settings.mail_domain
    assert address != address_of(hub, acme.bob)


def test_bcc_logs_the_mail_and_makes_contacts_of_external_recipients(hub, acme, send):
    log_address = address_of(hub, acme.alice)
    raw = mail("Alice <alice@acme.com>", ["Nora New <nora@initech.io>", "Dan <dan@globex.com>"], "Kick-off",
               cc=["Carol <carol@acme.com>", "Pete <pete.private@gmail.com>", "Bob <bob@acme-research.org>"])
    assert send(raw, [log_address]) == {}

    nora, pete, dan = (contact_by_email(hub, e) for e in ("nora@initech.io", "pete.private@gmail.com", "dan@globex.com"))
    assert (nora.name, nora.source) == ("Nora New", "bcc") and nora.auto_sync_since is not None
    assert pete.company_id is None  # free mail: no company
    assert dan.id == acme.dan and dan.auto_sync_since is not None  # a known contact is marked too
    with hub.db.session() as s:
        assert s.scalar(sa.select(CompanyDomain.domain).where(CompanyDomain.company_id == nora.company_id)) == "initech.io"
        assert contact_by_email(hub, "carol@acme.com") is None and contact_by_email(hub, "bob@acme-research.org") is None
        [message] = s.scalars(sa.select(MailMessage)).all()
        assert (message.account_id, message.user_id, message.source, message.direction) == (None, acme.alice, "bcc", "out")
        assert s.scalar(sa.select(sa.func.count()).select_from(Company)) == 2  # Globex and initech.io
    for contact in (nora, pete, dan):
        assert logged_on(hub, contact.id) == ["Kick-off"]


def test_mail_with_new_contacts_syncs_automatically_from_then_on(hub, backend, acme, send):
    send(mail(ALICE, "nora@initech.io", "First contact"), [address_of(hub, acme.alice)])
    nora = contact_by_email(hub, "nora@initech.io")
    account = connect(hub, backend, acme.alice, ALICE)
    backend.deliver(ALICE, "inbox", mail("nora@initech.io", ALICE, "Re: First contact"))
    sync_folder(hub, account, "inbox")
    assert logged_on(hub, nora.id) == ["First contact", "Re: First contact"]


def test_the_same_mail_bccd_twice_or_synced_later_is_logged_once(hub, backend, acme, send):
    raw = mail(ALICE, "dan@globex.com", "Once", message_id="<once@acme.com>")
    send(raw, [address_of(hub, acme.alice)])
    send(raw, [address_of(hub, acme.alice)])
    account = connect(hub, backend, acme.alice, ALICE)
    backend.deliver(ALICE, "sent", raw)
    sync_folder(hub, account, "sent")
    assert logged_on(hub, acme.dan) == ["Once"]


def test_one_mail_to_two_users_logging_addresses_is_logged_for_each(hub, acme, send):
    send(mail(ALICE, "dan@globex.com", "Joint", cc=["bob@acme-research.org"]),
         [address_of(hub, acme.alice), address_of(hub, acme.bob)])
    with hub.db.session() as s:
        users = sorted(s.scalars(sa.select(TimelineEntry.user_id).where(TimelineEntry.contact_id == acme.dan)).all())
    assert users == sorted([acme.alice, acme.bob])


def test_unknown_or_revoked_addresses_are_refused_at_rcpt_time(hub, acme, bcc_server, send):
    old = address_of(hub, acme.alice)
    domain = hub.settings.mail_domain
    for bad in (f"log+nosuchtoken@{domain}", f"someone@{domain}", "dan@globex.com",
                old.replace(domain, "elsewhere.example")):
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            send(mail(ALICE, "dan@globex.com", "x"), [bad])
        assert refused.value.recipients[bad][0] == 550
    new = rotate_bcc_token(hub, acme.alice)
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        send(mail(ALICE, "dan@globex.com", "x"), [old])
    with hub.db.session() as s:  # an inactive user's address is refused too
        s.get(User, acme.bob).active = False
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        send(mail(ALICE, "dan@globex.com", "x"), [address_of(hub, acme.bob)])
    assert send(mail(ALICE, "dan@globex.com", "with the new address"), [new]) == {}
    assert logged_on(hub, acme.dan) == ["with the new address"]


def test_oversize_mail_gets_552_and_the_server_keeps_serving(hub, acme, bcc_server, send):
    big = mail(ALICE, "dan@globex.com", "Huge", attachments=[("big.bin", b"\0" * 400_000)])
    with smtplib.SMTP(bcc_server.hostname, bcc_server.port, timeout=10) as client:
        client.ehlo()
        assert client.has_extn("size")
        code, _ = client.mail(ALICE)  # without announcing SIZE: refused after the data
        assert code == 250
        assert client.rcpt(address_of(hub, acme.alice))[0] == 250
        assert client.data(big)[0] == 552
    with pytest.raises(smtplib.SMTPSenderRefused) as refused:  # announcing SIZE: refused at MAIL FROM
        send(big, [address_of(hub, acme.alice)])
    assert refused.value.smtp_code == 552
    assert send(mail(ALICE, "dan@globex.com", "Small"), [address_of(hub, acme.alice)]) == {}
    assert logged_on(hub, acme.dan) == ["Small"]


def test_malformed_mail_gets_an_smtp_error_never_a_crash(hub, acme, bcc_server, send):
    log_address = address_of(hub, acme.alice)
    with pytest.raises(smtplib.SMTPDataError) as err:
        send(b"this is not an email at all\r\njust some lines\r\n", [log_address])
    assert err.value.smtp_code == 554
    # broken but readable: 8-bit junk in headers and body, a bad charset, no Message-ID
    junk = (b"From: Alice <alice@acme.com>\r\nTo: Dan \xff\xfe <dan@globex.com>\r\n"
            b"Subject: =?x-unknown?B?w6TDtsO8?= \xe9t\xe9\r\nContent-Type: text/plain; charset=x-made-up\r\n\r\n"
            b"caf\xe9 \x00 \xff\xfe end\r\n")
    assert send(junk, [log_address]) == {}
    with hub.db.session() as s:
        [message] = s.scalars(sa.select(MailMessage)).all()
        assert message.from_email == "alice@acme.com" and "end" in message.text_body
    assert len(logged_on(hub, acme.dan)) == 1
    assert send(mail(ALICE, "dan@globex.com", "Still alive"), [log_address]) == {}
