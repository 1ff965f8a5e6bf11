"""The tour: every page, for every role, in headless Chromium — a screenshot of each in
``test-artifacts/screenshots/tour/`` — and not one 4xx/5xx answer or console error on the way
(scripts, styles, the favicon, the pages' own background requests included)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hub.models import Company, Contact, ContactAddress, MeetingType, Role, User
from hub.permissions import can
from tests.web.browser.conftest import shot, sign_in
from tests.web.browser.test_calendars_and_mail import connect_memory
from tests.web.conftest import ALICE, PASSWORD

pytestmark = pytest.mark.browser

#: every page a person opens, as (endpoint, URL template); {placeholders} come from the tour's data
PAGES = [
    ("integrations.index", "/"),
    ("connect.form", "/connect/memory"),
    ("calendars.index", "/calendars/"),
    ("mail.index", "/mail/"),
    ("meetings.index", "/meetings/"),
    ("meetings.new", "/meetings/new"),
    ("meetings.edit", "/meetings/{type}/edit"),
    ("availability.week", "/availability/"),
    ("contacts.index", "/contacts"),
    ("contacts.contact", "/contacts/{contact}"),
    ("contacts.company", "/companies/{company}"),
    ("settings.index", "/settings/"),
    ("admin.providers", "/admin/providers"),
    ("admin.users", "/admin/users"),
    ("admin.limits", "/admin/limits"),
    ("admin.health", "/admin/health"),
    ("booking.page", "/book/{slug}"),
]


@pytest.fixture
def tour_data(new_page, hub, people, background_worker):
    """Alice's connected account; a meeting type for everyone who may have one; a company and contact."""
    alice = new_page()
    sign_in(alice, ALICE, PASSWORD)
    connect_memory(alice)
    background_worker.wait_idle()
    alice.context.close()
    types = {}
    with hub.db.session(write_lock=True) as s:
        for user in s.scalars(select(User)):
            if can(user.role, "meetings"):
                mt = MeetingType(user_id=user.id, name="Intro call", slug=f"{user.email.split('@')[0]}-intro",
                                 is_primary=True, weekly_hours={"mon": [["09:00", "17:00"]]})
                s.add(mt)
                s.flush()
                types[user.email] = (mt.id, mt.slug)
        company = Company(name="Acme")
        contact = Contact(name="Maria", company=company, addresses=[ContactAddress(email="maria@acme.test")])
        s.add_all([company, contact])
        s.flush()
        return {"types": types, "contact": contact.id, "company": company.id}


def people_on_tour() -> list[tuple[str, Role]]:
    return [(f"{role.value}@corp.test", role) for role in Role] + [(ALICE, Role.SALESPERSON)]


def test_every_page_for_every_role_answers_cleanly(new_page, app, tour_data):
    problems: list[str] = []
    visited = 0
    for email, role in people_on_tour():
        page = new_page()
        where = {"url": ""}
        # the handlers fire later, maybe once the tour has moved on: they keep this person's email and page
        page.on("console", lambda msg, email=email, where=where: msg.type == "error" and problems.append(
            f"{email} {where['url']}: console error: {msg.text}"))
        page.on("pageerror", lambda exc, email=email, where=where: problems.append(
            f"{email} {where['url']}: script error: {exc}"))
        page.on("response", lambda r, email=email, where=where: r.status >= 400 and problems.append(
            f"{email} {where['url']}: {r.status} for {r.url}"))
        sign_in(page, email, PASSWORD)
        type_id, slug = tour_data["types"].get(email, (None, "alice-intro"))
        for endpoint, template in PAGES:
            access = app.view_functions[endpoint].access
            if hasattr(access, "value") and not can(role, access):
                continue  # not this role's page: the permission test checks the refusal
            if "{type}" in template and type_id is None:
                continue
            where["url"] = template.format(type=type_id, slug=slug, contact=tour_data["contact"],
                                           company=tour_data["company"])
            page.goto(where["url"])
            page.wait_for_load_state("networkidle")
            shot(page, f"tour/{role.value}-{email.split('@')[0]}-{endpoint}")
            visited += 1
        page.context.close()
    assert visited >= 90, visited
    assert not problems, "\n".join(problems)
