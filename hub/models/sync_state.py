"""Sync state kept apart from the data: provider cursors with progress, and the push outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from hub.models.base import Base, IdMixin, utcnow


class SyncCursor(IdMixin, Base):
    """Where one calendar's or mail folder's sync stands.

    Written in the same transaction as the page it follows, so a crash resumes from the last
    stored page and never applies one twice.
    """

    __tablename__ = "sync_cursors"
    __table_args__ = (sa.UniqueConstraint("account_id", "kind", "key"),)

    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(16))  # calendar | mail
    key: Mapped[str] = mapped_column(sa.String(1024))  # calendar remote id / folder
    cursor: Mapped[str | None] = mapped_column(sa.Text)
    #: True once a full (initial) sync has completed; incremental from then on
    initial_done: Mapped[bool] = mapped_column(default=False)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    progress_done: Mapped[int] = mapped_column(default=0)
    progress_total: Mapped[int | None] = mapped_column()
    #: bumped when a full sync starts; items seen by it carry this number (mark and sweep)
    generation: Mapped[int] = mapped_column(default=0)
    #: a full sync is under way (``cursor`` then resumes it); its last page sweeps unseen items
    full_pass: Mapped[bool] = mapped_column(default=False)


class OutboxEntry(IdMixin, Base):
    """A CRM change waiting to be pushed to a calendar; written with the change itself."""

    __tablename__ = "outbox"
    __table_args__ = (
        sa.Index("ix_outbox_pending", "account_id", "done_at"),
        sa.Index("ix_outbox_client_id", "client_id"),
        sa.Index("ix_outbox_meeting", "meeting_id"),
    )

    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id", ondelete="CASCADE"))
    calendar_id: Mapped[int] = mapped_column(sa.ForeignKey("calendars.id", ondelete="CASCADE"))
    meeting_id: Mapped[int | None] = mapped_column(sa.ForeignKey("meetings.id", ondelete="SET NULL"))
    op: Mapped[str] = mapped_column(sa.String(16))  # create | update | delete
    #: idempotency key sent to the provider; stable across retries
    client_id: Mapped[str] = mapped_column(sa.String(255))
    meeting_version: Mapped[int] = mapped_column(default=1)
    send_invites: Mapped[bool] = mapped_column(default=True)
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    next_attempt_at: Mapped[datetime | None] = mapped_column()
    #: when a push of this entry last began: from then on the provider may hold it, whatever the hub
    #: heard back (a lost answer, a killed worker)
    tried_at: Mapped[datetime | None] = mapped_column()
    done_at: Mapped[datetime | None] = mapped_column()
