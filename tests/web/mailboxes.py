"""Mail for the web tests: raw messages delivered into the memory provider's mailboxes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from hub.models import Company, CompanyDomain, Contact, ContactAddress


def raw_mail(sender: str, to: str, subject: str, body: str = "Hello", when: datetime | None = None,
             references: list[str] | None = None, message_id: str | None = None) -> tuple[bytes, str]:
    """An RFC 822 message and its Message-ID; ``references`` is the thread so far, root first."""
    msg = EmailMessage()
    message_id = message_id or make_msgid(domain=sender.split("@")[1])
    msg["Message-ID"] = message_id
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg["Date"] = format_datetime(when or datetime.now(timezone.utc) - timedelta(hours=1))
    if references:
        msg["In-Reply-To"] = references[-1]
        msg["References"] = " ".join(references)
    msg.set_content(body)
    return bytes(msg), message_id


def add_maria(hub) -> tuple[int, int]:
    """A CRM contact Maria at Acme (acme.test); returns (contact id, company id)."""
    with hub.db.session() as s:
        company = Company(name="Acme", domains=[CompanyDomain(domain="acme.test")])
        contact = Contact(name="Maria Lopez", company=company, addresses=[ContactAddress(email="maria@acme.test")])
        s.add(contact)
        s.flush()
        return contact.id, company.id


def deliver_thread(memory, mailbox: str, subject: str, turns: int = 2) -> None:
    """A thread between Maria and ``mailbox``: Maria writes, the owner answers, …"""
    thread: list[str] = []
    for turn in range(turns):
        incoming = turn % 2 == 0
        sender, to = ("maria@acme.test", mailbox) if incoming else (mailbox, "maria@acme.test")
        raw, message_id = raw_mail(sender, to, subject if turn == 0 else f"Re: {subject}",
                                   body=f"{subject} part {turn + 1}", references=list(thread),
                                   when=datetime.now(timezone.utc) - timedelta(hours=10 - turn))
        thread.append(message_id)
        memory.deliver(mailbox, "inbox" if incoming else "sent", raw)
