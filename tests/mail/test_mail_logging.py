"""What gets logged where: contacts, companies, open opportunities, threads — and the three
multi-domain cases of docs/product-rules.md#matching-addresses (a user with three addresses on two domains, a colleague
without a licence, a registered colleague on another domain)."""

from __future__ import annotations

import sqlalchemy as sa

from hub.crm.timeline import threads_on_timeline
from hub.models import Contact, MailMessage, Opportunity, TimelineEntry
from hub.sync.mail import sync_folder
from tests.mail_corpus.world import connect, mail

ALICE = "alice@acme.com"


def entries(hub, **where) -> list[TimelineEntry]:
    with hub.db.session() as s:
        query = sa.select(TimelineEntry)
        for column, value in where.items():
            query = query.where(getattr(TimelineEntry, column) == value)
        return s.scalars(query).all()


def logged_subjects(hub, **where) -> list[str]:
    with hub.db.session() as s:
        query = sa.select(MailMessage.subject).join(TimelineEntry, TimelineEntry.mail_message_id == MailMessage.id)
        for column, value in where.items():
            query = query.where(getattr(TimelineEntry, column) == value)
        return sorted(s.scalars(query).all())


def sync_all(hub, *accounts):
    for account in accounts:
        for folder in ("inbox", "sent"):
            sync_folder(hub, account, folder)


def test_mail_with_a_contact_is_logged_on_contact_company_and_open_opportunity(hub, backend, acme):
    account = connect(hub, backend, acme.alice, ALICE)
    backend.deliver(ALICE, "inbox", mail("Dan <dan@globex.com>", ALICE, "Renewal"))
    sync_all(hub, account)
    [on_contact] = entries(hub, contact_id=acme.dan)
    [on_company] = entries(hub, company_id=acme.globex)
    [on_opportunity] = entries(hub, opportunity_id=acme.opportunity)
    assert on_contact.mail_message_id == on_company.mail_message_id == on_opportunity.mail_message_id
    assert on_contact.user_id == acme.alice and on_contact.kind == "mail"
    assert on_contact.company_id is None and on_company.contact_id is None  # one entry per timeline


def test_free_mail_address_of_a_contact_still_logs_on_the_contact_and_its_company(hub, backend, acme):
    account = connect(hub, backend, acme.alice, ALICE)
    backend.deliver(ALICE, "inbox", mail("dan.globex@gmail.com", ALICE, "From my phone"))
    sync_all(hub, account)
    assert logged_subjects(hub, contact_id=acme.dan) == ["From my phone"]
    assert logged_subjects(hub, company_id=acme.globex) == ["From my phone"]


def test_the_contacts_own_open_opportunity_wins_and_closed_ones_are_ignored(hub, backend, acme):
    with hub.db.session() as s:
        dan = s.get(Contact, acme.dan)
        closed = Opportunity(name="Old deal", contacts=[dan], is_open=False)
        own = Opportunity(name="Dan's deal", contacts=[dan], company_id=acme.globex, is_open=True)
        s.add_all([closed, own])
        s.flush()
        own_id, closed_id = own.id, closed.id
    account = connect(hub, backend, acme.alice, ALICE)
    backend.deliver(ALICE, "inbox", mail("dan@globex.com", ALICE, "Deal"))
    sync_all(hub, account)
    assert [e.opportunity_id for e in entries(hub) if e.opportunity_id] == [own_id]
    assert not entries(hub, opportunity_id=closed_id)


def test_mail_with_any_contact_of_an_opportunity_is_logged_on_it(hub, backend, acme):
    with hub.db.session() as s:
        pilot = Opportunity(name="Pilot", contacts=[s.get(Contact, acme.dan), s.get(Contact, acme.frank)])
        s.add(pilot)
        s.flush()
        pilot_id = pilot.id
    account = connect(hub, backend, acme.alice, ALICE)
    backend.deliver(ALICE, "sent", mail(ALICE, "frank@initech.io", "Pilot plan"))  # the second contact only
    backend.deliver(ALICE, "inbox", mail("dan@globex.com", ALICE, "Pilot budget"))
    sync_all(hub, account)
    assert logged_subjects(hub, opportunity_id=pilot_id) == ["Pilot budget", "Pilot plan"]


def test_a_lead_without_company_is_logged_on_the_lead_only(hub, backend, acme):
    account = connect(hub, backend, acme.alice, ALICE)
    backend.deliver(ALICE, "sent", mail(ALICE, "frank@initech.io", "Intro"))
    sync_all(hub, account)
    [entry] = entries(hub)
    assert (entry.contact_id, entry.company_id, entry.opportunity_id) == (acme.frank, None, None)


def test_mail_with_strangers_is_stored_but_not_logged_and_makes_no_contact(hub, backend, acme):
    account = connect(hub, backend, acme.alice, ALICE)
    backend.deliver(ALICE, "inbox", mail("newsletter@shop.example", ALICE, "Sale"))
    backend.deliver(ALICE, "inbox", mail("someone@globex.de", ALICE, "Unknown person at a known company"))
    sync_all(hub, account)
    assert entries(hub) == []
    with hub.db.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(MailMessage)) == 2
        assert s.scalar(sa.select(sa.func.count()).select_from(Contact)) == 2


def test_several_contacts_on_one_mail_each_get_it_once(hub, backend, acme):
    account = connect(hub, backend, acme.alice, ALICE)
    backend.deliver(ALICE, "sent", mail(ALICE, ["dan@globex.com", "frank@initech.io"], "Both",
                                        cc=["dan.globex@gmail.com"]))
    sync_all(hub, account)
    assert logged_subjects(hub, contact_id=acme.dan) == ["Both"]  # two of Dan's addresses, one entry
    assert logged_subjects(hub, contact_id=acme.frank) == ["Both"]
    assert logged_subjects(hub, company_id=acme.globex) == ["Both"]


# --- the three multi-domain scenarios ---------------------------------------------------------------


def test_scenario_user_with_three_addresses_on_two_domains(hub, backend, acme):
    """Alice's mail from any of her addresses is hers (outgoing); mail among them is internal."""
    account = connect(hub, backend, acme.alice, ALICE)
    backend.deliver(ALICE, "sent", mail("Alice <alice@acme.de>", "dan@globex.com", "From the German domain"))
    backend.deliver(ALICE, "inbox", mail("dan@globex.com", "alice.smith@acme.com", "To the alias"))
    backend.deliver(ALICE, "inbox", mail("alice@acme.de", ["alice.smith@acme.com", ALICE], "Note to self"))
    sync_all(hub, account)
    assert logged_subjects(hub, contact_id=acme.dan) == ["From the German domain", "To the alias"]
    with hub.db.session() as s:
        direction = dict(s.execute(sa.select(MailMessage.subject, MailMessage.direction)).all())
    assert direction == {"From the German domain": "out", "To the alias": "in", "Note to self": "out"}


def test_scenario_colleague_without_a_licence(hub, backend, acme):
    """Carol (acme.com, not a user) is a colleague: mail with her alone is internal, and she never
    becomes a contact; with a contact on it, the mail is logged for the contact only."""
    account = connect(hub, backend, acme.alice, ALICE)
    backend.deliver(ALICE, "inbox", mail("Carol <carol@acme.com>", ALICE, "Lunch?"))
    backend.deliver(ALICE, "inbox", mail("carol@acme.com", [ALICE, "dan@globex.com"], "Looping in Dan"))
    sync_all(hub, account)
    assert logged_subjects(hub) == ["Looping in Dan"] * 3  # contact, company, opportunity
    assert logged_subjects(hub, contact_id=acme.dan) == ["Looping in Dan"]
    with hub.db.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Contact)) == 2


def test_scenario_registered_colleague_on_another_domain(hub, backend, acme):
    """Bob (bob@acme-research.org) is a user of Acme: mail between him and Alice is internal for
    both, and with a contact on it each of them logs it from their own mailbox."""
    alice_account = connect(hub, backend, acme.alice, ALICE)
    bob_account = connect(hub, backend, acme.bob, "bob@acme-research.org")
    internal = mail("bob@acme-research.org", ALICE, "Internal only", message_id="<internal@acme-research.org>")
    backend.deliver(ALICE, "inbox", internal)
    backend.deliver("bob@acme-research.org", "sent", internal)
    with_dan = mail("dan@globex.com", [ALICE], "Offer", cc=["bob@acme-research.org"], message_id="<offer@globex.com>")
    backend.deliver(ALICE, "inbox", with_dan)
    backend.deliver("bob@acme-research.org", "inbox", with_dan)
    sync_all(hub, alice_account, bob_account)
    dan_entries = entries(hub, contact_id=acme.dan)
    assert sorted(e.user_id for e in dan_entries) == sorted([acme.alice, acme.bob])
    assert logged_subjects(hub) == ["Offer"] * 6
    with hub.db.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Contact)) == 2


def test_timeline_groups_mail_by_thread_newest_thread_first(hub, backend, acme):
    from datetime import datetime, timedelta, timezone

    account = connect(hub, backend, acme.alice, ALICE)
    t0 = datetime.now(timezone.utc) - timedelta(days=3)
    backend.deliver(ALICE, "inbox", mail("dan@globex.com", ALICE, "Pricing", message_id="<p@globex.com>", date=t0))
    backend.deliver(ALICE, "inbox", mail("dan@globex.com", ALICE, "Hello again", date=t0 + timedelta(hours=1)))
    backend.deliver(ALICE, "sent", mail(ALICE, "dan@globex.com", "Re: Pricing", in_reply_to="<p@globex.com>",
                                        references=["<p@globex.com>"], date=t0 + timedelta(days=1)))
    sync_all(hub, account)
    with hub.db.session() as s:
        threads = threads_on_timeline(s, contact_id=acme.dan)
        shape = [[m.subject for m in t.messages] for t in threads]
    assert shape == [["Pricing", "Re: Pricing"], ["Hello again"]]
