"""The Integrations page: connecting by form and by OAuth, statuses, reconnect, disconnect."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from hub.models import Account, AccountError, MeetingType, Organization
from hub.testing.memory import MemoryProvider
from tests.web.conftest import ALICE, ALICE_MAILBOX_PASSWORD, connect_memory


@pytest.fixture
def hub_plugins(memory):
    return [("memory", MemoryProvider(memory)),
            ("memoauth", MemoryProvider(memory, name="memoauth", connect_kind="oauth"))]


def account_rows(hub):
    with hub.db.session() as s:
        return [(a.email, a.provider, a.status.value) for a in s.scalars(select(Account).order_by(Account.id))]


def test_buttons_for_each_enabled_provider(alice):
    html = alice.get("/").get_data(as_text=True)
    assert 'href="/connect/memory"' in html  # a form provider
    assert 'action="/connect/memoauth/start"' in html and "Connect Memory (memoauth)" in html


def test_a_wrong_password_is_explained_and_nothing_is_stored(alice, hub):
    response = alice.post("/connect/memory", data={"email": ALICE, "password": "nope"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "is wrong" in html and "Check the email address and the password" in html
    assert 'value="nope"' not in html  # the password is not echoed back
    assert account_rows(hub) == []


def test_a_right_password_connects_and_shows_enabled_with_a_disconnect_button(alice, hub, worker):
    connect_memory(alice, worker)
    assert account_rows(hub) == [(ALICE, "memory", "enabled")]
    html = alice.get("/").get_data(as_text=True)
    assert 'data-status="enabled"' in html and 'data-action="disconnect"' in html
    assert "meeting types that book into this account" in html  # the confirmation explains consequences


def test_several_accounts_of_one_provider(alice, hub, worker, memory):
    memory.add_account("alice.private@corp.test", "pw2")
    connect_memory(alice, worker)
    connect_memory(alice, worker, "alice.private@corp.test", "pw2")
    assert [r[0] for r in account_rows(hub)] == [ALICE, "alice.private@corp.test"]
    assert alice.get("/").get_data(as_text=True).count('data-action="disconnect"') == 2


def test_oauth_connect_with_state_and_pkce(alice, hub, memory, worker):
    started = alice.post("/connect/memoauth/start")
    assert started.status_code == 302
    query = {k: v[0] for k, v in parse_qs(urlsplit(started.headers["Location"]).query).items()}
    assert query["code_challenge_method"] == "S256" and query["state"] and query["redirect_uri"].endswith(
        "/connect/memoauth/callback")
    code = memory.approve(ALICE, query["code_challenge"], query["redirect_uri"])  # the user consents
    back = alice.get(f"/connect/memoauth/callback?state={query['state']}&code={code}")
    assert back.status_code == 302
    assert account_rows(hub) == [(ALICE, "memoauth", "enabled")]


def test_oauth_callback_with_a_foreign_state_connects_nothing(alice, hub, memory):
    started = alice.post("/connect/memoauth/start")
    query = {k: v[0] for k, v in parse_qs(urlsplit(started.headers["Location"]).query).items()}
    code = memory.approve(ALICE, query["code_challenge"], query["redirect_uri"])
    back = alice.get(f"/connect/memoauth/callback?state=forged&code={code}", follow_redirects=True)
    assert "expired or was not started here" in back.get_data(as_text=True)
    assert account_rows(hub) == []


def test_oauth_denied_consent_says_so(alice, hub):
    started = alice.post("/connect/memoauth/start")
    state = parse_qs(urlsplit(started.headers["Location"]).query)["state"][0]
    back = alice.get(f"/connect/memoauth/callback?state={state}&error=access_denied", follow_redirects=True)
    assert "did not grant access (access_denied)" in back.get_data(as_text=True)


def test_revoked_access_shows_error_with_the_fix_and_reconnect_restores(alice, hub, worker, memory, people):
    connect_memory(alice, worker)
    with hub.db.session() as s:
        s.add(MeetingType(user_id=people["alice"], name="Intro", slug="intro", weekly_hours={"mon": [["09:00", "17:00"]]}))
    memory.revoke(ALICE)  # the user changed their password at the provider
    alice.post("/api/v1/accounts/1/check")
    worker.drain()
    html = alice.get("/").get_data(as_text=True)
    assert 'data-status="error"' in html and "Reconnect the account" in html and 'data-action="reconnect"' in html
    # reconnect: the form comes back with the address filled in, never the password
    to_form = alice.post("/connect/accounts/1/reconnect")
    assert to_form.headers["Location"].endswith("/connect/memory?account=1")
    form = alice.get(to_form.headers["Location"]).get_data(as_text=True)
    assert f'value="{ALICE}"' in form
    connect_memory(alice, worker, ALICE, ALICE_MAILBOX_PASSWORD)
    assert account_rows(hub) == [(ALICE, "memory", "enabled")]


def test_disconnect_deactivates_meeting_types_and_the_booking_link(alice, hub, worker, people, client):
    connect_memory(alice, worker)
    alice.post("/meetings/new", data={"name": "Intro call", "slug": "alice-intro", "duration_minutes": "30",
                                      "timezone": "UTC", "hours_mon": "09:00-17:00"})
    assert alice.get("/book/alice-intro").status_code == 200
    response = alice.post("/connect/accounts/1/disconnect", follow_redirects=True)
    assert "Meeting types that booked into it are inactive" in response.get_data(as_text=True)
    assert account_rows(hub) == [(ALICE, "memory", "disconnected")]
    with hub.db.session() as s:
        assert s.scalar(select(MeetingType.active)) is False
    page = alice.get("/book/alice-intro")
    assert page.status_code == 410 and "not active" in page.get_data(as_text=True)
    assert 'data-action="reconnect"' in alice.get("/").get_data(as_text=True)


def test_cannot_disconnect_someone_elses_account(app, alice, worker, people):
    from tests.web.conftest import sign_in

    connect_memory(alice, worker)
    other = app.test_client()
    sign_in(other, "salesperson@corp.test")
    assert other.post("/connect/accounts/1/disconnect").status_code == 404
    assert other.post("/connect/accounts/1/reconnect").status_code == 404


def test_over_the_company_mailbox_cap_the_account_waits_as_pending(alice, hub, worker, org):
    with hub.db.session() as s:
        s.get(Organization, org).mailbox_cap = 0
    connect_memory(alice, worker)
    html = alice.get("/").get_data(as_text=True)
    assert 'data-status="pending"' in html and "limit of synced mailboxes is reached" in html
    with hub.db.session() as s:
        assert s.scalar(select(func.count(AccountError.id))) == 0


def test_reconnecting_an_oauth_account_starts_its_sign_in_again(alice, hub, memory, worker):
    started = alice.post("/connect/memoauth/start")
    query = {k: v[0] for k, v in parse_qs(urlsplit(started.headers["Location"]).query).items()}
    code = memory.approve(ALICE, query["code_challenge"], query["redirect_uri"])
    alice.get(f"/connect/memoauth/callback?state={query['state']}&code={code}")
    again = alice.post("/connect/accounts/1/reconnect")
    assert again.status_code == 302
    fresh = {k: v[0] for k, v in parse_qs(urlsplit(again.headers["Location"]).query).items()}
    assert fresh["login_hint"] == ALICE and fresh["state"] != query["state"]
