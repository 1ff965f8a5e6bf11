"""Contact and company pages: logged mail grouped by thread, meetings, and who may read which mail."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tests.web.conftest import ALICE, connect_memory, sign_in
from tests.web.mailboxes import add_maria, deliver_thread

BOB = "salesperson@corp.test"


@pytest.fixture
def logged(app, hub, people, memory, worker):
    """Maria wrote with Alice (a thread of three) and with Bob (a thread of two); both mailboxes synced."""
    contact_id, company_id = add_maria(hub)
    memory.add_account(BOB, "bob-pw")
    deliver_thread(memory, ALICE, "Renewal quote", turns=3)
    deliver_thread(memory, BOB, "Pilot results", turns=2)
    for email, password in ((ALICE, "mailbox-secret"), (BOB, "bob-pw")):
        client = app.test_client()
        sign_in(client, email)
        connect_memory(client, worker, email, password)
    return contact_id, company_id


def page_as(app, email: str, path: str) -> str:
    client = app.test_client()
    sign_in(client, email)
    response = client.get(path)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_a_contact_shows_their_mail_threaded(app, logged):
    contact_id, _ = logged
    html = page_as(app, ALICE, f"/contacts/{contact_id}")
    assert "Maria Lopez" in html and "maria@acme.test" in html
    assert html.count('<details class="thread"') == 1
    assert "3 messages" in html and "Renewal quote part 1" in html and "Renewal quote part 3" in html


@pytest.mark.parametrize("email, sees_alice, sees_bob", [
    (ALICE, True, False),                             # a salesperson: own mail only
    (BOB, False, True),
    ("junior_salesperson@corp.test", False, False),
    ("marketing_manager@corp.test", False, False),
    ("sales_manager@corp.test", True, True),          # team mail
    ("company_manager@corp.test", True, True),
    ("admin@corp.test", True, True),
])
def test_who_reads_which_mail(app, logged, email, sees_alice, sees_bob):
    contact_id, company_id = logged
    for path in (f"/contacts/{contact_id}", f"/companies/{company_id}"):
        html = page_as(app, email, path)
        assert ("Renewal quote" in html) is sees_alice, path
        assert ("Pilot results" in html) is sees_bob, path


def test_the_api_applies_the_same_rule(app, hub, logged, people):
    from hub.models import User
    from web.api import hash_token

    contact_id, _ = logged
    with hub.db.session() as s:
        s.get(User, people["alice"]).api_token_hash = hash_token("alice-token")
        s.get(User, people["sales_manager"]).api_token_hash = hash_token("manager-token")
    client = app.test_client()

    def subjects(token):
        threads = client.get(f"/api/v1/contacts/{contact_id}/messages", headers={"Authorization": f"Bearer {token}"}).json
        return sorted(t["subject"] for t in threads)

    assert subjects("alice-token") == ["Renewal quote"]
    assert subjects("manager-token") == ["Pilot results", "Renewal quote"]


def test_a_company_shows_its_contacts_activity_with_meetings(app, hub, logged, people):
    from hub.models import User
    from web.api import hash_token

    contact_id, company_id = logged
    with hub.db.session() as s:
        s.get(User, people["alice"]).api_token_hash = hash_token("alice-token")
    start = (datetime.now(timezone.utc) + timedelta(days=2)).replace(microsecond=0)
    created = app.test_client().post("/api/v1/meetings", headers={"Authorization": "Bearer alice-token"}, json={
        "title": "Contract review", "start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat(),
        "attendees": ["maria@acme.test"]})
    assert created.status_code == 201, created.json
    html = page_as(app, ALICE, f"/companies/{company_id}")
    assert "Acme" in html and "acme.test" in html and f'href="/contacts/{contact_id}"' in html
    assert "Contract review" in html and "1 meeting" in html
    assert "Contract review" in page_as(app, ALICE, f"/contacts/{contact_id}")


def test_contact_search(app, logged):
    assert "Maria Lopez" in page_as(app, ALICE, "/contacts?q=acme.test")
    assert "Maria Lopez" not in page_as(app, ALICE, "/contacts?q=nobody")


def test_unknown_contact_and_company(app, people):
    client = app.test_client()
    sign_in(client, ALICE)
    assert client.get("/contacts/999").status_code == 404
    assert client.get("/companies/999").status_code == 404
