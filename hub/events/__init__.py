"""What the host CRM hears: events written in the same transaction as the change (an outbox).

:func:`record` adds an :class:`~hub.models.Event` and one pending
:class:`~hub.models.WebhookDelivery` per endpoint that wants it, inside the caller's session: if the
change rolls back, so does the event; once it commits, a delivery job is enqueued (and the periodic
:func:`hub.events.delivery.deliver_due` finds anything a crash left behind). The same rows feed
``GET /api/v1/events``. Signing and sending live in :mod:`hub.events.delivery`.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.models import (
    Contact,
    ContactAddress,
    Event,
    User,
    WebhookDelivery,
    WebhookEndpoint,
    utcnow,
)

EVENT_TYPES = (
    "message.logged", "message.unlogged",
    "meeting.created", "meeting.updated", "meeting.cancelled",
    "booking.created", "booking.cancelled", "booking.rescheduled",
    "contact.created",
    "account.status_changed", "account.disconnected",
)

_PENDING_KEY = "hub.events.endpoints"
_LISTENING_KEY = "hub.events.listening"


def record(session: Session, organization_id: int | None, event_type: str, data: dict[str, Any]) -> str | None:
    """Write one event (and its pending deliveries) in ``session``'s transaction.

    :param organization_id: whose CRM hears it; None (a user outside any organization) records nothing.
    :param event_type: one of :data:`EVENT_TYPES`.
    :param data: JSON-able details (ids, addresses, times as ISO strings).
    :return: the event's public id (``evt_…``, what its deliveries carry), or None when nothing was recorded.
    """
    written = record_many(session, organization_id, event_type, [data])
    return written[0] if written else None


def record_many(session: Session, organization_id: int | None, event_type: str,
                items: list[dict[str, Any]]) -> list[str]:
    """:func:`record` for a batch of events of one type: the public ids, in the order of ``items``.

    A fixed number of statements whatever the batch's size (a synced mail page logs hundreds): one
    multi-row INSERT of the events, and one INSERT … SELECT of the deliveries per endpoint that wants
    them. Adding ORM objects instead made the flush insert each event on its own, about a quarter of
    a mail page's time under SQLite's write lock.
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    if organization_id is None or not items:
        return []
    now = utcnow()
    stamp = now.isoformat()
    event_ids = [f"evt_{uuid.uuid4().hex}" for _ in items]
    session.execute(sa.insert(Event.__table__), [
        {"organization_id": organization_id, "event_id": event_id, "type": event_type, "created_at": now,
         "payload": {"type": event_type, "timestamp": stamp, "data": data}}
        for event_id, data in zip(event_ids, items)])
    endpoints = session.execute(sa.select(WebhookEndpoint.id, WebhookEndpoint.event_types).where(
        WebhookEndpoint.organization_id == organization_id, WebhookEndpoint.enabled.is_(True))).all()
    wanted = [endpoint_id for endpoint_id, types in endpoints if not types or event_type in types]
    if wanted:
        deliveries = WebhookDelivery.__table__
        for endpoint_id in wanted:
            for first in range(0, len(event_ids), _IDS_PER_STATEMENT):
                written = sa.select(sa.literal(endpoint_id), Event.id, sa.literal(now, WebhookDelivery.next_attempt_at.type),
                                    sa.literal(0)).where(Event.event_id.in_(event_ids[first:first + _IDS_PER_STATEMENT]))
                session.execute(deliveries.insert().from_select(
                    ["endpoint_id", "event_id", "next_attempt_at", "attempts"], written))
        _deliver_after_commit(session, wanted)
    return event_ids


#: event ids per INSERT … SELECT of deliveries (well under every database's bound-parameter limit)
_IDS_PER_STATEMENT = 500


def record_for_user(session: Session, user_id: int | None, event_type: str, data: dict[str, Any]) -> str | None:
    """:func:`record` for the organization of ``user_id`` (whose mail, meeting or account it is)."""
    if user_id is None:
        return None
    organization_id = session.scalar(sa.select(User.organization_id).where(User.id == user_id))
    return record(session, organization_id, event_type, {**data, "user_id": user_id})


def contact_created(session: Session, contact_id: int, user_id: int, source: str) -> str | None:
    """A contact the hub made by itself (BCC logging, a booking): it joins the user's organization, the CRM hears."""
    organization_id = session.scalar(sa.select(User.organization_id).where(User.id == user_id))
    if organization_id is not None:
        session.execute(sa.update(Contact).where(Contact.id == contact_id, Contact.organization_id.is_(None))
                        .values(organization_id=organization_id).execution_options(synchronize_session=False))
    emails = sorted(session.scalars(sa.select(ContactAddress.email).where(ContactAddress.contact_id == contact_id)))
    return record(session, organization_id, "contact.created",
                  {"contact_id": contact_id, "emails": emails, "source": source, "user_id": user_id})


def _deliver_after_commit(session: Session, endpoint_ids: list[int]) -> None:
    if not session.info.get(_LISTENING_KEY):
        session.info[_LISTENING_KEY] = True
        sa.event.listen(session, "after_commit", _enqueue_pending)
        sa.event.listen(session, "after_rollback", _forget_pending)
    session.info.setdefault(_PENDING_KEY, set()).update(endpoint_ids)


def _enqueue_pending(session: Session) -> None:
    endpoint_ids = sorted(session.info.pop(_PENDING_KEY, None) or ())
    if not endpoint_ids:
        return
    from hub.core import current_hub
    from hub.work import enqueue_webhooks

    hub = current_hub()
    for endpoint_id in endpoint_ids:
        enqueue_webhooks(hub, endpoint_id)


def _forget_pending(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)
