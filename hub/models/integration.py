"""The host CRM's side door: its API tokens, the events it hears about and where they are sent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.models.base import Base, EncryptedJSON, IdMixin, utcnow


class IntegrationToken(IdMixin, Base):
    """A named API token an administrator made for the host CRM; only its SHA-256 is kept."""

    __tablename__ = "integration_tokens"
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    token_hash: Mapped[str] = mapped_column(sa.String(128), unique=True)
    #: "read", "write", "webhooks_admin"
    scopes: Mapped[list[Any]] = mapped_column(default=list)
    created_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()


class Event(IdMixin, Base):
    """Something the host CRM hears about, written in the same transaction as the change (the outbox).

    ``id`` orders the feed (``GET /api/v1/events?after=``); ``event_id`` is the public, unique id
    every webhook delivery of the event carries.
    """

    __tablename__ = "events"
    __table_args__ = (sa.Index("ix_events_org_id", "organization_id", "id"),)
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    type: Mapped[str] = mapped_column(sa.String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class WebhookEndpoint(IdMixin, Base):
    """A URL of the host CRM that receives signed events (Standard Webhooks)."""

    __tablename__ = "webhook_endpoints"
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(sa.String(2000))
    description: Mapped[str] = mapped_column(sa.String(200), default="")
    #: the event types it wants; empty = all
    event_types: Mapped[list[Any]] = mapped_column(default=list)
    #: {"secret": "whsec_…"} encrypted at rest
    secret: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON)
    #: the administrator lets this endpoint live on a private or loopback host
    allow_private: Mapped[bool] = mapped_column(default=False)
    enabled: Mapped[bool] = mapped_column(default=True)
    disabled_reason: Mapped[str | None] = mapped_column(sa.Text)
    #: first failure of the current run of failures (None while deliveries succeed)
    failing_since: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookDelivery(IdMixin, Base):
    """One event on its way to one endpoint: attempts, the last answer, done or not."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (sa.UniqueConstraint("endpoint_id", "event_id"),
                      sa.Index("ix_webhook_deliveries_pending", "delivered_at", "next_attempt_at"))
    endpoint_id: Mapped[int] = mapped_column(sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("events.id", ondelete="CASCADE"), index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column()
    last_attempt_at: Mapped[datetime | None] = mapped_column()
    last_status: Mapped[int | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    delivered_at: Mapped[datetime | None] = mapped_column()
    #: given up after the retry window (or the endpoint was disabled)
    failed_at: Mapped[datetime | None] = mapped_column()

    endpoint: Mapped[WebhookEndpoint] = relationship()
    event: Mapped[Event] = relationship()
