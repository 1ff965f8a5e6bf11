"""The people and mailboxes the mail tests share, and a builder for RFC 822 messages.

Acme runs the CRM on acme.com:

* Alice (user) has three addresses on two domains: alice@acme.com, alice.smith@acme.com, alice@acme.de;
* Bob (user) is a registered colleague whose only address is on another domain, bob@acme-research.org;
* Carol, carol@acme.com, is a colleague without a licence (not a user);
* Dan is a contact at Globex (globex.com and globex.de) with two addresses, dan@globex.com and
  dan.globex@gmail.com, and Globex has an open opportunity;
* Frank (frank@initech.io) is a lead without a company.

Its fixtures (``backend``, ``hub_plugins``, ``acme``) serve the tests in tests/mail/ through that folder's
conftest.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pytest

from hub.models import (
    Company,
    CompanyDomain,
    Contact,
    ContactAddress,
    Opportunity,
    Organization,
    OrganizationDomain,
    User,
    UserAlias,
)
from hub.testing.memory import MemoryBackend, MemoryProvider

PASSWORD = "correct horse"


@dataclass
class Acme:
    org: int
    alice: int
    bob: int
    globex: int
    dan: int
    frank: int
    opportunity: int


@pytest.fixture
def backend() -> MemoryBackend:
    return MemoryBackend()


@pytest.fixture
def hub_plugins(backend):
    return [("memory", MemoryProvider(backend))]


@pytest.fixture
def acme(hub) -> Acme:
    with hub.db.session() as s:
        org = Organization(name="Acme", domains=[OrganizationDomain(domain="acme.com")])
        s.add(org)
        s.flush()
        alice = User(email="alice@acme.com", name="Alice", organization_id=org.id,
                     aliases=[UserAlias(email="alice.smith@acme.com"), UserAlias(email="alice@acme.de")])
        bob = User(email="bob@acme-research.org", name="Bob", organization_id=org.id)
        globex = Company(name="Globex", domains=[CompanyDomain(domain="globex.com"), CompanyDomain(domain="globex.de")])
        s.add_all([alice, bob, globex])
        s.flush()
        dan = Contact(name="Dan", company_id=globex.id,
                      addresses=[ContactAddress(email="dan@globex.com"), ContactAddress(email="dan.globex@gmail.com")])
        frank = Contact(name="Frank", is_lead=True, addresses=[ContactAddress(email="frank@initech.io")])
        s.add_all([dan, frank])
        s.flush()
        opportunity = Opportunity(name="Globex renewal", company_id=globex.id, is_open=True)
        s.add(opportunity)
        s.flush()
        return Acme(org.id, alice.id, bob.id, globex.id, dan.id, frank.id, opportunity.id)


def connect(hub, backend: MemoryBackend, user_id: int, email: str) -> int:
    """Create the mailbox at the provider and connect it for ``user_id``; returns the account id."""
    from hub.accounts import connect_account

    if email not in backend.accounts:
        backend.add_account(email, PASSWORD)
    return connect_account(hub, user_id, "memory", {"email": email, "password": PASSWORD})


def mail(sender: str, to: str | list[str], subject: str = "Hello", *, cc: list[str] = (), body: str = "Hi there.",
         html: str | None = None, message_id: str | None = None, in_reply_to: str | None = None,
         references: list[str] = (), date: datetime | None = None,
         attachments: list[tuple[str, bytes]] = ()) -> bytes:
    """An RFC 822 message with CRLF line ends; ``message_id=""`` leaves the header out."""
    msg = EmailMessage()
    if message_id != "":
        msg["Message-ID"] = message_id or make_msgid(domain="test.invalid")
    msg["Date"] = format_datetime(date or datetime.now(timezone.utc) - timedelta(minutes=5))
    msg["From"] = sender
    msg["To"] = ", ".join([to] if isinstance(to, str) else to)
    if cc:
        msg["Cc"] = ", ".join(cc)
    msg["Subject"] = subject
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = " ".join(references)
    if html is not None and not body:
        msg.set_content(html, subtype="html")
    else:
        msg.set_content(body)
        if html is not None:
            msg.add_alternative(html, subtype="html")
    for filename, data in attachments:
        msg.add_attachment(data, maintype="application", subtype="octet-stream", filename=filename)
    return msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))  # as on the wire
