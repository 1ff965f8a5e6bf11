"""Declarative base, column types shared by every model, and the session factory."""

from __future__ import annotations

import enum
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from hub.crypto import keyring

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(sa.TypeDecorator):
    """Aware UTC datetimes on every database.

    SQLite has no time zones: values are stored as naive UTC and made aware again on the way out,
    so the engines never compare naive and aware datetimes.
    """

    impl = sa.DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect):
        return dialect.type_descriptor(sa.DateTime(timezone=dialect.name != "sqlite"))

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class EncryptedJSON(sa.TypeDecorator):
    """A JSON value encrypted with the hub's key ring (AES-GCM, key id in the token)."""

    impl = sa.LargeBinary
    cache_ok = True

    def process_bind_param(self, value: Any, dialect):
        return None if value is None else keyring.encrypt_json(value)

    def process_result_value(self, value: bytes | None, dialect):
        return None if value is None else keyring.decrypt_json(bytes(value))


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: sa.JSON(), list[Any]: sa.JSON()}
    if TYPE_CHECKING:  # every model here maps one table (SQLAlchemy types it as any FROM clause)
        __table__: ClassVar[sa.Table]


#: the largest id a row can have (integer keys are 32-bit on PostgreSQL): API cursors are clamped to it
MAX_ROW_ID = 2**31 - 1


class IdMixin:
    id: Mapped[int] = mapped_column(primary_key=True)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def str_enum(enum_cls: type[enum.Enum]) -> sa.Enum:
    """Store an enum by value as a plain string column (no database ENUM type to migrate)."""
    return sa.Enum(
        enum_cls, native_enum=False, create_constraint=False, length=32,
        values_callable=lambda members: [m.value for m in members],
    )
