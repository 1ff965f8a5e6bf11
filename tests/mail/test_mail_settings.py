"""Disabling mail sync: keep or remove what it logged — removal takes the account's mail off
timelines and opportunities and nothing else; the freed mailbox slot goes to a Pending account."""

from __future__ import annotations

import sqlalchemy as sa

from hub.mail_settings import disable_mail_sync, enable_mail_sync
from hub.models import (
    Account,
    AccountStatus,
    Company,
    Contact,
    MailMessage,
    MailThread,
    Opportunity,
    Organization,
    TimelineEntry,
)
from hub.sending import send_mail
from hub.sync.mail import sync_folder
from hub.types import Address, OutgoingMessage
from tests.mail_corpus.world import connect, mail

ALICE = "alice@acme.com"


def count(hub, model, *where) -> int:
    with hub.db.session() as s:
        return s.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def logged(hub, **where) -> list[str]:
    with hub.db.session() as s:
        query = sa.select(MailMessage.subject).join(TimelineEntry, TimelineEntry.mail_message_id == MailMessage.id)
        for column, value in where.items():
            query = query.where(getattr(TimelineEntry, column) == value)
        return sorted(s.scalars(query).all())


def world_with_mail(hub, backend, acme):
    work = connect(hub, backend, acme.alice, ALICE)
    other = connect(hub, backend, acme.alice, "alice@acme.de")
    shared = mail("dan@globex.com", [ALICE, "alice@acme.de"], "Shared", message_id="<shared@globex.com>")
    backend.deliver(ALICE, "inbox", shared)
    backend.deliver("alice@acme.de", "inbox", shared)
    backend.deliver(ALICE, "inbox", mail("dan@globex.com", ALICE, "Only in work"))
    backend.deliver("alice@acme.de", "inbox", mail("frank@initech.io", "alice@acme.de", "Only in other"))
    for account in (work, other):
        sync_folder(hub, account, "inbox")
    send_mail(hub, acme.alice, work, OutgoingMessage(sender=Address(ALICE), to=[Address("dan@globex.com")],
                                                      subject="Sent from the CRM", text_body="Hi"))
    return work, other


def test_disable_and_keep_leaves_everything_logged_and_stops_syncing(hub, backend, acme):
    work, _other = world_with_mail(hub, backend, acme)
    before = logged(hub)
    result = disable_mail_sync(hub, work, remove_logged=False)
    assert result["removed"] == 0 and logged(hub) == before
    backend.deliver(ALICE, "inbox", mail("dan@globex.com", ALICE, "After disabling"))
    assert sync_folder(hub, work, "inbox")["skipped"]
    assert "After disabling" not in logged(hub)


def test_disable_and_remove_takes_the_accounts_mail_off_timelines_and_nothing_else(hub, backend, acme):
    work, other = world_with_mail(hub, backend, acme)
    with hub.db.session() as s:
        s.add(Opportunity(name="Frank's pilot", contacts=[s.get(Contact, acme.frank)]))
    people = (count(hub, Contact), count(hub, Company), count(hub, Opportunity))

    result = disable_mail_sync(hub, work, remove_logged=True)

    assert result["removed"] == 2  # "Shared" and "Only in work"; the CRM-sent mail is not sync's
    assert logged(hub, contact_id=acme.dan) == ["Sent from the CRM", "Shared"]  # Shared lives on via the other copy
    assert logged(hub, opportunity_id=acme.opportunity) == ["Sent from the CRM", "Shared"]
    assert logged(hub, contact_id=acme.frank) == ["Only in other"]
    with hub.db.session() as s:
        remaining = sorted((m.account_id, m.subject) for m in s.scalars(sa.select(MailMessage)))
        assert remaining == sorted([(other, "Shared"), (other, "Only in other"), (work, "Sent from the CRM")])
        shared_entry = s.scalar(sa.select(TimelineEntry).where(TimelineEntry.contact_id == acme.dan)
                                .join(MailMessage, MailMessage.id == TimelineEntry.mail_message_id)
                                .where(MailMessage.subject == "Shared"))
        assert s.get(MailMessage, shared_entry.mail_message_id).account_id == other
        # threads whose last message went are gone too; nothing dangles
        assert s.scalar(sa.select(sa.func.count()).select_from(MailThread).where(
            ~sa.select(MailMessage.id).where(MailMessage.thread_id == MailThread.id).exists())) == 0
    assert (count(hub, Contact), count(hub, Company), count(hub, Opportunity)) == people
    with hub.db.session() as s:
        assert s.get(Account, work).mail_enabled is False


def test_enabling_again_after_removal_imports_the_window_afresh(hub, backend, acme, worker):
    work, _other = world_with_mail(hub, backend, acme)
    disable_mail_sync(hub, work, remove_logged=True)
    assert "Only in work" not in logged(hub)
    assert enable_mail_sync(hub, work) == AccountStatus.ENABLED
    worker.drain()
    assert logged(hub, contact_id=acme.dan).count("Only in work") == 1
    assert logged(hub, contact_id=acme.dan).count("Shared") == 1


def test_disabling_mail_frees_a_mailbox_slot_for_a_pending_account(hub, backend, acme):
    with hub.db.session() as s:
        s.get(Organization, acme.org).mailbox_cap = 1
    alice = connect(hub, backend, acme.alice, ALICE)
    bob = connect(hub, backend, acme.bob, "bob@acme-research.org")
    with hub.db.session() as s:
        assert s.get(Account, bob).status == AccountStatus.PENDING
    assert disable_mail_sync(hub, alice, remove_logged=False)["promoted"] == [bob]
    with hub.db.session() as s:
        assert s.get(Account, bob).status == AccountStatus.ENABLED
        assert s.get(Account, alice).status == AccountStatus.ENABLED  # its calendar still syncs
    # turning Alice's mail back on now finds the company's mailboxes full
    assert enable_mail_sync(hub, alice) == AccountStatus.PENDING
