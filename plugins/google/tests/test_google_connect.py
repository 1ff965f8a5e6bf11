"""Connecting, registration, push channels and disconnecting, through the sandbox's real endpoints."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import parse_qs, urlsplit

import pytest

from hub import oauth
from hub.exceptions import AuthenticationFailed, ConfigError, WebhookRejected
from hub.plugins import PluginManager
from hub.types import ProviderContext, WebhookRequest

from hub_google import hooks
from hub_google.auth import SCOPES
from hub_google.provider import Endpoints
from hub_google.testing import SANDBOX_USER, approve


def begin(context: ProviderContext, **kwargs):
    start = oauth.start(f"{context.base_url}/integrations/google/callback", **kwargs)
    return start, hooks.hub_authorization_url(context=context, start=start)


def params(start, query: dict) -> dict:
    return {**query, "code_verifier": start.code_verifier, "redirect_uri": start.redirect_uri}


def test_registered_through_the_entry_point():
    pm = PluginManager()
    pm.load("google")
    info = pm.providers["google"]
    assert (info.label, info.connect_kind) == ("Google", "oauth")
    assert {f.name for f in info.config_schema if f.secret} == {"client_secret"}
    assert {"client_id", "client_secret", "auth_base", "token_url", "api_base"} <= {f.name for f in info.config_schema}


def test_default_endpoints_are_googles():
    endpoints = Endpoints.from_config({"client_id": "x"})
    assert endpoints.authorize_url == "https://accounts.google.com/o/oauth2/v2/auth"
    assert endpoints.token_url == "https://oauth2.googleapis.com/token"
    assert endpoints.revoke_url == "https://oauth2.googleapis.com/revoke"
    assert endpoints.calendar == "https://www.googleapis.com/calendar/v3"
    assert endpoints.gmail == "https://gmail.googleapis.com/gmail/v1/users/me"


def test_authorization_url_asks_for_offline_access_and_minimal_scopes(google_context):
    start, url = begin(google_context, login_hint=SANDBOX_USER)
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert url.startswith(google_context.config["auth_base"] + "/o/oauth2/v2/auth?")
    assert (query["access_type"], query["prompt"], query["response_type"]) == ("offline", "consent", "code")
    assert query["scope"].split() == SCOPES
    assert (query["code_challenge"], query["code_challenge_method"]) == (start.code_challenge, "S256")
    assert (query["state"], query["login_hint"]) == (start.state, SANDBOX_USER)


def test_connect_gives_the_address_and_a_refresh_token(google_context):
    start, url = begin(google_context)
    result = hooks.hub_connect(context=google_context, params=params(start, approve(url, SANDBOX_USER)))
    assert (result.email, result.display_name) == (SANDBOX_USER, "Alice Example")
    token = result.credentials["token"]
    assert token["refresh_token"] and token["access_token"] and token["expires_at"]
    assert SANDBOX_USER in repr(result) and token["refresh_token"] not in repr(result)


def test_partial_consent_is_refused_with_a_fix(google_context):
    start, url = begin(google_context)
    query = approve(url, SANDBOX_USER, decline_scopes=("https://www.googleapis.com/auth/gmail.send",))
    with pytest.raises(AuthenticationFailed) as caught:
        hooks.hub_connect(context=google_context, params=params(start, query))
    assert "sending Gmail" in caught.value.message and "ticked" in caught.value.fix


def test_declined_consent(google_context):
    start, url = begin(google_context)
    query = approve(url, SANDBOX_USER, decision="deny")
    assert query["error"] == "access_denied" and query["state"] == start.state
    with pytest.raises(AuthenticationFailed) as caught:
        hooks.hub_connect(context=google_context, params=params(start, query))
    assert "Allow" in caught.value.fix


@pytest.mark.parametrize("problem", ["wrong verifier", "code used twice", "other redirect"])
def test_bad_code_exchanges(google_context, problem):
    start, url = begin(google_context)
    good = params(start, approve(url, SANDBOX_USER))
    if problem == "code used twice":
        hooks.hub_connect(context=google_context, params=good)
        bad = good
    elif problem == "wrong verifier":
        bad = {**good, "code_verifier": oauth.start("x").code_verifier}
    else:
        bad = {**good, "redirect_uri": good["redirect_uri"] + "/elsewhere"}
    error = ConfigError if problem == "other redirect" else AuthenticationFailed
    with pytest.raises(error) as caught:
        hooks.hub_connect(context=google_context, params=bad)
    assert type(caught.value) is error and caught.value.fix


def test_missing_or_wrong_client_credentials_are_config_errors(google_context):
    with pytest.raises(ConfigError):
        begin(replace(google_context, config={**google_context.config, "client_id": ""}))
    start, url = begin(google_context)
    query = approve(url, SANDBOX_USER)
    wrong = replace(google_context, config={**google_context.config, "client_secret": "not-it"})
    with pytest.raises(ConfigError) as caught:
        hooks.hub_connect(context=wrong, params=params(start, query))
    assert "client" in caught.value.message and caught.value.fix


# --- push channels ------------------------------------------------------------------------------------------


def test_notifications_arrive_and_are_verified(google_sandbox, google_account, google_webhook_receiver):
    address = f"{google_webhook_receiver.url}/webhooks/google/7"
    channel = hooks.hub_watch(account=google_account, kind="calendar", key=SANDBOX_USER, address=address, renew=None)
    assert channel.token and channel.resource_id and channel.calendar_id == SANDBOX_USER
    handshake = google_webhook_receiver.wait_for(lambda r: r.headers.get("X-Goog-Resource-State") == "sync")
    assert handshake.path == "/webhooks/google/7" and handshake.body == b""
    result = hooks.hub_handle_webhook(account=google_account, request=handshake, channels=[channel])
    assert result.status == 200 and result.syncs == []

    google_sandbox.state.create_event(SANDBOX_USER, SANDBOX_USER, {
        "summary": "x", "start": {"date": "2031-01-01"}, "end": {"date": "2031-01-02"}})
    change = google_webhook_receiver.wait_for(lambda r: r.headers.get("X-Goog-Resource-State") == "exists")
    assert change.headers["X-Goog-Message-Number"] == "2"
    [target] = hooks.hub_handle_webhook(account=google_account, request=change, channels=[channel]).syncs
    assert (target.kind, target.key) == ("calendar", SANDBOX_USER)

    for forged in ({**change.headers, "X-Goog-Channel-Token": "guess"},
                   {k: v for k, v in change.headers.items() if k != "X-Goog-Channel-Token"},
                   {**change.headers, "X-Goog-Channel-Id": "someone-elses"},
                   {}):
        with pytest.raises(WebhookRejected):
            hooks.hub_handle_webhook(account=google_account, request=replace(change, headers=forged),
                                     channels=[channel])


def test_mail_has_no_push_channel(google_account, google_webhook_receiver):
    assert hooks.hub_watch(account=google_account, kind="mail", key="inbox", address=google_webhook_receiver.url,
                           renew=None) is None


def test_disconnect_stops_channels_and_revokes(google_sandbox, google_account, google_webhook_receiver):
    state = google_sandbox.state
    first = hooks.hub_watch(account=google_account, kind="calendar", key=SANDBOX_USER, address=google_webhook_receiver.url,
                            renew=None)
    renewed = hooks.hub_watch(account=google_account, kind="calendar", key=SANDBOX_USER,
                              address=google_webhook_receiver.url, renew=first)
    assert state.channels.channels[first.channel_id].stopped, "renewing stops the old channel"
    assert [c["id"] for c in google_account.settings["channels"]] == [renewed.channel_id]
    assert hooks.hub_disconnect(account=google_account) is True
    assert state.channels.channels[renewed.channel_id].stopped
    assert all(g.revoked for g in state.grants.grants.values())
    assert google_account.settings["channels"] == []
    assert hooks.hub_disconnect(account=google_account) is True, "a second disconnect does not fail"


def test_webhook_request_without_headers_is_rejected(google_account):
    request = WebhookRequest(method="POST", path="/webhooks/google/7", headers={}, args={}, body=b"")
    with pytest.raises(WebhookRejected):
        hooks.hub_handle_webhook(account=google_account, request=request, channels=[])
