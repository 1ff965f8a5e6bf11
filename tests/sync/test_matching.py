"""Address matching: self, colleagues (users, aliases, alias domains, unlicensed same-domain people),
contacts with several addresses, companies with several domains, free-mail domains."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import event

from hub.crm.matching import ensure_contact, is_free_mail, match_addresses
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


def _org(hub) -> dict:
    """Acme runs the CRM on acme.com; Alice has three addresses on two domains; Bob is a registered
    colleague whose only address is on another domain; Carol (acme.com) has no licence."""
    with hub.db.session() as s:
        org = Organization(name="Acme", domains=[OrganizationDomain(domain="acme.com")])
        s.add(org)
        s.flush()
        alice = User(email="alice@acme.com", organization_id=org.id,
                     aliases=[UserAlias(email="Alice.Smith@acme.com"), UserAlias(email="alice@acme-labs.io")])
        bob = User(email="bob@acme-research.org", organization_id=org.id)
        outsider = User(email="eve@other-tenant.com")
        globex = Company(name="Globex", domains=[CompanyDomain(domain="globex.com"),
                                                 CompanyDomain(domain="globex.de")])
        s.add_all([alice, bob, outsider, globex])
        s.flush()
        dan = Contact(name="Dan", company_id=globex.id,
                      addresses=[ContactAddress(email="dan@globex.com"), ContactAddress(email="Dan.Private@gmail.com")])
        s.add(dan)
        s.flush()
        return {"alice": alice.id, "bob": bob.id, "globex": globex.id, "dan": dan.id, "eve": outsider.id}


def test_user_with_three_addresses_on_two_domains_is_self(hub):
    ids = _org(hub)
    with hub.db.session() as s:
        m = match_addresses(s, ids["alice"], ["alice@acme.com", "alice.smith@ACME.com", "Alice@acme-labs.io"])
    assert {e: (x.kind, x.user_id) for e, x in m.items()} == {
        "alice@acme.com": ("self", ids["alice"]),
        "alice.smith@acme.com": ("self", ids["alice"]),
        "alice@acme-labs.io": ("self", ids["alice"]),
    }
    assert m["ALICE@ACME.COM"].kind == "self"  # lookups are case-insensitive


def test_colleague_without_licence_on_the_organization_domain(hub):
    ids = _org(hub)
    with hub.db.session() as s:
        m = match_addresses(s, ids["alice"], ["carol@acme.com", "someone@acme-labs.io"])
    assert m["carol@acme.com"].kind == "colleague" and m["carol@acme.com"].user_id is None
    # acme-labs.io is an alias domain of a user of the organization: its people are colleagues too
    assert m["someone@acme-labs.io"].kind == "colleague"


def test_registered_colleague_on_another_domain(hub):
    ids = _org(hub)
    with hub.db.session() as s:
        m = match_addresses(s, ids["alice"], ["bob@acme-research.org"])
        seen_by_bob = match_addresses(s, ids["bob"], ["alice@acme-labs.io", "bob@acme-research.org"])
    assert (m["bob@acme-research.org"].kind, m["bob@acme-research.org"].user_id) == ("colleague", ids["bob"])
    assert seen_by_bob["alice@acme-labs.io"].kind == "colleague"
    assert seen_by_bob["bob@acme-research.org"].kind == "self"


def test_contacts_with_several_addresses_and_companies_with_several_domains(hub):
    ids = _org(hub)
    with hub.db.session() as s:
        m = match_addresses(s, ids["alice"], ["dan@globex.com", "dan.private@gmail.com", "new@globex.de",
                                              "x@unknown.example", "eve@other-tenant.com"])
    assert (m["dan@globex.com"].kind, m["dan@globex.com"].contact_id) == ("contact", ids["dan"])
    assert (m["dan.private@gmail.com"].contact_id, m["dan.private@gmail.com"].company_id) == (ids["dan"], ids["globex"])
    assert (m["new@globex.de"].kind, m["new@globex.de"].company_id) == ("external_unknown", ids["globex"])
    assert (m["x@unknown.example"].kind, m["x@unknown.example"].company_id) == ("external_unknown", None)
    # a user of another organization is not Alice's colleague
    assert m["eve@other-tenant.com"].kind == "external_unknown"


def test_a_contact_row_on_an_internal_domain_is_still_a_colleague(hub):
    ids = _org(hub)
    with hub.db.session() as s:
        s.add(Contact(name="Carol", addresses=[ContactAddress(email="carol@acme.com")]))
    with hub.db.session() as s:
        assert match_addresses(s, ids["alice"], ["carol@acme.com"])["carol@acme.com"].kind == "colleague"


def test_free_mail_alias_of_a_user_does_not_make_free_mail_internal(hub):
    ids = _org(hub)
    with hub.db.session() as s:
        s.add(UserAlias(user_id=ids["alice"], email="alice.home@gmail.com"))
    with hub.db.session() as s:
        m = match_addresses(s, ids["alice"], ["alice.home@gmail.com", "stranger@gmail.com"])
    assert m["alice.home@gmail.com"].kind == "self"
    assert m["stranger@gmail.com"].kind == "external_unknown"


def test_matching_a_batch_costs_the_same_queries_as_matching_one(hub):
    ids = _org(hub)
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(hub.db.engine, "before_cursor_execute", count)
    try:
        with hub.db.session() as s:
            match_addresses(s, ids["alice"], ["dan@globex.com"])  # opens the transaction
            statements.clear()
            match_addresses(s, ids["alice"], ["dan@globex.com"])
            one = len(statements)
            statements.clear()
            match_addresses(s, ids["alice"], [f"p{i}@d{i % 30}.example" for i in range(500)] + ["dan@globex.com"])
            many = len(statements)
    finally:
        event.remove(hub.db.engine, "before_cursor_execute", count)
    assert many == one <= 2


def test_ensure_contact_creates_company_by_domain_but_never_for_free_mail(hub):
    ids = _org(hub)
    with hub.db.session() as s:
        new_at_globex = ensure_contact(s, "New@Globex.DE", "New Person", source="bcc")
        freelancer = ensure_contact(s, "fred@gmx.de", "Fred")
        startup = ensure_contact(s, "ceo@initech.io")
        again = ensure_contact(s, "ceo@INITECH.io")
        colleague_of_ceo = ensure_contact(s, "cto@initech.io")
    with hub.db.session() as s:
        contacts = {c.id: c for c in s.scalars(sa.select(Contact))}
        assert contacts[new_at_globex].company_id == ids["globex"]
        assert contacts[new_at_globex].source == "bcc" and contacts[new_at_globex].name == "New Person"
        assert contacts[freelancer].company_id is None
        assert again == startup
        assert contacts[startup].company_id == contacts[colleague_of_ceo].company_id is not None
        startup_company = contacts[startup].company_id
        assert s.scalar(sa.select(CompanyDomain.domain).where(CompanyDomain.company_id == startup_company)) == "initech.io"
        assert s.scalar(sa.select(sa.func.count()).select_from(Company).join(CompanyDomain)
                        .where(CompanyDomain.domain.in_(["gmx.de", "gmail.com"]))) == 0
        assert s.scalar(sa.select(ContactAddress.email).where(ContactAddress.contact_id == new_at_globex)) == "new@globex.de"


def test_free_mail_domains():
    for domain in ["gmail.com", "GMX.de", "gmx.net", "gmx.at", "web.de", "proton.me", "yahoo.co.uk",
                   "hotmail.fr", "outlook.com", "icloud.com", "me.com"]:
        assert is_free_mail(domain), domain
    for domain in ["acme.com", "outlook.acme.com", "gmxtra.de", "globex.de", ""]:
        assert not is_free_mail(domain), domain
