"""Fixtures for the web tests: a MemoryProvider-backed hub, one user per role, signing in.

The core's ``hub``/``app``/``client``/``worker`` fixtures come from ``hub.testing`` (pytest11). Here
the app runs with CSRF checks off, so tests post forms without scraping tokens — except the CSRF
tests, which turn them back on. ``bookable`` is Alice connected with an always-open meeting type
(``new_type`` posts that form). Browser-test fixtures live in ``tests/web/browser/conftest.py``.
"""

from __future__ import annotations

import re

import pytest
from werkzeug.security import generate_password_hash

from hub.models import Organization, OrganizationDomain, Plan, Role, User
from hub.testing.memory import MemoryProvider
from hub.testing.memory_backend import MemoryBackend

PASSWORD = "correct horse"
ALICE = "alice@corp.test"
ALICE_MAILBOX_PASSWORD = "mailbox-secret"


@pytest.fixture
def memory() -> MemoryBackend:
    """The memory provider's "servers": Alice's account with a primary and a team calendar."""
    backend = MemoryBackend()
    account = backend.add_account(ALICE, ALICE_MAILBOX_PASSWORD, "Alice", calendars=("primary",))
    backend.add_calendar(account, "team", "Team calendar")
    backend.add_calendar(account, "holidays", "Holidays", access_role="reader")
    return backend


@pytest.fixture
def hub_plugins(memory):
    return [("memory", MemoryProvider(memory))]


@pytest.fixture
def app(app):
    app.config["WTF_CSRF_ENABLED"] = False
    return app


@pytest.fixture
def org(hub) -> int:
    """The company running the CRM (domain corp.test) and the free plan (100 emails a day)."""
    with hub.db.session() as s:
        organization = Organization(name="Corp", domains=[OrganizationDomain(domain="corp.test")])
        s.add_all([organization, Plan(name="free", daily_mail_cap=100)])
        s.flush()
        return organization.id


def add_user(hub, email: str, role: Role, org_id: int | None, password: str = PASSWORD) -> int:
    with hub.db.session() as s:
        plan = s.query(Plan).filter_by(name="free").one_or_none()
        user = User(email=email, name=email.split("@")[0].replace(".", " ").title(), role=role,
                    password_hash=generate_password_hash(password, method="pbkdf2:sha256:1000"), organization_id=org_id,
                    plan_id=plan.id if plan else None)
        s.add(user)
        s.flush()
        return user.id


@pytest.fixture
def people(hub, org) -> dict[Role, int]:
    """One user of every role at corp.test, e.g. ``salesperson@corp.test``; Alice is a salesperson too."""
    ids = {role: add_user(hub, f"{role.value}@corp.test", role, org) for role in Role}
    ids["alice"] = add_user(hub, ALICE, Role.SALESPERSON, org)
    return ids


def sign_in(client, email: str, password: str = PASSWORD):
    """Sign ``client`` in through the login form; returns the response."""
    response = client.post("/login", data={"email": email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response


@pytest.fixture
def alice(client, people):
    """A test client signed in as Alice (salesperson)."""
    sign_in(client, ALICE)
    return client


def csrf_from(html: str) -> str:
    """The CSRF token of the first form in a page."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def connect_memory(client, worker, email: str = ALICE, password: str = ALICE_MAILBOX_PASSWORD) -> None:
    """Connect the memory account through the form and run the initial sync."""
    response = client.post("/connect/memory", data={"email": email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    worker.drain()


ALL_DAY = {f"hours_{d}": "00:00-24:00" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def new_type(client, **fields):
    """Post the meeting-type form: an always-open 30-minute "alice-intro" unless ``fields`` say otherwise."""
    data = {"name": "Intro call", "slug": "alice-intro", "duration_minutes": "30", "timezone": "UTC",
            "min_notice_minutes": "60", "horizon_days": "14", "slot_step_minutes": "30", "want_video": "1",
            **ALL_DAY, **fields}
    return client.post("/meetings/new", data=data)


@pytest.fixture
def bookable(alice, worker):
    """Alice connected (her primary calendar is the default) with an always-open meeting type."""
    connect_memory(alice, worker)
    assert new_type(alice).status_code == 302
    return alice
