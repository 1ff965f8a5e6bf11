"""Fixtures of the security regression tests: the web tests' hub (memory provider, one user per role)
served over real HTTP, a booking page, and signing in over HTTP.

Each test reproduces one finding of the outside review through the running app; see docs/security.md.
"""

from __future__ import annotations

import re

import pytest
import requests

from tests.sync.caldav_truth import caldav
from tests.web.conftest import (
    ALICE,
    PASSWORD,
    add_user,
    app,
    connect_memory,
    hub_plugins,
    memory,
    org,
    people,
    sign_in,
)

#: the web tests' fixtures (and add_user, which test_tenancy takes from here), shared with the tests here;
#: ``caldav`` (a host with a Radicale calendar, tests/sync/caldav_truth.py) for test_hostile_recurrence
__all__ = ["add_user", "app", "caldav", "hub_plugins", "memory", "org", "people"]

ALL_DAY = {f"hours_{d}": "00:00-24:00" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
SLUG = "alice-intro"


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/security/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.security)


@pytest.fixture
def bookable(app, people, worker):
    """Alice's memory account connected, with a meeting type open around the clock; returns the slug."""
    client = app.test_client()
    sign_in(client, ALICE)
    connect_memory(client, worker)
    data = {"name": "Intro call", "slug": SLUG, "duration_minutes": "30", "timezone": "UTC",
            "min_notice_minutes": "60", "horizon_days": "14", "slot_step_minutes": "30", "want_video": "1", **ALL_DAY}
    assert client.post("/meetings/new", data=data).status_code == 302
    return SLUG


def slots_on(html: str) -> list[str]:
    return re.findall(r'data-slot="([^"]+)"', html)


def http_session(live_url: str, email: str | None = None, password: str = PASSWORD,
                 remember: bool = False) -> requests.Session:
    """A ``requests`` session, signed in through the login form over HTTP when ``email`` is given."""
    session = requests.Session()
    if email is not None:
        data = {"email": email, "password": password}
        if remember:
            data["remember"] = "1"
        response = session.post(f"{live_url}/login", data=data, allow_redirects=False, timeout=30)
        assert response.status_code == 302, response.text[:300]
    return session
