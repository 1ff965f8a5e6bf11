"""Logged mail on CRM timelines: writing it, taking it off again, and reading it grouped by thread.

Public API:

* :func:`log_messages` — for a batch of freshly stored messages, one :class:`~hub.models.TimelineEntry`
  per message on each known contact taking part, one on each of their companies, and one on the open
  opportunity (the newest open one among those listing the first contact that has one — an
  opportunity has several contacts, any of them counts — else of their company);
  mail without a known contact — internal-only mail, mail with strangers — is not logged;
* :func:`remove_messages` — delete stored messages; where the same mail (same Message-ID) survives
  in another of the user's copies, its timeline entries move there instead of vanishing;
* :func:`threads_on_timeline` — a contact's, company's or opportunity's mail, grouped by thread.

Everything works on batches with a fixed number of statements (no query per message).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.crm.matching import AddressMatches
from hub.models import (
    MailMessage,
    MailParticipant,
    MailThread,
    Opportunity,
    OpportunityContact,
    TimelineEntry,
    User,
    utcnow,
)

CHUNK = 500


@dataclass
class MailToLog:
    """A stored message the timeline should consider: its row id, date and participants in order."""

    message_row_id: int
    at: datetime | None
    addresses: list[str]


def log_messages(session: Session, user_id: int, mails: list[MailToLog], matches: AddressMatches,
                 announce: bool = True) -> int:
    """Write timeline entries for ``mails`` (matched with ``matches``). Returns how many messages got logged.

    :param user_id: the user whose mail it is (the entries' owner).
    :param matches: :func:`hub.crm.matching.match_addresses` for every address of ``mails``.
    :param announce: fire ``message.logged`` for each (the host CRM's webhooks and event feed).
    """
    contacts_of: dict[int, list[tuple[int, int | None]]] = {}
    for mail in mails:
        found = []
        for address in mail.addresses:
            match = matches.get(address)
            if match is not None and match.kind == "contact":
                found.append((match.contact_id, match.company_id))
        if found:
            contacts_of[mail.message_row_id] = list(dict.fromkeys(found))
    if not contacts_of:
        return 0
    contact_ids = {c for found in contacts_of.values() for c, _ in found}
    company_ids = {k for found in contacts_of.values() for _, k in found if k is not None}
    by_contact, by_company = _open_opportunities(session, contact_ids, company_ids)

    rows = []
    for mail in mails:
        found = contacts_of.get(mail.message_row_id)
        if not found:
            continue
        base = {"kind": "mail", "mail_message_id": mail.message_row_id, "user_id": user_id,
                "at": mail.at or utcnow(), "contact_id": None, "company_id": None, "opportunity_id": None}
        rows += [{**base, "contact_id": c} for c in dict.fromkeys(c for c, _ in found)]
        rows += [{**base, "company_id": k} for k in dict.fromkeys(k for _, k in found if k is not None)]
        opportunity = next((by_contact[c] for c, _ in found if c in by_contact), None) or next(
            (by_company[k] for _, k in found if k in by_company), None)
        if opportunity is not None:
            rows.append({**base, "opportunity_id": opportunity})
    session.execute(sa.insert(TimelineEntry.__table__), rows)  # Core executemany: no ORM bookkeeping
    if announce:
        from hub import events

        organization_id = session.scalar(sa.select(User.organization_id).where(User.id == user_id))
        events.record_many(session, organization_id, "message.logged", [
            {"message_id": message_id, "user_id": user_id, "contact_ids": sorted({c for c, _ in found})}
            for message_id, found in contacts_of.items()])
    return len(contacts_of)


def _open_opportunities(session: Session, contact_ids: set[int], company_ids: set[int]):
    """The newest open opportunity per contact (any of an opportunity's contacts) and per company, in one query."""
    query = (
        sa.select(Opportunity.id, OpportunityContact.contact_id, Opportunity.company_id)
        .outerjoin(OpportunityContact, OpportunityContact.opportunity_id == Opportunity.id)
        .where(Opportunity.is_open.is_(True),
               sa.or_(OpportunityContact.contact_id.in_(contact_ids or [-1]),
                      Opportunity.company_id.in_(company_ids or [-1])))
        .order_by(Opportunity.created_at.asc(), Opportunity.id.asc())
    )
    by_contact: dict[int, int] = {}
    by_company: dict[int, int] = {}
    for opp_id, contact_id, company_id in session.execute(query):  # oldest first: the newest wins
        if contact_id in contact_ids:
            by_contact[contact_id] = opp_id
        if company_id in company_ids:
            by_company[company_id] = opp_id
    return by_contact, by_company


def remove_messages(session: Session, message_row_ids: Iterable[int]) -> int:
    """Delete these stored messages and take them off every timeline. Returns how many were deleted.

    A timeline entry whose mail also exists as another stored copy of the same user (the same
    Message-ID in another account or folder) is moved to that copy: the mail is still there.
    """
    doomed = sorted(set(message_row_ids))
    if not doomed:
        return 0
    copies = _surviving_copies(session, doomed)
    if copies:
        table = TimelineEntry.__table__  # Core: an executemany UPDATE keyed by the old message
        session.execute(
            sa.update(table).where(table.c.mail_message_id == sa.bindparam("old"))
            .values(mail_message_id=sa.bindparam("new")),
            [{"old": old, "new": new} for old, new in copies.items()],
        )
    threads: set[int] = set()
    for chunk in _chunks(doomed):
        threads.update(t for t in session.scalars(
            sa.select(MailMessage.thread_id).where(MailMessage.id.in_(chunk), MailMessage.thread_id.is_not(None))))
        session.execute(sa.delete(TimelineEntry).where(TimelineEntry.mail_message_id.in_(chunk))
                        .execution_options(synchronize_session=False))
        session.execute(sa.delete(MailParticipant).where(MailParticipant.message_id.in_(chunk))
                        .execution_options(synchronize_session=False))
        session.execute(sa.delete(MailMessage).where(MailMessage.id.in_(chunk))
                        .execution_options(synchronize_session=False))
    for chunk in _chunks(sorted(threads)):  # threads left without any message go too
        has_mail = sa.select(MailMessage.id).where(MailMessage.thread_id == MailThread.id).exists()
        session.execute(sa.delete(MailThread).where(MailThread.id.in_(chunk), ~has_mail)
                        .execution_options(synchronize_session=False))
    return len(doomed)


def _surviving_copies(session: Session, doomed: list[int]) -> dict[int, int]:
    """doomed row id → another row of the same user with the same Message-ID, for logged doomed rows."""
    logged: dict[tuple[int, str], list[int]] = defaultdict(list)
    for chunk in _chunks(doomed):
        query = (sa.select(MailMessage.id, MailMessage.user_id, MailMessage.message_id)
                 .where(MailMessage.id.in_(chunk), MailMessage.message_id.is_not(None),
                        sa.select(TimelineEntry.id).where(TimelineEntry.mail_message_id == MailMessage.id).exists()))
        for row_id, user_id, message_id in session.execute(query):
            logged[(user_id, message_id)].append(row_id)
    if not logged:
        return {}
    doomed_set = set(doomed)
    survivor: dict[tuple[int, str], int] = {}
    keys = list(logged)
    for i in range(0, len(keys), CHUNK):
        part = keys[i:i + CHUNK]
        query = (sa.select(MailMessage.id, MailMessage.user_id, MailMessage.message_id)
                 .where(sa.tuple_(MailMessage.user_id, MailMessage.message_id).in_(part))
                 .order_by(MailMessage.id))
        for row_id, user_id, message_id in session.execute(query):
            if row_id not in doomed_set:
                survivor.setdefault((user_id, message_id), row_id)
    return {old: survivor[key] for key, olds in logged.items() if key in survivor for old in olds}


def _chunks(values: list[int]) -> Iterable[list[int]]:
    for i in range(0, len(values), CHUNK):
        yield values[i:i + CHUNK]


@dataclass
class ThreadOnTimeline:
    """One thread of logged mail as a timeline shows it: newest threads first, messages oldest first."""

    thread_id: int | None
    subject: str
    last_at: datetime | None
    messages: list[MailMessage] = field(default_factory=list)


def threads_on_timeline(session: Session, *, contact_id: int | None = None, company_id: int | None = None,
                        opportunity_id: int | None = None, limit: int = 50,
                        owner_ids: list[int] | None = None) -> list[ThreadOnTimeline]:
    """The mail logged on one contact, company or opportunity, grouped by thread.

    :param owner_ids: only mail synced by these users (what the viewer's role lets them read).
    """
    where = [TimelineEntry.kind == "mail"]
    for column, value in ((TimelineEntry.contact_id, contact_id), (TimelineEntry.company_id, company_id),
                          (TimelineEntry.opportunity_id, opportunity_id)):
        if value is not None:
            where.append(column == value)
    if len(where) == 1:
        raise ValueError("give a contact_id, company_id or opportunity_id")
    logged = sa.select(TimelineEntry.mail_message_id).where(*where)
    query = sa.select(MailMessage).where(MailMessage.id.in_(logged))
    if owner_ids is not None:
        query = query.where(MailMessage.user_id.in_(owner_ids))
    messages = session.scalars(query.order_by(MailMessage.date, MailMessage.id)).all()
    groups: dict[object, ThreadOnTimeline] = {}
    for message in messages:
        key = message.thread_id if message.thread_id is not None else ("single", message.id)
        group = groups.setdefault(key, ThreadOnTimeline(message.thread_id, message.subject, None))
        group.messages.append(message)
        if message.date and (group.last_at is None or message.date > group.last_at):
            group.last_at = message.date
    ordered = sorted(groups.values(), key=lambda g: (g.last_at is not None, g.last_at), reverse=True)
    return ordered[:limit]
