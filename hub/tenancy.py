"""Tenancy: which contacts, companies, mail and meetings a user may see — decided here and nowhere else.

Every view and API call that reads CRM people or their activity goes through these helpers:

* colleagues are the users of the viewer's organization (users without one are each other's);
* a contact belongs to the organizations whose users worked with it — they own it, logged mail with
  it, have a meeting or a booking with it. A contact nobody has worked with yet (imported from the
  CRM) belongs to the whole installation. A company is visible when one of its contacts is, or when
  it has no contacts yet;
* logged mail: one's own, and the organization's with ``team_mail`` (:func:`hub.permissions.may_read_mail_of`);
* meetings: none without ``meetings``; one's own; the organization's with ``team_mail`` (the roles
  that oversee colleagues' work). Video links travel with the meeting, so they follow the same rule.

Public API: :func:`colleague_ids`, :func:`mail_owner_ids`, :func:`meeting_owner_ids`,
:func:`visible_contacts`, :func:`visible_companies`, :func:`contact_or_none`, :func:`company_or_none`.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute, Session

from hub.models import Booking, Company, Contact, Meeting, MeetingParticipant, TimelineEntry, User
from hub.permissions import Permission, can


def colleague_ids(viewer) -> sa.Select:
    """The ids of the users in ``viewer``'s organization (the viewer included), as a subquery."""
    org = User.organization_id
    same = org.is_(None) if viewer.organization_id is None else org == viewer.organization_id
    return sa.select(User.id).where(same)


def _owner_ids(s: Session, viewer, team: bool) -> list[int]:
    if not team:
        return [viewer.id]
    return list(s.scalars(colleague_ids(viewer))) or [viewer.id]


def mail_owner_ids(s: Session, viewer) -> list[int]:
    """The users whose logged mail ``viewer`` may read."""
    return _owner_ids(s, viewer, can(viewer.role, Permission.TEAM_MAIL))


def meeting_owner_ids(s: Session, viewer) -> list[int]:
    """The users whose meetings ``viewer`` may see on timelines (empty: none at all)."""
    if not can(viewer.role, Permission.MEETINGS):
        return []
    return _owner_ids(s, viewer, can(viewer.role, Permission.TEAM_MAIL))


def _worked_with(users: sa.Select | None) -> sa.ColumnElement[bool]:
    """Contacts that ``users`` (None: anyone) own or have logged mail, meetings or bookings with."""

    def by(column):
        return sa.true() if users is None else column.in_(users)

    owned = sa.and_(Contact.owner_user_id.is_not(None), by(Contact.owner_user_id))
    mail = sa.exists().where(TimelineEntry.contact_id == Contact.id, TimelineEntry.user_id.is_not(None),
                             by(TimelineEntry.user_id))
    meeting = sa.exists().where(MeetingParticipant.contact_id == Contact.id,
                                MeetingParticipant.meeting_id == Meeting.id, by(Meeting.owner_user_id))
    booking = sa.exists().where(Booking.contact_id == Contact.id, by(Booking.host_user_id))
    return sa.or_(owned, mail, meeting, booking)


def _own_organization(column: InstrumentedAttribute[int | None], viewer) -> sa.ColumnElement[bool]:
    return sa.false() if viewer.organization_id is None else column == viewer.organization_id


def visible_contacts(viewer) -> sa.ColumnElement[bool]:
    """A WHERE clause on :class:`Contact`: the contacts of ``viewer``'s organization, and unclaimed ones.

    A contact the host CRM filed under an organization belongs to it alone; one without (made by BCC
    logging or a sync before the CRM said) belongs to whoever worked with it, else to everyone."""
    inferred = sa.or_(_worked_with(colleague_ids(viewer)), sa.not_(_worked_with(None)))
    return sa.or_(_own_organization(Contact.organization_id, viewer),
                  sa.and_(Contact.organization_id.is_(None), inferred))


def visible_companies(viewer) -> sa.ColumnElement[bool]:
    """A WHERE clause on :class:`Company`: the organization's own companies, and among the others those with a
    visible contact, or with no contacts yet."""
    mine = sa.select(Contact.company_id).where(Contact.company_id.is_not(None), visible_contacts(viewer))
    anyone = sa.select(Contact.company_id).where(Contact.company_id.is_not(None))
    inferred = sa.or_(Company.id.in_(mine), Company.id.not_in(anyone))
    return sa.or_(_own_organization(Company.organization_id, viewer),
                  sa.and_(Company.organization_id.is_(None), inferred))


def contact_or_none(s: Session, viewer, contact_id: int, *options) -> Contact | None:
    """The contact when ``viewer`` may see it (None for a missing one and another organization's alike)."""
    return s.scalar(sa.select(Contact).options(*options).where(Contact.id == contact_id, visible_contacts(viewer)))


def company_or_none(s: Session, viewer, company_id: int, *options) -> Company | None:
    return s.scalar(sa.select(Company).options(*options).where(Company.id == company_id, visible_companies(viewer)))
