"""Signing in and out: wrong passwords, rate limiting in Redis, safe redirects, cookie flags."""

from __future__ import annotations

import pytest

from tests.web.conftest import ALICE, PASSWORD, sign_in
from web.login_throttle import PER_ACCOUNT, LoginThrottle


def attempt(client, email=ALICE, password="wrong", ip="10.0.0.1"):
    return client.post("/login", data={"email": email, "password": password},
                       environ_base={"REMOTE_ADDR": ip})


def test_sign_in_and_out(client, people):
    assert "/login" in client.get("/").headers["Location"]
    response = attempt(client, password=PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    client.post("/logout")
    assert "/login" in client.get("/").headers["Location"]


def test_a_wrong_password_says_so_without_telling_which_part_was_wrong(client, people):
    wrong_password = attempt(client)
    unknown_user = attempt(client, email="nobody@corp.test")
    assert wrong_password.status_code == unknown_user.status_code == 401
    for response in (wrong_password, unknown_user):
        assert "Wrong email or password." in response.get_data(as_text=True)


def test_an_inactive_user_cannot_sign_in(client, hub, people):
    from hub.models import User

    with hub.db.session() as s:
        s.get(User, people["alice"]).active = False
    assert attempt(client, password=PASSWORD).status_code == 401


def test_after_five_failures_the_address_is_paused_for_that_client(client, hub, people):
    for _ in range(PER_ACCOUNT):
        assert attempt(client).status_code == 401
    blocked = attempt(client, password=PASSWORD)
    assert blocked.status_code == 429
    assert "Too many failed sign-ins" in blocked.get_data(as_text=True)
    # another client, or another address from this client, is not affected
    assert attempt(client, password=PASSWORD, ip="10.0.0.2").status_code == 302
    assert attempt(client, email="salesperson@corp.test", password=PASSWORD).status_code == 302
    # the pause expires with the window (here: forced by the counter's TTL)
    keys = hub.queues.connection.keys("hub:login-fail:10.0.0.1:*")
    assert keys and all(0 < hub.queues.connection.ttl(k) <= 15 * 60 for k in keys)
    for key in keys:
        hub.queues.connection.delete(key)
    assert attempt(client, password=PASSWORD).status_code == 302


def test_a_good_password_clears_the_failures(client, hub, people):
    for _ in range(PER_ACCOUNT - 1):
        attempt(client)
    assert attempt(client, password=PASSWORD).status_code == 302
    client.post("/logout")
    for _ in range(PER_ACCOUNT - 1):
        assert attempt(client).status_code == 401  # counting starts again, so no pause yet


def test_spraying_many_addresses_from_one_client_is_paused_too(hub):
    throttle = LoginThrottle(hub.queues.connection, per_client=3)
    for n in range(3):
        throttle.failed("10.9.9.9", f"user{n}@corp.test")
    assert throttle.retry_after("10.9.9.9", "fresh@corp.test") is not None
    assert throttle.retry_after("10.9.9.8", "fresh@corp.test") is None


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)"])
def test_the_next_parameter_never_leaves_the_site(client, people, target):
    response = client.post(f"/login?next={target}", data={"email": ALICE, "password": PASSWORD})
    assert response.headers["Location"] == "/"


def test_next_inside_the_site_is_followed(client, people):
    response = client.post("/login?next=/calendars/", data={"email": ALICE, "password": PASSWORD})
    assert response.headers["Location"] == "/calendars/"


def _cookie(response, name: str) -> str:
    return next(h for h in response.headers.getlist("Set-Cookie") if h.startswith(name + "="))


def test_session_and_remember_cookies_are_http_only_and_same_site(client, people):
    response = client.post("/login", data={"email": ALICE, "password": PASSWORD, "remember": "1"})
    for name in ("session", "remember_token"):
        cookie = _cookie(response, name)
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie, cookie
        assert "Secure" not in cookie  # served over plain http here


class TestOverHttps:
    @pytest.fixture
    def hub_settings_overrides(self):
        return {"base_url": "https://hub.corp.test"}

    def test_cookies_are_secure_when_the_hub_is_served_over_https(self, client, people):
        response = client.post("/login", data={"email": ALICE, "password": PASSWORD, "remember": "1"})
        for name in ("session", "remember_token"):
            assert "Secure" in _cookie(response, name)


def test_security_headers(client):
    response = client.get("/login")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_sign_in_helper_works_for_every_role(client, people):
    from hub.models import Role

    for role in Role:
        sign_in(client, f"{role.value}@corp.test")
        client.post("/logout")
