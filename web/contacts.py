"""Contacts and companies with their timelines: logged mail (threaded) and meetings.

What a user sees is scoped by :mod:`hub.tenancy`: another organization's contact answers 404.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from hub import tenancy
from hub.core import current_hub
from hub.models import Company, Contact, ContactAddress, MeetingParticipant
from hub.permissions import Permission
from web.access import actor, requires
from web.activity import mail_threads, meetings_with, visible_meetings

bp = Blueprint("contacts", __name__)

PAGE_SIZE = 100


def search_contacts(s, viewer, query: str, limit: int = PAGE_SIZE) -> list[Contact]:
    """Contacts ``viewer`` may see whose name or any address contains ``query`` (all when empty), by name."""
    stmt = select(Contact).options(selectinload(Contact.addresses), selectinload(Contact.company)).where(
        tenancy.visible_contacts(viewer))
    if query:
        like = f"%{query.lower()}%"
        by_address = select(ContactAddress.contact_id).where(func.lower(ContactAddress.email).like(like))
        stmt = stmt.where(or_(func.lower(Contact.name).like(like), Contact.id.in_(by_address)))
    return list(s.scalars(stmt.order_by(Contact.name, Contact.id).limit(limit)))


@bp.route("/contacts")
@requires(Permission.CONTACTS)
def index():
    query = request.args.get("q", "").strip()
    viewer = actor()
    with current_hub().db.session() as s:
        contacts = search_contacts(s, viewer, query)
        companies = list(s.scalars(select(Company).options(selectinload(Company.domains)).where(
            tenancy.visible_companies(viewer)).order_by(Company.name).limit(PAGE_SIZE)))
        return render_template("contacts.html", contacts=contacts, companies=companies, query=query)


@bp.route("/contacts/<int:contact_id>")
@requires(Permission.CONTACTS)
def contact(contact_id: int):
    viewer = actor()
    with current_hub().db.session() as s:
        person = tenancy.contact_or_none(s, viewer, contact_id, selectinload(Contact.addresses),
                                         selectinload(Contact.company))
        if person is None:
            abort(404)
        threads = mail_threads(s, viewer, contact_id=contact_id)
        meetings = meetings_with(s, viewer, [contact_id])
        return render_template("contact.html", contact=person, threads=threads, meetings=meetings)


@bp.route("/companies/<int:company_id>")
@requires(Permission.CONTACTS)
def company(company_id: int):
    """A company's page: its contacts and all their activity (the company's timeline)."""
    viewer = actor()
    with current_hub().db.session() as s:
        org = tenancy.company_or_none(s, viewer, company_id, selectinload(Company.domains))
        if org is None:
            abort(404)
        people = list(s.scalars(select(Contact).options(selectinload(Contact.addresses)).where(
            Contact.company_id == company_id, tenancy.visible_contacts(viewer)).order_by(Contact.name)))
        threads = mail_threads(s, viewer, company_id=company_id)
        meetings = meetings_with(s, viewer, [p.id for p in people], company_id=company_id)
        counts = dict(s.execute(select(MeetingParticipant.contact_id, func.count()).join(
            MeetingParticipant.meeting).where(
            MeetingParticipant.contact_id.in_([p.id for p in people]), visible_meetings(s, viewer)).group_by(
            MeetingParticipant.contact_id)).all())
        return render_template("company.html", company=org, people=people, threads=threads, meetings=meetings,
                               meeting_counts=counts)
