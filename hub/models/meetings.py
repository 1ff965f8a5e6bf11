"""CRM meetings, their participants, meeting types (booking pages) and bookings."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from hub.models.base import Base, IdMixin, TimestampMixin, str_enum


class Meeting(IdMixin, TimestampMixin, Base):
    """A CRM meeting. The same meeting seen on several users' calendars is one row."""

    __tablename__ = "meetings"
    __table_args__ = (sa.Index("ix_meetings_ical_uid_organizer", "ical_uid", "organizer_email"),)

    owner_user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(sa.String(500), default="")
    description: Mapped[str] = mapped_column(sa.Text, default="")
    location: Mapped[str] = mapped_column(sa.String(500), default="")
    start: Mapped[datetime | None] = mapped_column(index=True)
    end: Mapped[datetime | None] = mapped_column()
    all_day: Mapped[bool] = mapped_column(default=False)
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC")
    #: iCalendar UID shared with the remote events; unique per organizer series
    ical_uid: Mapped[str | None] = mapped_column(sa.String(1024), index=True)
    recurrence: Mapped[list[Any] | None] = mapped_column(sa.JSON)
    #: the organizer's address, lower case; with ``ical_uid`` it identifies one meeting across calendars
    organizer_email: Mapped[str | None] = mapped_column(sa.String(320))
    appointment_type: Mapped[str | None] = mapped_column(sa.String(64))
    video_url: Mapped[str | None] = mapped_column(sa.String(1024))
    want_video: Mapped[bool] = mapped_column(default=False)
    #: "crm", "calendar" (imported), "booking"
    origin: Mapped[str] = mapped_column(sa.String(16), default="crm")
    cancelled: Mapped[bool] = mapped_column(default=False)
    #: bumped on every CRM edit; the outbox carries it so stale pushes are skipped
    version: Mapped[int] = mapped_column(default=1)

    participants: Mapped[list["MeetingParticipant"]] = relationship(
        back_populates="meeting", cascade="all, delete-orphan"
    )

    @validates("video_url")
    def _https_only(self, _key: str, value: str | None) -> str | None:
        # every provider's link ends up as an <a href> on pages: only https, never javascript: or http:
        if value and urlsplit(value.strip()).scheme.lower() == "https" and urlsplit(value.strip()).netloc:
            return value.strip()[:1024]
        return None


class MeetingParticipant(IdMixin, Base):
    __tablename__ = "meeting_participants"
    __table_args__ = (sa.UniqueConstraint("meeting_id", "email"),)

    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meetings.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(sa.String(320))
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    response: Mapped[str] = mapped_column(sa.String(16), default="needsAction")
    organizer: Mapped[bool] = mapped_column(default=False)
    contact_id: Mapped[int | None] = mapped_column(sa.ForeignKey("contacts.id", ondelete="SET NULL"), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    company_id: Mapped[int | None] = mapped_column(sa.ForeignKey("companies.id", ondelete="SET NULL"))
    meeting: Mapped[Meeting] = relationship(back_populates="participants")


class MeetingType(IdMixin, TimestampMixin, Base):
    """A bookable kind of meeting with its public booking page."""

    __tablename__ = "meeting_types"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    slug: Mapped[str] = mapped_column(sa.String(100), unique=True)
    duration_minutes: Mapped[int] = mapped_column(default=30)
    buffer_before_minutes: Mapped[int] = mapped_column(default=0)
    buffer_after_minutes: Mapped[int] = mapped_column(default=0)
    #: {"mon": [["09:00", "17:00"]], …} in ``timezone``
    weekly_hours: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC")
    min_notice_minutes: Mapped[int] = mapped_column(default=60)
    horizon_days: Mapped[int] = mapped_column(default=60)
    slot_step_minutes: Mapped[int] = mapped_column(default=15)
    want_video: Mapped[bool] = mapped_column(default=True)
    is_primary: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    #: minutes before a booking's start when the guest gets a reminder; None: the default (24 h and 1 h)
    reminder_minutes: Mapped[list[int] | None] = mapped_column(sa.JSON)
    #: set when a disconnect deactivated it, so a reconnect restores exactly these
    deactivated_by_account_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="SET NULL")
    )
    #: "single" (the owner hosts), "round_robin" (one free member hosts) or "collective" (every member)
    kind: Mapped[str] = mapped_column(sa.String(20), default="single", server_default="single")
    #: extra fields of the booking form: [{"key", "label", "kind": text|choice|phone, "required", "choices"}]
    questions: Mapped[list[Any] | None] = mapped_column(sa.JSON, default=list)
    #: at most this many bookings of this type per host and day (in ``timezone``); None: no limit
    max_per_day: Mapped[int | None] = mapped_column()
    #: {"2026-12-24": []} a day off, {"2026-12-31": [["09:00", "12:00"]]} other hours on that date
    date_overrides: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON, default=dict)

    members: Mapped[list["MeetingTypeMember"]] = relationship(
        cascade="all, delete-orphan", order_by="MeetingTypeMember.user_id", lazy="selectin")


class MeetingTypeMember(IdMixin, Base):
    """A host of a team meeting type (users of the type owner's organization)."""

    __tablename__ = "meeting_type_members"
    __table_args__ = (sa.UniqueConstraint("meeting_type_id", "user_id"),)

    meeting_type_id: Mapped[int] = mapped_column(sa.ForeignKey("meeting_types.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: round-robin share: a member of weight 2 gets about twice the bookings of a member of weight 1
    weight: Mapped[int] = mapped_column(default=1)
    #: the member's own working hours in their user time zone, within the type's; None: the type's
    weekly_hours: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)


class BookingStatus(str, enum.Enum):
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"


class Booking(IdMixin, TimestampMixin, Base):
    __tablename__ = "bookings"
    __table_args__ = (sa.Index("ix_bookings_host_start", "host_user_id", "start"),)

    meeting_type_id: Mapped[int] = mapped_column(sa.ForeignKey("meeting_types.id", ondelete="CASCADE"))
    host_user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    start: Mapped[datetime] = mapped_column()
    end: Mapped[datetime] = mapped_column()
    guest_name: Mapped[str] = mapped_column(sa.String(200))
    guest_email: Mapped[str] = mapped_column(sa.String(320))
    guest_timezone: Mapped[str | None] = mapped_column(sa.String(64))
    status: Mapped[BookingStatus] = mapped_column(str_enum(BookingStatus), default=BookingStatus.CONFIRMED)
    #: 1 when booked, +1 on each reschedule and on the cancel: the .ics SEQUENCE (version - 1), and what
    #: a queued reminder compares at send time so a moved or cancelled booking gets no stale one
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    #: the guest's or host's optional reason, told to the other side
    cancel_reason: Mapped[str | None] = mapped_column(sa.Text)
    #: the last version whose e-mail to the guest / the host was handled (sent, or no way to send): the
    #: reconciler re-queues a notice Redis lost while these lag ``version``
    guest_notified_version: Mapped[int | None] = mapped_column()
    host_notified_version: Mapped[int | None] = mapped_column()
    meeting_id: Mapped[int | None] = mapped_column(sa.ForeignKey("meetings.id", ondelete="SET NULL"))
    contact_id: Mapped[int | None] = mapped_column(sa.ForeignKey("contacts.id", ondelete="SET NULL"))
    #: the account whose default calendar received the event
    account_id: Mapped[int | None] = mapped_column(sa.ForeignKey("accounts.id", ondelete="SET NULL"))
    #: the guest's answers to the type's questions: [{"key", "label", "answer"}]
    answers: Mapped[list[Any] | None] = mapped_column(sa.JSON)

    meeting_type: Mapped[MeetingType] = relationship()


class BookingHost(IdMixin, Base):
    """A further host of a collective booking (besides ``Booking.host_user_id``): busy for its time too."""

    __tablename__ = "booking_hosts"
    __table_args__ = (sa.UniqueConstraint("booking_id", "user_id"),)

    booking_id: Mapped[int] = mapped_column(sa.ForeignKey("bookings.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
