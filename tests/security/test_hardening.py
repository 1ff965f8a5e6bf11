"""Finding 9: hardening — a Content-Security-Policy without inline script, the usual headers, and
video links accepted only as https from every provider."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
import requests

from hub.crm.meetings import add_meeting
from tests.security.conftest import ALICE, http_session
from tests.web.mailboxes import add_maria


@pytest.mark.parametrize("path", ["/login", "/book/alice-intro", "/api/v1/openapi.json"])
def test_every_answer_carries_a_csp_without_inline_script_and_the_usual_headers(bookable, live_url, path):
    response = requests.get(live_url + path, timeout=30)
    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    script = re.search(r"script-src ([^;]+)", csp).group(1)
    assert script.strip() == "'self'"
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"


@pytest.mark.parametrize("path", ["/meetings/", "/mail/", "/settings/", "/contacts", "/"])
def test_no_page_needs_inline_script(bookable, live_url, path):
    html = http_session(live_url, ALICE).get(live_url + path, timeout=30).text
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "inline <script>"
    assert not re.search(r"\son[a-z]+\s*=", html), "inline event handler"
    assert "javascript:" not in html


@pytest.mark.parametrize("link, shown", [
    ("https://meet.example/abc-defg-hij", True),
    ("http://meet.example/plain", False),
    ("javascript:alert(document.cookie)", False),
    ("data:text/html,<script>alert(1)</script>", False),
    ("https:///no-host", False),
])
def test_only_https_video_links_reach_a_page(hub, people, live_url, link, shown):
    maria, _ = add_maria(hub)
    start = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=1)
    with hub.db.session() as s:
        meeting = add_meeting(s, people["alice"], "Kick-off", start, start + timedelta(hours=1),
                              attendees=["maria@acme.test"])
        meeting.video_url = link  # as a provider's pull or push result sets it
    html = http_session(live_url, ALICE).get(f"{live_url}/contacts/{maria}", timeout=30).text
    assert "Kick-off" in html
    assert (f'href="{link}"' in html) is shown
    assert ("Join</a>" in html) is shown
