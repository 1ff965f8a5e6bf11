"""Who is behind an email address: the user, a colleague, a CRM contact, or an unknown outsider.

Public API (shared by the mail and calendar engines, the BCC receiver and bookings):

* :func:`match_addresses` — classify a batch of addresses for one user, in two queries whatever
  the batch size (the organization's addresses and domains; the contacts and company domains of
  the batch), never one query per address;
* :func:`ensure_contact` — find or create the contact behind an address, and its company by domain
  unless the domain is free-mail;
* :func:`page_cache` — within it, a session loads the organization directory once per owner and
  looks each address up once (the calendar engine wraps one page of events in it);
* :func:`is_free_mail`, :func:`free_mail_of`, :func:`normalize_email`, :func:`domain_of`.

Rules, in order (docs/product-rules.md#matching-addresses):

1. ``self`` — the owner's login address or one of their aliases;
2. ``colleague`` — another registered user of the owner's organization (any of their addresses), or
   anyone at an organization domain: the organization's declared domains plus the domains of its
   users' addresses and aliases ("alias domains"), free-mail domains excepted (the built-in list and
   the organization's own ``free_mail_domains``). Colleagues are never
   contacts, even when the CRM holds a contact row for the address;
3. ``contact`` — an address of a CRM contact or lead (contacts have several addresses);
4. ``external_unknown`` — anyone else; ``company_id`` is set when the domain belongs to a CRM company
   (companies have several domains).
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from typing import Collection, Iterable, Iterator, Literal

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub.models import (
    Company,
    CompanyDomain,
    Contact,
    ContactAddress,
    Organization,
    OrganizationDomain,
    User,
    UserAlias,
)

MatchKind = Literal["self", "colleague", "contact", "external_unknown"]

#: Mail providers whose domain says nothing about the company someone works for.
FREE_MAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com", "passport.com",
    "yahoo.com", "ymail.com", "rocketmail.com", "aol.com", "aim.com", "icloud.com", "me.com", "mac.com",
    "web.de", "t-online.de", "freenet.de", "arcor.de", "posteo.de", "posteo.net", "mailbox.org",
    "proton.me", "protonmail.com", "protonmail.ch", "pm.me", "tutanota.com", "tutanota.de", "tuta.io",
    "fastmail.com", "fastmail.fm", "hey.com", "zoho.com", "zohomail.com", "mail.com", "email.com",
    "yandex.ru", "yandex.com", "ya.ru", "mail.ru", "bk.ru", "inbox.ru", "list.ru", "rambler.ru",
    "qq.com", "163.com", "126.com", "sina.com", "naver.com", "daum.net", "hanmail.net",
    "orange.fr", "wanadoo.fr", "free.fr", "laposte.net", "sfr.fr", "libero.it", "virgilio.it", "tiscali.it",
    "seznam.cz", "wp.pl", "o2.pl", "interia.pl", "onet.pl", "bluewin.ch", "rediffmail.com",
    "comcast.net", "verizon.net", "att.net", "sbcglobal.net", "btinternet.com", "sky.com",
    "bigpond.com", "shaw.ca", "rogers.com", "uol.com.br", "bol.com.br", "terra.com.br",
})

#: Free-mail brands with a domain per country (gmx.de, gmx.at, yahoo.co.uk, hotmail.fr …).
FREE_MAIL_BRANDS = frozenset({"gmx", "yahoo", "hotmail", "outlook", "live", "aol", "gmail", "googlemail"})


@dataclass
class AddressMatch:
    """What one address turned out to be for the user whose mail or calendar is being synced."""

    email: str
    kind: MatchKind
    contact_id: int | None = None
    company_id: int | None = None
    user_id: int | None = None

    @property
    def is_internal(self) -> bool:
        """True for the user and their colleagues: mail among only these is not logged."""
        return self.kind in ("self", "colleague")


class AddressMatches(dict):
    """``match_addresses``' result: keyed by normalized address, looked up case-insensitively."""

    def __getitem__(self, email: str) -> AddressMatch:
        return super().__getitem__(normalize_email(email))

    def __contains__(self, email: object) -> bool:
        return isinstance(email, str) and super().__contains__(normalize_email(email))

    def get(self, email: str, default=None):
        return super().get(normalize_email(email), default)


def normalize_email(email: str) -> str:
    """The form addresses are compared and stored in: trimmed, angle brackets dropped, lower case."""
    return (email or "").strip().strip("<>").strip().lower()


def domain_of(email: str) -> str:
    """The domain part of an address ("" when there is none)."""
    _, at, domain = normalize_email(email).rpartition("@")
    return domain.rstrip(".") if at else ""


def is_free_mail(domain: str, extra: Collection[str] = ()) -> bool:
    """True for free-mail providers (gmail.com, gmx.de, yahoo.co.uk …), whose users are not a company.

    :param extra: the organization's own ``free_mail_domains`` (:func:`free_mail_of`); they count
        besides the built-in list, never instead of it — an organization adds the regional providers
        its customers use without having to repeat the world's big ones.
    """
    domain = (domain or "").strip().lower().rstrip(".")
    if domain in FREE_MAIL_DOMAINS or domain in extra:
        return True
    brand, _, suffix = domain.partition(".")
    # "gmx.de", "yahoo.co.uk", "hotmail.com.br" — but not "outlook.acme.com" (a company host)
    if brand in FREE_MAIL_BRANDS and suffix:
        labels = suffix.split(".")
        return len(labels) == 1 or (len(labels) == 2 and labels[0] in {"co", "com"} and len(labels[1]) == 2)
    return False


def free_mail_of(session: Session, *, organization_id: int | None = None, user_id: int | None = None) -> frozenset[str]:
    """The organization's own free-mail domains (of ``organization_id``, or of ``user_id``'s organization)."""
    if organization_id is None and user_id is None:
        return frozenset()
    query = sa.select(Organization.free_mail_domains)
    query = (query.where(Organization.id == organization_id) if organization_id is not None
             else query.join(User, User.organization_id == Organization.id).where(User.id == user_id))
    return _domains_from(session.scalar(query))


def _domains_from(value) -> frozenset[str]:
    if isinstance(value, str):  # the JSON column read as text inside a UNION
        value = json.loads(value or "[]")
    return frozenset(str(d).strip().lower().rstrip(".") for d in value or () if d)


def match_addresses(session: Session, owner_user_id: int, emails: Iterable[str]) -> AddressMatches:
    """Classify every address in ``emails`` for the user ``owner_user_id``.

    :param session: an open session (read only here).
    :param owner_user_id: the user whose mailbox or calendar the addresses were found in.
    :param emails: addresses in any case; blanks are ignored, duplicates collapse.
    :return: an :class:`AddressMatches` dict, normalized address → :class:`AddressMatch`.
    """
    wanted = {normalize_email(e) for e in emails} - {""}
    result = AddressMatches()
    if not wanted:
        return result
    cache: _PageCache | None = session.info.get(_CACHE_KEY)
    if cache is None:
        directory = _organization_directory(session, owner_user_id)
        contacts, company_domains = _crm_lookup(session, wanted)
    else:
        directory, contacts, company_domains = cache.lookup(session, owner_user_id, wanted)
    for email in wanted:
        domain = domain_of(email)
        user_id = directory.user_by_address.get(email)
        if user_id == owner_user_id:
            result[email] = AddressMatch(email, "self", user_id=user_id)
        elif user_id is not None:
            result[email] = AddressMatch(email, "colleague", user_id=user_id)
        elif domain in directory.domains:
            result[email] = AddressMatch(email, "colleague")
        elif email in contacts:
            contact_id, company_id = contacts[email]
            result[email] = AddressMatch(email, "contact", contact_id=contact_id, company_id=company_id)
        else:
            result[email] = AddressMatch(email, "external_unknown", company_id=company_domains.get(domain))
    return result


@dataclass
class _Directory:
    user_by_address: dict[str, int]
    domains: set[str]
    #: the organization's own free-mail domains
    free_mail: frozenset[str] = frozenset()


_CACHE_KEY = "hub.matching.page_cache"
_LOOKUP_BATCH = 400  # addresses per query: well under every database's bound-parameter limit


@dataclass
class _PageCache:
    """Directories by owner, and every address and domain already looked up, for one page of work."""

    directories: dict[int, _Directory] = field(default_factory=dict)
    contacts: dict[str, tuple[int, int | None] | None] = field(default_factory=dict)
    companies: dict[str, int | None] = field(default_factory=dict)

    def lookup(self, session: Session, owner_user_id: int, emails: set[str]):
        if owner_user_id not in self.directories:
            self.directories[owner_user_id] = _organization_directory(session, owner_user_id)
        new = sorted(e for e in emails if e not in self.contacts or domain_of(e) not in self.companies)
        for first in range(0, len(new), _LOOKUP_BATCH):
            batch = set(new[first:first + _LOOKUP_BATCH])
            contacts, companies = _crm_lookup(session, batch)
            self.contacts.update({e: contacts.get(e) for e in batch})
            self.companies.update({d: companies.get(d) for d in {domain_of(e) for e in batch}})
        contacts = {e: self.contacts[e] for e in emails if self.contacts[e] is not None}
        companies = {domain_of(e): self.companies[domain_of(e)] for e in emails
                     if self.companies.get(domain_of(e)) is not None}
        return self.directories[owner_user_id], contacts, companies


@contextlib.contextmanager
def page_cache(session: Session, owner_user_id: int | None = None, emails: Iterable[str] = ()) -> Iterator[None]:
    """Remember directories and lookups in ``session`` until the block ends.

    Only for work that creates no users, aliases, contacts or company domains meanwhile (the
    calendar engine applying a page of events): what was looked up stays as it was at first sight.

    :param owner_user_id, emails: look these up at once now (a few queries for the whole page
        instead of one per event).
    """
    if _CACHE_KEY in session.info:  # nested: the outer block owns the cache
        yield
        return
    cache = session.info[_CACHE_KEY] = _PageCache()
    wanted = {normalize_email(e) for e in emails} - {""}
    if owner_user_id is not None and wanted:
        cache.lookup(session, owner_user_id, wanted)
    try:
        yield
    finally:
        session.info.pop(_CACHE_KEY, None)


def _organization_directory(session: Session, owner_user_id: int) -> _Directory:
    """Every address of the owner's organization's users, and its domains, in one query."""
    org_id = sa.select(User.organization_id).where(User.id == owner_user_id).scalar_subquery()
    same_org = User.organization_id.is_not_distinct_from(org_id)
    query: sa.CompoundSelect = sa.union_all(
        sa.select(sa.literal("u"), User.id, User.email).where(same_org),
        sa.select(sa.literal("u"), UserAlias.user_id, UserAlias.email).join(User, User.id == UserAlias.user_id)
        .where(same_org),
        sa.select(sa.literal("d"), sa.null(), OrganizationDomain.domain)
        .where(OrganizationDomain.organization_id == org_id),
        # the organization's free-mail list rides along (as JSON text): still one query
        sa.select(sa.literal("f"), sa.null(), sa.cast(Organization.free_mail_domains, sa.String))
        .where(Organization.id == org_id),
    )
    users: dict[str, int] = {}
    domains: set[str] = set()
    alias_domains: set[str] = set()
    free_mail: frozenset[str] = frozenset()
    for kind, user_id, value in session.execute(query):
        if kind == "u":
            address = normalize_email(value)
            users[address] = user_id
            alias_domains.add(domain_of(address))
        elif kind == "f":
            free_mail = _domains_from(value)
        else:
            domains.add(value.strip().lower())
    # a user's gmail alias does not make gmail internal, nor one at a provider the organization lists
    domains |= {d for d in alias_domains if d and not is_free_mail(d, free_mail)}
    return _Directory(users, domains, free_mail)


#: addresses (and domains) per CRM lookup query
LOOKUP_CHUNK = 1000


def _crm_lookup(session: Session, emails: set[str]) -> tuple[dict[str, tuple[int, int | None]], dict[str, int]]:
    """Contacts behind ``emails`` and companies behind their domains: one query per
    :data:`LOOKUP_CHUNK` addresses (a mailing list's thousands of addresses stay under the
    databases' limits on bound parameters)."""
    addresses, domains = sorted(emails), sorted({domain_of(e) for e in emails} - {""})
    address = sa.func.lower(ContactAddress.email)
    contacts: dict[str, tuple[int, int | None]] = {}
    companies: dict[str, int] = {}
    for i in range(0, max(len(addresses), len(domains), 1), LOOKUP_CHUNK):
        query = sa.union_all(
            sa.select(sa.literal("c"), address, ContactAddress.contact_id, Contact.company_id)
            .join(Contact, Contact.id == ContactAddress.contact_id)
            .where(address.in_(addresses[i:i + LOOKUP_CHUNK] or [""])),
            sa.select(sa.literal("d"), sa.func.lower(CompanyDomain.domain), sa.null(), CompanyDomain.company_id)
            .where(sa.func.lower(CompanyDomain.domain).in_(domains[i:i + LOOKUP_CHUNK] or [""])),
        )
        for kind, key, contact_id, company_id in session.execute(query):
            if kind == "c":
                contacts[key] = (contact_id, company_id)
            else:
                companies[key] = company_id
    return contacts, companies


def ensure_contact(session: Session, email: str, name: str = "", source: str = "crm",
                   user_id: int | None = None) -> int:
    """Return the id of the contact with address ``email``, creating it (and its company) if needed.

    A new contact at a non-free-mail domain joins the company owning that domain, or a new company
    named after the domain. Safe against a concurrent creation of the same address.

    :param email: the address (any case).
    :param name: display name for a new contact.
    :param source: where it came from: "crm", "bcc", "booking", "calendar".
    :param user_id: the user it is made for: their organization's free-mail domains make no company either.
    :raises ValueError: when ``email`` is not an address.
    """
    email = normalize_email(email)
    domain = domain_of(email)
    if not domain or not email.partition("@")[0]:
        raise ValueError(f"not an email address: {email!r}")
    existing = _contact_id_for(session, email)
    if existing is not None:
        return existing
    free = is_free_mail(domain, free_mail_of(session, user_id=user_id) if user_id is not None else ())
    company_id = None if free else _ensure_company(session, domain)
    try:
        with session.begin_nested():
            contact = Contact(name=(name or "").strip()[:200], company_id=company_id, source=source)
            contact.addresses.append(ContactAddress(email=email))
            session.add(contact)
            session.flush()
            return contact.id
    except IntegrityError:  # someone else created it between our read and our write
        existing = _contact_id_for(session, email)
        if existing is None:
            raise
        return existing


def _contact_id_for(session: Session, email: str) -> int | None:
    return session.scalar(
        sa.select(ContactAddress.contact_id).where(sa.func.lower(ContactAddress.email) == email).limit(1)
    )


def _ensure_company(session: Session, domain: str) -> int:
    query = sa.select(CompanyDomain.company_id).where(sa.func.lower(CompanyDomain.domain) == domain).limit(1)
    company_id = session.scalar(query)
    if company_id is not None:
        return company_id
    try:
        with session.begin_nested():
            company = Company(name=domain)
            company.domains.append(CompanyDomain(domain=domain))
            session.add(company)
            session.flush()
            return company.id
    except IntegrityError:
        company_id = session.scalar(query)
        if company_id is None:
            raise
        return company_id
