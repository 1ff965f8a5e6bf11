"""Every form rejects a request without a CSRF token; the API asks for one only on session calls."""

from __future__ import annotations

import pytest

from tests.web.conftest import ALICE, PASSWORD, csrf_from
from tests.web.test_permissions import ROUTES

#: blueprints that do not take browser forms: token-authenticated API (which checks CSRF itself for
#: session calls, tested below) and provider webhooks (verified by the plugin)
NOT_FORMS = ("api.", "webhooks.")
#: the one form that takes no token, on purpose: the embedded booking page runs in a third-party frame,
#: where the browser sends no session cookie (SameSite), and the public form has no session to protect;
#: its rate limits still apply (docs/security.md, "Embedding")
WITHOUT_TOKEN = {("booking.embed", "POST")}


@pytest.fixture
def csrf_app(app):
    app.config["WTF_CSRF_ENABLED"] = True
    return app


def signed_in_with_csrf(app, email: str):
    client = app.test_client()
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    return client


def form_routes(app):
    for rule in app.url_map.iter_rules():
        for method in rule.methods & {"POST", "PUT", "PATCH", "DELETE"}:
            if not rule.endpoint.startswith(NOT_FORMS):
                yield rule.endpoint, method


def test_every_form_rejects_a_post_without_token(csrf_app, people):
    client = signed_in_with_csrf(csrf_app, "admin@corp.test")
    ids = {"account": 1, "calendar": 1, "type": 1, "slug": "x", "contact": 1, "company": 1, "org": 1,
           "alice": people["alice"]}
    routes = list(form_routes(csrf_app))
    assert len(routes) > 20
    assert WITHOUT_TOKEN <= set(routes)
    accepted = []
    for endpoint, method in routes:
        if (endpoint, method) in WITHOUT_TOKEN:
            continue
        url = ROUTES[(endpoint, method)].format(**ids)
        response = client.open(url, method=method, data={"name": "x"})
        if response.status_code != 400 or "did not come from this site" not in response.get_data(as_text=True):
            accepted.append((endpoint, response.status_code))
    assert not accepted


def test_the_sign_in_form_needs_its_token(csrf_app, people):
    client = csrf_app.test_client()
    assert client.post("/login", data={"email": ALICE, "password": PASSWORD}).status_code == 400
    token = csrf_from(client.get("/login").get_data(as_text=True))
    assert client.post("/login", data={"email": ALICE, "password": PASSWORD, "csrf_token": token}).status_code == 302


def test_a_form_with_its_token_goes_through(csrf_app, people):
    client = signed_in_with_csrf(csrf_app, ALICE)
    token = csrf_from(client.get("/settings/").get_data(as_text=True))
    response = client.post("/settings/", data={"timezone": "Europe/Berlin", "csrf_token": token})
    assert response.status_code == 302


def test_api_calls_with_the_session_need_the_csrf_header(csrf_app, people):
    client = signed_in_with_csrf(csrf_app, ALICE)
    assert client.get("/api/v1/me").status_code == 200  # reading needs no token
    assert client.post("/api/v1/sync").status_code == 400
    token = csrf_from(client.get("/").get_data(as_text=True))
    assert client.post("/api/v1/sync", headers={"X-CSRFToken": token}).status_code == 202


def test_api_calls_with_a_bearer_token_need_no_csrf(csrf_app, hub, people):
    from hub.models import User
    from web.api import hash_token

    with hub.db.session() as s:
        s.get(User, people["alice"]).api_token_hash = hash_token("tok")
    response = csrf_app.test_client().post("/api/v1/sync", headers={"Authorization": "Bearer tok"})
    assert response.status_code == 202
