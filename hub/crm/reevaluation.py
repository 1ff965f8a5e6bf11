"""Stored mail looked at again when the CRM changes who is who — no provider is asked again.

A contact's new address logs the mail already stored with it; a removed one takes that mail off the
contact's timeline. A user's new alias makes mail with that address (and its domain, unless free
mail) internal: it is taken off timelines; so does a new domain of the organization, and a domain
leaving its free-mail list (a change of that list re-evaluates mail at the domain either way). Only
the messages with an affected address are matched again (:func:`hub.crm.matching.match_addresses`,
per owner) and logged again (:func:`hub.crm.timeline.log_messages`); ``message.logged`` /
``message.unlogged`` fire for the messages whose state changed.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub import events
from hub.crm.matching import domain_of, free_mail_of, is_free_mail, match_addresses
from hub.crm.timeline import MailToLog, log_messages
from hub.models import MailMessage, MailParticipant, TimelineEntry, User


def contact_addresses_changed(s: Session, added: Iterable[str], removed: Iterable[str]) -> int:
    """Re-log the stored mail with ``added`` or ``removed`` addresses. Returns how many messages changed state."""
    return relog(s, _messages_with(s, set(added) | set(removed), set()))


def user_aliases_changed(s: Session, added: Iterable[str], removed: Iterable[str],
                         organization_id: int | None = None) -> int:
    """Re-log the stored mail with the changed aliases or at their domains — not free-mail ones
    (the built-in list and the organization's own)."""
    addresses = set(added) | set(removed)
    domains = {domain_of(a) for a in addresses} - {""}
    free_mail = free_mail_of(s, organization_id=organization_id)
    return relog(s, _messages_with(s, addresses, {d for d in domains if not is_free_mail(d, free_mail)}))


def organization_domains_changed(s: Session, domains: Iterable[str]) -> int:
    """Re-log the stored mail with anyone at a domain the organization took on or gave up, or one
    that joined or left its free-mail list (a user's alias there stops or starts making it internal)."""
    return relog(s, _messages_with(s, set(), set(domains)))


def _messages_with(s: Session, addresses: set[str], domains: set[str]) -> list[int]:
    if not addresses and not domains:
        return []
    email = MailParticipant.email  # stored normalized (lower case): the index answers
    conditions = [email.in_(sorted(addresses))] if addresses else []
    conditions += [email.like(f"%@{d}") for d in sorted(domains)]
    return list(s.scalars(sa.select(MailParticipant.message_id).distinct().where(sa.or_(*conditions))))


def relog(s: Session, message_ids: list[int]) -> int:
    """Match and log these stored messages again; fire events for those logged or un-logged by it."""
    if not message_ids:
        return 0
    changed = 0
    for chunk in (message_ids[i:i + 500] for i in range(0, len(message_ids), 500)):
        changed += _relog_chunk(s, sorted(chunk))
    return changed


def _relog_chunk(s: Session, ids: list[int]) -> int:
    rows = s.execute(sa.select(MailMessage.id, MailMessage.user_id, MailMessage.message_id, MailMessage.date)
                     .where(MailMessage.id.in_(ids)).order_by(MailMessage.id)).all()
    participants: dict[int, list[str]] = defaultdict(list)
    for message_id, email in s.execute(sa.select(MailParticipant.message_id, MailParticipant.email).where(
            MailParticipant.message_id.in_(ids)).order_by(MailParticipant.id)):
        participants[message_id].append(email)
    before = _contacts_by_message(s, ids)
    s.execute(sa.delete(TimelineEntry).where(TimelineEntry.kind == "mail", TimelineEntry.mail_message_id.in_(ids))
              .execution_options(synchronize_session=False))
    by_user: dict[int, list] = defaultdict(list)
    for row in rows:
        by_user[row.user_id].append(row)
    for user_id, messages in by_user.items():
        # one logged copy per Message-ID, as when the mail was stored: the copy logged before, else the first
        chosen: dict[str, int] = {}
        for row in messages:
            key = row.message_id or f"row-{row.id}"
            if key not in chosen or (row.id in before and chosen[key] not in before):
                chosen[key] = row.id
        mails = [MailToLog(row.id, row.date, participants[row.id]) for row in messages if row.id in chosen.values()]
        matches = match_addresses(s, user_id, {a for m in mails for a in m.addresses})
        log_messages(s, user_id, mails, matches, announce=False)  # the difference is announced below
    after = _contacts_by_message(s, ids)
    organization_of = dict(s.execute(sa.select(User.id, User.organization_id).where(
        User.id.in_({row.user_id for row in rows}))).all())
    changed = 0
    for row in rows:
        was, now = before.get(row.id, set()), after.get(row.id, set())
        if was == now:
            continue
        changed += 1
        data = {"message_id": row.id, "user_id": row.user_id, "contact_ids": sorted(now)}
        if now - was:
            events.record(s, organization_of.get(row.user_id), "message.logged",
                          {**data, "added_contact_ids": sorted(now - was)})
        if was - now:
            events.record(s, organization_of.get(row.user_id), "message.unlogged",
                          {**data, "removed_contact_ids": sorted(was)})
    return changed


def _contacts_by_message(s: Session, ids: list[int]) -> dict[int, set[int]]:
    out: dict[int, set[int]] = defaultdict(set)
    for message_id, contact_id in s.execute(sa.select(TimelineEntry.mail_message_id, TimelineEntry.contact_id).where(
            TimelineEntry.kind == "mail", TimelineEntry.mail_message_id.in_(ids), TimelineEntry.contact_id.is_not(None))):
        out[message_id].add(contact_id)
    return out
