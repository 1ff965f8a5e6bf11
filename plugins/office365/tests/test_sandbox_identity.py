"""The sandbox's identity platform speaks Entra ID's contract (raw HTTP, no plugin involved)."""

from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from hub_office365.testing import USER

REDIRECT = "http://127.0.0.1:9/callback"


def _authorize(sandbox, verifier: str = "v" * 50, scope: str = "offline_access User.Read") -> str:
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    url = f"{sandbox.login_base}/common/oauth2/v2.0/authorize?" + urlencode({
        "client_id": "sandbox-client", "response_type": "code", "redirect_uri": REDIRECT, "scope": scope,
        "state": "s-1", "code_challenge": challenge, "code_challenge_method": "S256", "login_hint": USER})
    page = requests.get(url, timeout=5)
    assert page.status_code == 200 and 'id="accept"' in page.text
    form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text))
    answer = requests.post(url.split("?")[0], data={**form, "login": USER, "consent": "accept"},
                           allow_redirects=False, timeout=5)
    assert answer.status_code == 302
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert query["state"] == ["s-1"]
    return query["code"][0]


def _token(sandbox, **data):
    return requests.post(f"{sandbox.login_base}/common/oauth2/v2.0/token", timeout=5,
                         data={"client_id": "sandbox-client", "client_secret": "sandbox-secret", **data})


def _assert_aadsts(response, code: int, error: str = "invalid_grant"):
    body = response.json()
    assert response.status_code == 400
    assert body["error"] == error
    assert body["error_description"].startswith(f"AADSTS{code}: ")
    assert "Trace ID:" in body["error_description"] and "Correlation ID:" in body["error_description"]
    assert body["error_codes"] == [code]
    assert body["error_uri"].endswith(f"code={code}")
    assert {"timestamp", "trace_id", "correlation_id"} <= set(body)


def test_code_exchange_checks_pkce(office365_sandbox):
    code = _authorize(office365_sandbox, verifier="right" * 10)
    wrong = _token(office365_sandbox, grant_type="authorization_code", code=code, redirect_uri=REDIRECT,
                   code_verifier="wrong" * 10)
    _assert_aadsts(wrong, 501481)
    good = _token(office365_sandbox, grant_type="authorization_code", code=code, redirect_uri=REDIRECT,
                  code_verifier="right" * 10)
    assert good.status_code == 200
    body = good.json()
    assert body["token_type"] == "Bearer" and body["refresh_token"] and body["access_token"]
    again = _token(office365_sandbox, grant_type="authorization_code", code=code, redirect_uri=REDIRECT,
                   code_verifier="right" * 10)
    _assert_aadsts(again, 54005)


def test_refresh_rotates_the_refresh_token(office365_sandbox):
    code = _authorize(office365_sandbox)
    first = _token(office365_sandbox, grant_type="authorization_code", code=code, redirect_uri=REDIRECT,
                   code_verifier="v" * 50).json()
    second = _token(office365_sandbox, grant_type="refresh_token", refresh_token=first["refresh_token"]).json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    # the sandbox is stricter than Entra ID: the rotated-out token is dead, so a client must store the new one
    _assert_aadsts(_token(office365_sandbox, grant_type="refresh_token", refresh_token=first["refresh_token"]), 9002313)
    office365_sandbox.state.knobs.invalidate_rotated_refresh_tokens = False
    third = _token(office365_sandbox, grant_type="refresh_token", refresh_token=second["refresh_token"]).json()
    reused = _token(office365_sandbox, grant_type="refresh_token", refresh_token=second["refresh_token"])
    assert reused.status_code == 200
    assert third["refresh_token"] != second["refresh_token"]


@pytest.mark.parametrize("code", [50173, 700082, 65001, 50076])
def test_revoked_grant_answers_with_its_aadsts_code(office365_sandbox, code):
    auth_code = _authorize(office365_sandbox)
    token = _token(office365_sandbox, grant_type="authorization_code", code=auth_code, redirect_uri=REDIRECT,
                   code_verifier="v" * 50).json()
    office365_sandbox.state.revoke_grant(USER, code)
    _assert_aadsts(_token(office365_sandbox, grant_type="refresh_token", refresh_token=token["refresh_token"]), code)
    graph = requests.get(f"{office365_sandbox.graph_base}/me", timeout=5,
                         headers={"Authorization": f"Bearer {token['access_token']}"})
    assert graph.status_code == 401 and graph.json()["error"]["code"] == "InvalidAuthenticationToken"


def test_wrong_client_secret(office365_sandbox):
    answer = _token(office365_sandbox, grant_type="refresh_token", refresh_token="x", client_secret="nope")
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"
    assert answer.json()["error_codes"] == [7000215]


def test_consent_page_cancel_redirects_with_access_denied(office365_sandbox):
    url = f"{office365_sandbox.login_base}/common/oauth2/v2.0/authorize"
    answer = requests.post(url, allow_redirects=False, timeout=5, data={
        "client_id": "sandbox-client", "response_type": "code", "redirect_uri": REDIRECT, "state": "s",
        "consent": "cancel"})
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert query["error"] == ["access_denied"] and query["error_description"][0].startswith("AADSTS65004")


def test_refresh_asking_for_more_than_the_consent_is_aadsts65001(office365_sandbox):
    code = _authorize(office365_sandbox, scope="offline_access User.Read Calendars.ReadWrite")
    first = _token(office365_sandbox, grant_type="authorization_code", code=code, redirect_uri=REDIRECT,
                   code_verifier="v" * 50).json()
    same = _token(office365_sandbox, grant_type="refresh_token", refresh_token=first["refresh_token"],
                  scope="openid offline_access https://graph.microsoft.com/Calendars.ReadWrite")
    assert same.status_code == 200
    wider = _token(office365_sandbox, grant_type="refresh_token", refresh_token=same.json()["refresh_token"],
                   scope="offline_access Calendars.ReadWrite Mail.Send")
    _assert_aadsts(wider, 65001)
    assert wider.json()["suberror"] == "consent_required"


def test_openid_discovery_document_points_at_the_sandbox(office365_sandbox):
    document = requests.get(f"{office365_sandbox.login_base}/common/v2.0/.well-known/openid-configuration",
                            timeout=5).json()
    assert document["token_endpoint"] == f"{office365_sandbox.login_base}/common/oauth2/v2.0/token"
    assert document["authorization_endpoint"] == f"{office365_sandbox.login_base}/common/oauth2/v2.0/authorize"
    assert document["issuer"] == f"{office365_sandbox.login_base}/{office365_sandbox.state.tenant_id}/v2.0"
    assert requests.get(document["jwks_uri"], timeout=5).json() == {"keys": []}
