"""Calendars, the remote events synced from them, and their expanded busy time."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.models.base import Base, IdMixin, TimestampMixin, str_enum


class SyncDirection(str, enum.Enum):
    TWO_WAY = "two_way"
    TO_CALENDAR = "to_calendar"  #: CRM → calendar only
    FROM_CALENDAR = "from_calendar"  #: calendar → CRM only


class Calendar(IdMixin, TimestampMixin, Base):
    """One calendar of a connected account, with the user's choices for it."""

    __tablename__ = "calendars"
    __table_args__ = (sa.UniqueConstraint("account_id", "remote_id"),)

    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    remote_id: Mapped[str] = mapped_column(sa.String(1024))
    name: Mapped[str] = mapped_column(sa.String(255), default="")
    access_role: Mapped[str] = mapped_column(sa.String(32), default="owner")
    is_primary: Mapped[bool] = mapped_column(default=False)
    timezone: Mapped[str | None] = mapped_column(sa.String(64))
    #: the user's default (linked) calendar: CRM meetings are pushed here; one per user
    is_default: Mapped[bool] = mapped_column(default=False)
    #: busy events here block the user's availability
    is_conflict: Mapped[bool] = mapped_column(default=False)
    sync_enabled: Mapped[bool] = mapped_column(default=False)
    sync_direction: Mapped[SyncDirection] = mapped_column(str_enum(SyncDirection), default=SyncDirection.TWO_WAY)
    propagate_deletions: Mapped[bool] = mapped_column(default=True)
    import_meetings: Mapped[bool] = mapped_column(default=True)
    appointment_type: Mapped[str | None] = mapped_column(sa.String(64))
    #: set when the last read failed; availability fails closed on such calendars
    unreadable_since: Mapped[datetime | None] = mapped_column()
    #: how far ahead recurring series have been expanded into busy blocks; the sync re-expands
    #: open-ended series as the window moves on, so their later occurrences are never missing
    busy_expanded_until: Mapped[datetime | None] = mapped_column()

    account = relationship("Account")


class CalendarEvent(IdMixin, Base):
    """A remote event as last seen on one calendar — the per-calendar remote link of a meeting.

    Keyed by (calendar, remote id). ``etag`` and ``content_hash`` let the engine tell the hub's own
    writes (and no-op replays) from real changes.
    """

    __tablename__ = "calendar_events"
    __table_args__ = (
        sa.UniqueConstraint("calendar_id", "remote_id"),
        sa.Index("ix_calendar_events_calendar_ical_uid", "calendar_id", "ical_uid"),
        # a series' rows by their master (busy recomputation of a page's series)
        sa.Index("ix_calendar_events_calendar_series", "calendar_id", "recurring_event_id"),
    )

    calendar_id: Mapped[int] = mapped_column(sa.ForeignKey("calendars.id", ondelete="CASCADE"))
    remote_id: Mapped[str] = mapped_column(sa.String(1024))
    ical_uid: Mapped[str | None] = mapped_column(sa.String(1024))
    etag: Mapped[str | None] = mapped_column(sa.String(255))
    content_hash: Mapped[str | None] = mapped_column(sa.String(64))
    meeting_id: Mapped[int | None] = mapped_column(sa.ForeignKey("meetings.id", ondelete="SET NULL"), index=True)
    #: the hub's client id when the hub created the event (idempotency key and echo marker)
    client_id: Mapped[str | None] = mapped_column(sa.String(255), index=True)
    status: Mapped[str] = mapped_column(sa.String(16), default="confirmed")
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    start: Mapped[datetime | None] = mapped_column()
    end: Mapped[datetime | None] = mapped_column()
    start_date: Mapped[date | None] = mapped_column(sa.Date)
    end_date: Mapped[date | None] = mapped_column(sa.Date)
    all_day: Mapped[bool] = mapped_column(default=False)
    timezone: Mapped[str | None] = mapped_column(sa.String(64))
    transparent: Mapped[bool] = mapped_column(default=False)
    recurrence: Mapped[list[Any] | None] = mapped_column(sa.JSON)
    recurring_event_id: Mapped[str | None] = mapped_column(sa.String(1024))
    original_start: Mapped[str | None] = mapped_column(sa.String(64))
    #: the RemoteEvent as received, for re-expansion and diffing
    data: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    updated_at: Mapped[datetime | None] = mapped_column()
    #: the full-sync generation (SyncCursor.generation) that last saw this event; a full sync
    #: removes the events it did not see (mark and sweep)
    seen_generation: Mapped[int] = mapped_column(default=0)


class BusyBlock(IdMixin, Base):
    """Busy time expanded at sync time, so availability never re-parses iCalendar per request."""

    __tablename__ = "busy_blocks"
    __table_args__ = (
        sa.Index("ix_busy_blocks_user_start", "user_id", "start"),
        # availability asks "blocks ending after the range start": bounded by the sync window ahead,
        # whereas scanning by start would read every past block since the connection day; the other
        # columns make it a covering index, so the table itself is never read
        sa.Index("ix_busy_blocks_user_end_ts", "user_id", "end_ts", "start_ts", "calendar_id"),
    )

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    calendar_id: Mapped[int] = mapped_column(sa.ForeignKey("calendars.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int | None] = mapped_column(sa.ForeignKey("calendar_events.id", ondelete="CASCADE"), index=True)
    start: Mapped[datetime] = mapped_column()
    end: Mapped[datetime] = mapped_column()
    #: the same instants as whole seconds since the epoch: availability reads thousands of blocks per
    #: request, and plain integers cost nothing to load, where datetimes cost ~2 µs each
    start_ts: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    end_ts: Mapped[int] = mapped_column(sa.BigInteger, default=0)
