"""Connected accounts, their error log and push channels, and admin provider settings."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.models.base import Base, EncryptedJSON, IdMixin, TimestampMixin, str_enum, utcnow


class AccountStatus(str, enum.Enum):
    ENABLED = "enabled"  #: green: syncing
    ERROR = "error"  #: red: last error and its fix shown; sync keeps retrying
    PENDING = "pending"  #: waiting for the company's mailbox cap to be raised
    CONNECTION = "connection"  #: failing for two days: sync stops until the user acts
    DISCONNECTED = "disconnected"  #: the user disconnected it


class Account(IdMixin, TimestampMixin, Base):
    """One connected mailbox/calendar account of one user at one provider."""

    __tablename__ = "accounts"
    __table_args__ = (sa.UniqueConstraint("user_id", "provider", "email"),)

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(sa.String(64))
    email: Mapped[str] = mapped_column(sa.String(320))
    display_name: Mapped[str] = mapped_column(sa.String(200), default="")
    #: tokens / passwords, AES-GCM encrypted; never logged, never in job arguments
    credentials: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON, deferred=True)
    settings: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    status: Mapped[AccountStatus] = mapped_column(str_enum(AccountStatus), default=AccountStatus.ENABLED)
    #: first failure of the current run of failures; cleared by the next success
    error_since: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    last_fix: Mapped[str | None] = mapped_column(sa.Text)
    #: the grant stopped working (AuthExpired): nothing syncs until the user reconnects
    needs_reconnect: Mapped[bool] = mapped_column(default=False)
    calendar_enabled: Mapped[bool] = mapped_column(default=True)
    mail_enabled: Mapped[bool] = mapped_column(default=True)
    connected_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_synced_at: Mapped[datetime | None] = mapped_column()

    user = relationship("User")
    errors: Mapped[list["AccountError"]] = relationship(
        back_populates="account", cascade="all, delete-orphan", order_by="AccountError.at.desc()"
    )

    def __repr__(self) -> str:
        return f"<Account {self.id} {self.provider} {self.email} {self.status.value}>"


class AccountError(IdMixin, Base):
    """One entry of an account's error log: when, what failed, how to fix it."""

    __tablename__ = "account_errors"
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    #: "calendar", "mail", "connect", "push", "webhook"
    area: Mapped[str] = mapped_column(sa.String(32))
    error: Mapped[str] = mapped_column(sa.String(64))
    message: Mapped[str] = mapped_column(sa.Text)
    fix: Mapped[str | None] = mapped_column(sa.Text)
    account: Mapped[Account] = relationship(back_populates="errors")


class PushChannelRecord(IdMixin, Base):
    """A provider push channel (Google watch, Graph subscription) kept alive for an account."""

    __tablename__ = "push_channels"
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))  # calendar | mail
    key: Mapped[str] = mapped_column(sa.String(1024))  # calendar remote id / folder
    channel_id: Mapped[str] = mapped_column(sa.String(255), unique=True)
    resource_id: Mapped[str | None] = mapped_column(sa.String(1024))
    token: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON)  # {"token": ...}
    expires_at: Mapped[datetime] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProviderSetting(Base):
    """What an administrator set for a provider: enabled or not, and its configuration."""

    __tablename__ = "provider_settings"
    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    enabled: Mapped[bool] = mapped_column(default=True)
    #: config_schema values; secrets included, so the whole dict is encrypted
    config: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
