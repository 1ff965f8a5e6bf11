"""Finding 6: sessions could not be revoked.

The remember-me cookie was the same on every sign-in (``<id>|HMAC(<id>)``), had no server-side
expiry and kept working after sign-out; the session cookie kept working after sign-out for up to
12 hours. Now each sign-in has a random token kept hashed on the server and checked on every request.
"""

from __future__ import annotations

from datetime import timedelta

import requests
from werkzeug.security import generate_password_hash

from hub.models import SignInSession, User, utcnow
from tests.security.conftest import ALICE, http_session

PRIVATE = "/settings/"


def signed_in(live_url: str, cookies) -> bool:
    """Does a request with exactly ``cookies`` reach a page that needs a sign-in?"""
    response = requests.get(live_url + PRIVATE, cookies=cookies, allow_redirects=False, timeout=30)
    assert response.status_code in (200, 302), response.status_code
    return response.status_code == 200


def test_the_remember_me_cookie_differs_on_every_sign_in(people, live_url):
    first = http_session(live_url, ALICE, remember=True).cookies["remember_token"]
    second = http_session(live_url, ALICE, remember=True).cookies["remember_token"]
    assert first != second
    assert not first.startswith(f"{people['alice']}|")


def test_sign_out_ends_the_session_and_remember_me_cookies_copied_elsewhere(people, live_url):
    browser = http_session(live_url, ALICE, remember=True)
    session_cookie = {"session": browser.cookies["session"]}
    remember_cookie = {"remember_token": browser.cookies["remember_token"]}
    assert signed_in(live_url, session_cookie) and signed_in(live_url, remember_cookie)
    assert browser.post(f"{live_url}/logout", allow_redirects=False, timeout=30).status_code == 302
    assert not signed_in(live_url, session_cookie)
    assert not signed_in(live_url, remember_cookie)


def test_sign_out_everywhere_ends_every_other_browser(people, live_url):
    laptop, phone = http_session(live_url, ALICE), http_session(live_url, ALICE, remember=True)
    other_user = http_session(live_url, "salesperson@corp.test")
    assert "Sign out everywhere" in laptop.get(live_url + PRIVATE, timeout=30).text
    assert laptop.post(f"{live_url}/sign-out-everywhere", allow_redirects=False, timeout=30).status_code == 302
    assert not signed_in(live_url, laptop.cookies)
    assert not signed_in(live_url, {"session": phone.cookies["session"]})
    assert not signed_in(live_url, {"remember_token": phone.cookies["remember_token"]})
    assert signed_in(live_url, other_user.cookies)


def test_a_role_change_by_an_administrator_ends_the_users_sign_ins(people, live_url):
    alice = http_session(live_url, ALICE, remember=True)
    admin = http_session(live_url, "admin@corp.test")
    response = admin.post(f"{live_url}/admin/users/{people['alice']}", allow_redirects=False, timeout=30,
                          data={"role": "junior_salesperson", "active": "1"})
    assert response.status_code == 302
    assert not signed_in(live_url, {"session": alice.cookies["session"]})
    assert not signed_in(live_url, {"remember_token": alice.cookies["remember_token"]})
    assert signed_in(live_url, admin.cookies)
    # saving the user again without a change leaves the fresh sign-in alone
    again = http_session(live_url, ALICE)
    admin.post(f"{live_url}/admin/users/{people['alice']}", data={"role": "junior_salesperson", "active": "1"},
               allow_redirects=False, timeout=30)
    assert signed_in(live_url, again.cookies)


def test_a_password_change_ends_the_users_sign_ins(hub, people, live_url):
    alice = http_session(live_url, ALICE, remember=True)
    with hub.db.session() as s:
        s.get(User, people["alice"]).password_hash = generate_password_hash("a new password")
    assert not signed_in(live_url, {"session": alice.cookies["session"]})
    assert not signed_in(live_url, {"remember_token": alice.cookies["remember_token"]})


def test_a_sign_in_expires_on_the_server(hub, people, live_url):
    alice = http_session(live_url, ALICE)
    assert signed_in(live_url, alice.cookies)
    with hub.db.session() as s:
        row = s.query(SignInSession).one()
        assert row.token_hash not in str(alice.cookies.get_dict())  # the cookie holds the token, the table its hash
        assert timedelta(hours=11) < row.expires_at - utcnow() <= timedelta(hours=12)
        row.expires_at = utcnow() - timedelta(seconds=1)
    assert not signed_in(live_url, alice.cookies)
