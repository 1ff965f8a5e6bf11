"""What a contact's or company's page shows: logged mail grouped by thread, and meetings.

Mail is filtered by who may read it (:func:`hub.permissions.may_read_mail_of`): everyone sees the
mail their own accounts logged; roles with ``team_mail`` also see their organization's. The filter is
applied in SQL so a contact with thousands of logged mails stays one query.

Public API: :func:`visible_owner_ids`, :func:`mail_threads`, :func:`meetings_with`, :func:`message_json`.
"""

from __future__ import annotations

from typing import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.models import Contact, MailMessage, Meeting, MeetingParticipant, User
from hub.permissions import Permission
from hub.sync.timeline import ThreadOnTimeline, threads_on_timeline

THREADS_SHOWN = 50


def visible_owner_ids(s: Session, viewer) -> list[int]:
    """The users whose logged mail ``viewer`` may read: themselves, or their organization's with team_mail."""
    if not viewer.can(Permission.TEAM_MAIL):
        return [viewer.id]
    org = User.organization_id
    same = org.is_(None) if viewer.organization_id is None else org == viewer.organization_id
    return list(s.scalars(sa.select(User.id).where(same))) or [viewer.id]


def mail_threads(s: Session, viewer, *, contact_id: int | None = None, company_id: int | None = None,
                 limit: int = THREADS_SHOWN) -> list[ThreadOnTimeline]:
    """Mail logged on a contact or company that ``viewer`` may read: newest thread first, oldest message first."""
    return threads_on_timeline(s, contact_id=contact_id, company_id=company_id, limit=limit,
                               owner_ids=visible_owner_ids(s, viewer))


def meetings_with(s: Session, contact_ids: Iterable[int], company_id: int | None = None,
                  limit: int = 100) -> list[Meeting]:
    """Meetings (not cancelled) with any of the contacts, or with anyone of the company; newest first."""
    ids = list(contact_ids)
    match = MeetingParticipant.contact_id.in_(ids) if ids else sa.false()
    if company_id is not None:
        match = sa.or_(match, MeetingParticipant.company_id == company_id)
    meeting_ids = sa.select(MeetingParticipant.meeting_id).where(match)
    return list(s.scalars(sa.select(Meeting).where(Meeting.id.in_(meeting_ids), Meeting.cancelled.is_(False))
                          .order_by(Meeting.start.desc()).limit(limit)))


def message_json(message: MailMessage) -> dict:
    """A logged message as the API returns it (text body, no HTML, attachment names and sizes only)."""
    return {
        "id": message.id, "thread_id": message.thread_id, "subject": message.subject,
        "from": message.from_email, "from_name": message.from_name, "direction": message.direction,
        "date": message.date.isoformat() if message.date else None, "text": message.text_body,
        "attachments": [{"filename": a.get("filename"), "size": a.get("size")} for a in message.attachments or []],
        "owner_user_id": message.user_id,
    }


def contact_json(contact: Contact) -> dict:
    """A contact as the API returns it."""
    return {"id": contact.id, "name": contact.name, "emails": [a.email for a in contact.addresses],
            "company_id": contact.company_id, "is_lead": contact.is_lead, "source": contact.source}
