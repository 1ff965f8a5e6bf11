"""Every page renders for a signed-in user, before and after an account is connected."""

from __future__ import annotations

import pytest

from tests.web.conftest import connect_memory

PAGES = ["/", "/calendars/", "/mail/", "/meetings/", "/meetings/new", "/contacts", "/settings/", "/connect/memory"]


@pytest.mark.parametrize("path", PAGES)
def test_page_renders_without_accounts(alice, path):
    response = alice.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    assert "<h1>" in response.get_data(as_text=True)


def test_pages_render_after_connecting(alice, worker):
    connect_memory(alice, worker)
    for path in PAGES:
        response = alice.get(path)
        assert response.status_code == 200, (path, response.get_data(as_text=True)[:2000])
