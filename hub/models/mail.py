"""Synced mail: messages, their participants, threads, timeline entries and daily usage."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.models.base import Base, IdMixin, utcnow


class MailThread(IdMixin, Base):
    __tablename__ = "mail_threads"
    __table_args__ = (sa.UniqueConstraint("user_id", "thread_key"),)

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    #: provider thread id, else the root Message-ID of References/In-Reply-To
    thread_key: Mapped[str] = mapped_column(sa.String(1024))
    subject: Mapped[str] = mapped_column(sa.Text, default="")
    last_message_at: Mapped[datetime | None] = mapped_column()


class MailMessage(IdMixin, Base):
    """One email as the hub stores it: headers, text, HTML, attachment metadata."""

    __tablename__ = "mail_messages"
    __table_args__ = (
        sa.UniqueConstraint("account_id", "folder", "remote_id"),
        sa.Index("ix_mail_messages_user_message_id", "user_id", "message_id"),
    )

    #: None for mail that came through the BCC logging address rather than a synced account
    account_id: Mapped[int | None] = mapped_column(sa.ForeignKey("accounts.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    folder: Mapped[str] = mapped_column(sa.String(255))
    remote_id: Mapped[str] = mapped_column(sa.String(1024))
    message_id: Mapped[str | None] = mapped_column(sa.String(998))
    thread_id: Mapped[int | None] = mapped_column(sa.ForeignKey("mail_threads.id", ondelete="SET NULL"), index=True)
    direction: Mapped[str] = mapped_column(sa.String(8), default="in")  # in | out
    subject: Mapped[str] = mapped_column(sa.Text, default="")
    from_email: Mapped[str | None] = mapped_column(sa.String(320))
    from_name: Mapped[str] = mapped_column(sa.String(200), default="")
    date: Mapped[datetime | None] = mapped_column(index=True)
    text_body: Mapped[str] = mapped_column(sa.Text, default="")
    html_body: Mapped[str] = mapped_column(sa.Text, default="")
    attachments: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)
    size: Mapped[int] = mapped_column(default=0)
    parse_error: Mapped[str | None] = mapped_column(sa.Text)
    #: every To/Cc/Bcc address the message named; its participant rows are a bounded part of them
    #: (see ``hub.sync.mail_rows.MAX_PARTICIPANTS``), the cut noted in ``parse_error``
    recipient_count: Mapped[int] = mapped_column(default=0, server_default="0")
    #: "bcc" when it came through the BCC logging address
    source: Mapped[str] = mapped_column(sa.String(16), default="sync")
    #: the start of the last initial sync that saw it at the provider (the mark a full resync leaves);
    #: a full resync removes the rows of its window it did not mark
    last_seen_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    participants: Mapped[list["MailParticipant"]] = relationship(cascade="all, delete-orphan")


class MailParticipant(IdMixin, Base):
    __tablename__ = "mail_participants"
    __table_args__ = (sa.Index("ix_mail_participants_email", "email"),)

    message_id: Mapped[int] = mapped_column(sa.ForeignKey("mail_messages.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(sa.String(8))  # from | to | cc | bcc
    email: Mapped[str] = mapped_column(sa.String(320))
    name: Mapped[str] = mapped_column(sa.String(200), default="")


class TimelineEntry(IdMixin, Base):
    """A logged email or meeting on a contact's, company's or opportunity's timeline."""

    __tablename__ = "timeline_entries"
    __table_args__ = (
        sa.Index("ix_timeline_contact_at", "contact_id", "at"),
        sa.Index("ix_timeline_company_at", "company_id", "at"),
    )

    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(sa.String(16))  # mail | meeting
    contact_id: Mapped[int | None] = mapped_column(sa.ForeignKey("contacts.id", ondelete="CASCADE"))
    company_id: Mapped[int | None] = mapped_column(sa.ForeignKey("companies.id", ondelete="CASCADE"))
    opportunity_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("opportunities.id", ondelete="CASCADE"), index=True
    )
    mail_message_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("mail_messages.id", ondelete="CASCADE"), index=True
    )
    meeting_id: Mapped[int | None] = mapped_column(sa.ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))


class MailUsage(Base):
    """How many emails a user's accounts synced on a day, for the plan's daily cap."""

    __tablename__ = "mail_usage"
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    count: Mapped[int] = mapped_column(default=0)
    #: the cap was reached that day with mail still waiting; it syncs on a later day
    deferred: Mapped[bool] = mapped_column(default=False)
