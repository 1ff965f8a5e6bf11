"""API: the mail logged with a contact (only what the caller's role may read); the records are in web.api.records."""

from __future__ import annotations

from flask import abort, g, jsonify
from sqlalchemy.orm import selectinload

from hub import tenancy
from hub.core import current_hub
from hub.models import Contact
from hub.permissions import Permission
from web.access import api_access
from web.activity import mail_threads, message_json
from web.api import bp


def _contact(s, contact_id: int) -> Contact:
    contact = tenancy.contact_or_none(s, g.actor, contact_id, selectinload(Contact.addresses))
    if contact is None:  # missing, or another organization's: the same answer
        abort(404)
    return contact


@bp.get("/contacts/<int:contact_id>/messages")
@api_access(Permission.CONTACTS)
def contact_messages(contact_id: int):
    """The contact's logged mail by thread, newest thread first; colleagues' mail only with team_mail."""
    with current_hub().db.session() as s:
        _contact(s, contact_id)
        threads = mail_threads(s, g.actor, contact_id=contact_id)
        return jsonify([{"thread_id": t.thread_id, "subject": t.subject,
                         "last_at": t.last_at.isoformat() if t.last_at else None,
                         "messages": [message_json(m) for m in t.messages]} for t in threads])
