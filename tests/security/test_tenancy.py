"""Finding 5: meetings and contacts leaked across roles and organizations.

A contact's or company's timeline showed every meeting with that contact — other users' meetings
and their video links — to a Jr. Salesperson, to a Marketing Manager (who may not see meetings at
all) and to another organization's user; contacts were visible across organizations. Each cell of
the matrix that matters is checked here over HTTP, on the pages and in the API.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import requests

from hub.crm import matching
from hub.crm.meetings import add_meeting
from hub.models import Contact, Organization, OrganizationDomain, Role, User
from tests.security.conftest import add_user, http_session
from tests.web.mailboxes import add_maria

ALICE_MEETING = ("Alice demo", "https://meet.example/alice-secret")
BOB_MEETING = ("Bob pricing", "https://meet.example/bob-secret")
MALLORY = "mallory@other.test"
BOB = "salesperson@corp.test"


@pytest.fixture
def world(hub, people):
    """Maria (Acme) met Alice and Bob of Corp; Mallory of another organization met Zed (Zeta)."""
    maria, acme = add_maria(hub)
    with hub.db.session() as s:
        other = Organization(name="Other", domains=[OrganizationDomain(domain="other.test")])
        s.add(other)
        s.flush()
        other_id = other.id
    mallory = add_user(hub, MALLORY, Role.SALES_MANAGER, other_id)
    start = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=2)
    with hub.db.session() as s:
        for owner, (title, link) in ((people["alice"], ALICE_MEETING), (people[Role.SALESPERSON], BOB_MEETING)):
            add_meeting(s, owner, title, start, start + timedelta(hours=1), attendees=["maria@acme.test"]).video_url = link
        zed = matching.ensure_contact(s, "zed@zeta.test", "Zed Zimmer", source="calendar")
        add_meeting(s, mallory, "Mallory secret deal", start, start + timedelta(hours=1),
                    attendees=["zed@zeta.test"]).video_url = "https://meet.example/mallory-secret"
        zeta = s.get(Contact, zed).company_id
    return {"maria": maria, "acme": acme, "zed": zed, "zeta": zeta}


# who sees which meetings with Maria: own meetings; the organization's with team_mail; none without meetings
MEETING_CELLS = [
    ("alice@corp.test", True, False),
    (BOB, False, True),
    ("junior_salesperson@corp.test", False, False),
    ("marketing_manager@corp.test", False, False),
    ("sales_manager@corp.test", True, True),
    ("company_manager@corp.test", True, True),
    ("admin@corp.test", True, True),
]


@pytest.mark.parametrize("email, sees_alice, sees_bob", MEETING_CELLS)
def test_timelines_show_only_the_meetings_the_role_may_see(world, live_url, email, sees_alice, sees_bob):
    browser = http_session(live_url, email)
    for path in (f"/contacts/{world['maria']}", f"/companies/{world['acme']}"):
        page = browser.get(live_url + path, timeout=30)
        assert page.status_code == 200
        for (title, link), sees in ((ALICE_MEETING, sees_alice), (BOB_MEETING, sees_bob)):
            assert (title in page.text) is sees, (path, title)
            assert (link in page.text) is sees, (path, link)
        assert "Mallory secret deal" not in page.text


@pytest.mark.parametrize("email", [e for e, *_ in MEETING_CELLS])
def test_another_organizations_contacts_are_invisible(world, live_url, email):
    browser = http_session(live_url, email)
    assert browser.get(f"{live_url}/contacts/{world['zed']}", timeout=30).status_code == 404
    assert browser.get(f"{live_url}/companies/{world['zeta']}", timeout=30).status_code == 404
    listing = browser.get(f"{live_url}/contacts?q=z", timeout=30).text
    assert "Zed Zimmer" not in listing and "zeta.test" not in listing


def test_the_other_organization_sees_its_own_and_not_ours(world, live_url):
    browser = http_session(live_url, MALLORY)
    assert browser.get(f"{live_url}/contacts/{world['maria']}", timeout=30).status_code == 404
    assert browser.get(f"{live_url}/companies/{world['acme']}", timeout=30).status_code == 404
    own = browser.get(f"{live_url}/contacts/{world['zed']}", timeout=30)
    assert own.status_code == 200 and "Mallory secret deal" in own.text
    listing = browser.get(f"{live_url}/contacts", timeout=30).text
    assert "Zed Zimmer" in listing and "Maria Lopez" not in listing and "Acme" not in listing


def test_the_api_applies_the_same_tenancy(world, hub, people, live_url):
    from web.access import hash_token

    with hub.db.session() as s:
        s.get(User, people["alice"]).api_token_hash = hash_token("alice-token")
    headers = {"Authorization": "Bearer alice-token"}
    assert requests.get(f"{live_url}/api/v1/contacts/{world['zed']}", headers=headers, timeout=30).status_code == 404
    assert requests.get(f"{live_url}/api/v1/contacts/{world['zed']}/messages", headers=headers,
                        timeout=30).status_code == 404
    names = [c["name"] for c in requests.get(f"{live_url}/api/v1/contacts", headers=headers, timeout=30).json()]
    assert "Maria Lopez" in names and "Zed Zimmer" not in names
