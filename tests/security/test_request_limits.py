"""Finding 3: no request size limit.

A chunked 400 MB POST to a webhook URL grew the web process by 820 MB; a 100,000-deep JSON array
gave a RecursionError 500. Now every body is capped (``HUB_MAX_REQUEST_BYTES``), webhook bodies
more tightly, and JSON nesting is limited — each a clean 413 or 400.
"""

from __future__ import annotations

import requests
from sqlalchemy import func, select

from hub.models import Account, AccountError
from web.webhooks import MAX_BODY_BYTES


def _account_id(hub) -> int:
    with hub.db.session() as s:
        return s.scalar(select(Account.id))


def test_a_body_over_the_limit_gets_413_before_it_is_read(bookable, live_url):
    response = requests.post(f"{live_url}/api/v1/bookings", timeout=60, json={
        "slug": bookable, "start": "2030-01-01T10:00:00Z", "guest_name": "x" * (3 * 1024 * 1024),
        "guest_email": "eve@evil.example"})
    assert response.status_code == 413
    assert response.json()["error"] == "UserError"


def test_a_chunked_webhook_body_is_cut_off_at_the_webhook_cap(bookable, hub, live_url):
    sent = 0

    def chunks():  # no Content-Length: the server only learns the size while reading
        nonlocal sent
        for _ in range(64):
            sent += 16 * 1024
            yield b"x" * (16 * 1024)

    response = requests.post(f"{live_url}/webhooks/memory/{_account_id(hub)}", data=chunks(), timeout=60)
    assert response.status_code == 413
    assert sent > MAX_BODY_BYTES
    with hub.db.session() as s:
        assert s.scalar(select(func.count()).select_from(AccountError)) == 0


def test_deeply_nested_json_is_a_400_not_a_500(bookable, live_url):
    body = "[" * 100_000 + "]" * 100_000
    response = requests.post(f"{live_url}/api/v1/bookings", data=body, timeout=60,
                             headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "nests too deeply" in response.json()["message"]


def test_json_nested_past_the_depth_limit_but_parseable_is_refused_too(bookable, live_url):
    body = '{"slug": ' + "[" * 200 + "]" * 200 + "}"
    response = requests.post(f"{live_url}/api/v1/bookings", data=body, timeout=60,
                             headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and "nests too deeply" in response.json()["message"]
