"""What a contact's or company's page shows: logged mail grouped by thread, and meetings.

Mail and meetings are filtered by who may see them (:mod:`hub.tenancy`): everyone sees their own;
roles with ``team_mail`` also see their organization's; meetings need ``meetings`` at all. The filter
is applied in SQL so a contact with thousands of logged mails stays one query.

Public API: :func:`mail_threads`, :func:`visible_meetings`, :func:`meetings_with`, :func:`message_json`.
"""

from __future__ import annotations

from typing import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub import tenancy
from hub.crm.timeline import ThreadOnTimeline, threads_on_timeline
from hub.models import Contact, MailMessage, Meeting, MeetingParticipant

THREADS_SHOWN = 50


def mail_threads(s: Session, viewer, *, contact_id: int | None = None, company_id: int | None = None,
                 limit: int = THREADS_SHOWN) -> list[ThreadOnTimeline]:
    """Mail logged on a contact or company that ``viewer`` may read: newest thread first, oldest message first."""
    return threads_on_timeline(s, contact_id=contact_id, company_id=company_id, limit=limit,
                               owner_ids=tenancy.mail_owner_ids(s, viewer))


def visible_meetings(s: Session, viewer) -> sa.ColumnElement[bool]:
    """A WHERE clause on :class:`Meeting`: the meetings ``viewer`` may see on timelines."""
    return Meeting.owner_user_id.in_(tenancy.meeting_owner_ids(s, viewer))


def meetings_with(s: Session, viewer, contact_ids: Iterable[int], company_id: int | None = None,
                  limit: int = 100) -> list[Meeting]:
    """Meetings (not cancelled) that ``viewer`` may see with any of the contacts, or with anyone of the company."""
    ids = list(contact_ids)
    match = MeetingParticipant.contact_id.in_(ids) if ids else sa.false()
    if company_id is not None:
        match = sa.or_(match, MeetingParticipant.company_id == company_id)
    meeting_ids = sa.select(MeetingParticipant.meeting_id).where(match)
    return list(s.scalars(sa.select(Meeting).where(Meeting.id.in_(meeting_ids), Meeting.cancelled.is_(False),
                                                   visible_meetings(s, viewer))
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
