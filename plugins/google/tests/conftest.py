"""Fixtures of the Google plugin's tests.

Every test that runs the sandbox has its JSON responses recorded and checked against Google's
discovery documents at the end: whatever the plugin is tested with is the real contract's shape.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from hub_google.sandbox.discovery_check import Discovery

from hub.types import AccountHandle, ProviderContext

from hub_google import hooks
from hub_google.testing import SANDBOX_USER, approve

_discovery = Discovery()


@pytest.fixture(autouse=True)
def _sandbox_responses_match_discovery(request):
    """Record the sandbox's responses during the test and validate each one afterwards."""
    if "google_sandbox" not in request.fixturenames:
        yield
        return
    sandbox = request.getfixturevalue("google_sandbox")
    sandbox.state.record_responses = True
    yield
    assert not sandbox.state.crashes, "the sandbox crashed:\n" + "\n".join(sandbox.state.crashes)
    problems = [p for method_id, _, body in sandbox.state.responses for p in _discovery.validate(method_id, body)]
    assert not problems, "sandbox responses that break the discovery documents:\n" + "\n".join(problems[:20])


@pytest.fixture
def discovery() -> Discovery:
    return _discovery


@pytest.fixture
def google_context(google_sandbox, google_webhook_receiver) -> ProviderContext:
    """A provider context pointing the plugin at the sandbox; the receiver stands in for the hub's URL."""
    return ProviderContext(name="google", config=google_sandbox.provider_config(), base_url=google_webhook_receiver.url,
                           allow_private_hosts=True)


@pytest.fixture
def saved() -> list[dict]:
    """What the plugin saved back through ``save_credentials`` (a refreshed token), in order."""
    return []


@pytest.fixture
def google_account(google_context, saved) -> AccountHandle:
    """A connected Google account (through the consent page, the token endpoint and userinfo)."""
    from hub.oauth import start as oauth_start

    begin = oauth_start(f"{google_context.base_url}/integrations/google/callback")
    url = hooks.hub_authorization_url(context=google_context, start=begin)
    query = approve(url, SANDBOX_USER)
    result = hooks.hub_connect(context=google_context, params={
        "code": query["code"], "code_verifier": begin.code_verifier, "redirect_uri": begin.redirect_uri})
    return AccountHandle(id=7, provider="google", email=result.email, credentials=dict(result.credentials),
                         settings=dict(result.settings), context=google_context,
                         save_credentials=lambda creds: saved.append(dict(creds)))


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)
