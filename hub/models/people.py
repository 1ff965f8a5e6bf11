"""The people the hub knows: the organization and its users, CRM companies, contacts, opportunities."""

from __future__ import annotations

import enum
import secrets
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.models.base import Base, IdMixin, TimestampMixin, str_enum


class Role(str, enum.Enum):
    ADMIN = "admin"
    COMPANY_MANAGER = "company_manager"
    MARKETING_MANAGER = "marketing_manager"
    SALES_MANAGER = "sales_manager"
    SALESPERSON = "salesperson"
    JUNIOR_SALESPERSON = "junior_salesperson"


class Plan(IdMixin, Base):
    """A pricing plan: limits that apply to every user on it."""

    __tablename__ = "plans"
    name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    #: emails synced per user per day; None = unlimited (the free plan has 100)
    daily_mail_cap: Mapped[int | None] = mapped_column()


class Organization(IdMixin, Base):
    """The company that runs the CRM: its own domains decide who is a colleague."""

    __tablename__ = "organizations"
    name: Mapped[str] = mapped_column(sa.String(200))
    mailbox_cap: Mapped[int | None] = mapped_column(default=None)  # synced mailboxes; None = no cap
    #: the host CRM's id for this organization
    external_id: Mapped[str | None] = mapped_column(sa.String(255), unique=True)
    #: domains this organization treats as free mail besides the built-in list
    free_mail_domains: Mapped[list[Any]] = mapped_column(default=list)
    domains: Mapped[list["OrganizationDomain"]] = relationship(
        back_populates="organization", cascade="all, delete-orphan"
    )


class OrganizationDomain(IdMixin, Base):
    __tablename__ = "organization_domains"
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"))
    domain: Mapped[str] = mapped_column(sa.String(255), unique=True)
    organization: Mapped[Organization] = relationship(back_populates="domains")


class User(IdMixin, TimestampMixin, Base):
    __tablename__ = "users"
    __table_args__ = (sa.UniqueConstraint("organization_id", "external_id"),)
    organization_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organizations.id"))
    plan_id: Mapped[int | None] = mapped_column(sa.ForeignKey("plans.id"))
    email: Mapped[str] = mapped_column(sa.String(320), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    role: Mapped[Role] = mapped_column(str_enum(Role), default=Role.SALESPERSON)
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC")
    active: Mapped[bool] = mapped_column(default=True)
    #: the private part of the user's BCC logging address; rotating it revokes the old address
    bcc_token: Mapped[str] = mapped_column(sa.String(64), unique=True, default=lambda: secrets.token_hex(8))
    api_token_hash: Mapped[str | None] = mapped_column(sa.String(128), unique=True)
    external_id: Mapped[str | None] = mapped_column(sa.String(255))

    organization: Mapped[Organization | None] = relationship()
    plan: Mapped[Plan | None] = relationship()
    aliases: Mapped[list["UserAlias"]] = relationship(back_populates="user", cascade="all, delete-orphan")

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


class UserAlias(IdMixin, Base):
    """Another address that belongs to a user (a second domain, an alias)."""

    __tablename__ = "user_aliases"
    __table_args__ = (sa.Index("ix_user_aliases_lower_email", sa.func.lower(sa.text("email"))),)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(sa.String(320), unique=True)
    user: Mapped[User] = relationship(back_populates="aliases")


class Company(IdMixin, TimestampMixin, Base):
    """A CRM company (a customer or prospect), known by one or more domains."""

    __tablename__ = "companies"
    __table_args__ = (sa.UniqueConstraint("organization_id", "external_id"),)
    #: the organization whose CRM holds the row (None: created by an engine before one owned it)
    organization_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    #: the host CRM's id, unique per organization
    external_id: Mapped[str | None] = mapped_column(sa.String(255))
    name: Mapped[str] = mapped_column(sa.String(200))
    domains: Mapped[list["CompanyDomain"]] = relationship(
        back_populates="company", cascade="all, delete-orphan"
    )
    contacts: Mapped[list["Contact"]] = relationship(back_populates="company")


class CompanyDomain(IdMixin, Base):
    __tablename__ = "company_domains"
    __table_args__ = (sa.Index("ix_company_domains_lower_domain", sa.func.lower(sa.text("domain"))),)
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    domain: Mapped[str] = mapped_column(sa.String(255), unique=True)
    company: Mapped[Company] = relationship(back_populates="domains")


class Contact(IdMixin, TimestampMixin, Base):
    """A CRM contact or lead, known by one or more addresses."""

    __tablename__ = "contacts"
    __table_args__ = (sa.UniqueConstraint("organization_id", "external_id"),)
    #: the organization whose CRM holds the row (None: created by an engine before one owned it)
    organization_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    #: the host CRM's id, unique per organization
    external_id: Mapped[str | None] = mapped_column(sa.String(255))
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    company_id: Mapped[int | None] = mapped_column(sa.ForeignKey("companies.id", ondelete="SET NULL"), index=True)
    owner_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    is_lead: Mapped[bool] = mapped_column(default=False)
    #: where the contact came from: "crm", "bcc", "booking", "calendar"
    source: Mapped[str] = mapped_column(sa.String(32), default="crm")
    #: mail with this contact syncs automatically from now on (set by the BCC logging address)
    auto_sync_since: Mapped[datetime | None] = mapped_column()

    company: Mapped[Company | None] = relationship(back_populates="contacts")
    addresses: Mapped[list["ContactAddress"]] = relationship(
        back_populates="contact", cascade="all, delete-orphan"
    )


class ContactAddress(IdMixin, Base):
    __tablename__ = "contact_addresses"
    # lookups compare lower-cased addresses (matching, bulk imports): an index on exactly that expression
    __table_args__ = (sa.Index("ix_contact_addresses_lower_email", sa.func.lower(sa.text("email"))),)
    contact_id: Mapped[int] = mapped_column(sa.ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(sa.String(320), unique=True)
    contact: Mapped[Contact] = relationship(back_populates="addresses")


class OpportunityContact(Base):
    """A contact taking part in an opportunity (an opportunity has several; a contact may be in several)."""

    __tablename__ = "opportunity_contacts"
    opportunity_id: Mapped[int] = mapped_column(sa.ForeignKey("opportunities.id", ondelete="CASCADE"),
                                                primary_key=True)
    #: deleting a contact takes it off its opportunities; the opportunities stay
    contact_id: Mapped[int] = mapped_column(sa.ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True,
                                            index=True)


class Opportunity(IdMixin, TimestampMixin, Base):
    __tablename__ = "opportunities"
    __table_args__ = (sa.UniqueConstraint("organization_id", "external_id"),)
    #: the organization whose CRM holds the row (None: created by an engine before one owned it)
    organization_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    #: the host CRM's id, unique per organization
    external_id: Mapped[str | None] = mapped_column(sa.String(255))
    name: Mapped[str] = mapped_column(sa.String(200))
    company_id: Mapped[int | None] = mapped_column(sa.ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    stage: Mapped[str] = mapped_column(sa.String(64), default="")
    is_open: Mapped[bool] = mapped_column(default=True)
    closed_at: Mapped[datetime | None] = mapped_column()
    #: the contacts taking part (mail with any of them is logged on the opportunity)
    contacts: Mapped[list[Contact]] = relationship(secondary="opportunity_contacts", order_by="Contact.id",
                                                   passive_deletes=True)
