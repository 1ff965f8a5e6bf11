"""OAuth 2.0 for provider plugins: PKCE, code exchange, refresh with save-back, revoke.

The core owns the parts every OAuth provider shares — making ``state`` and the PKCE pair
(:func:`start`), refreshing an access token shortly before it expires and saving the new token
(:class:`OAuthClient`) — so Google and Microsoft plugins only describe their endpoints, scopes and
how their ``invalid_grant`` errors read.

The token calls are plain ``requests`` rather than requests-oauthlib's OAuth2Session (our fixed
choice of library) for two reasons: oauthlib refuses plain-http endpoints, which loopback
redirects (RFC 8252) and the local sandboxes need; and its exceptions drop the HTTP status, which
is what tells a lost grant (reconnect) from a provider outage (retry later).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import urlencode

import requests

from hub import http
from hub.exceptions import AuthExpired, AuthenticationFailed, ConfigError, ProviderError
from hub.types import AccountHandle, OAuthStart

#: refresh this many seconds before the access token expires
REFRESH_MARGIN = 120


def start(redirect_uri: str, login_hint: str | None = None) -> OAuthStart:
    """A fresh ``state`` and PKCE S256 pair for one authorization."""
    verifier = secrets.token_urlsafe(64)[:96]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return OAuthStart(
        redirect_uri=redirect_uri,
        state=secrets.token_urlsafe(24),
        code_verifier=verifier,
        code_challenge=challenge,
        login_hint=login_hint,
    )


@dataclass
class OAuthEndpoints:
    authorize_url: str
    token_url: str
    revoke_url: str | None = None
    scopes: list[str] = field(default_factory=list)
    #: extra query parameters on the authorization URL (access_type=offline, prompt=consent …)
    authorize_params: dict[str, str] = field(default_factory=dict)


class OAuthClient:
    """One provider's OAuth client (client id/secret from the admin configuration).

    :param grant_error: maps a token-endpoint error body to the hub error to raise (e.g. the
        AADSTS code table); returns None to use the generic AuthExpired.
    """

    def __init__(
        self,
        endpoints: OAuthEndpoints,
        client_id: str | None,
        client_secret: str | None,
        grant_error: Callable[[dict[str, Any]], Exception | None] = lambda body: None,
        provider_label: str = "The provider",
    ):
        if not client_id:
            raise ConfigError(
                f"{provider_label} is not set up: the OAuth client id is missing.",
                fix="An administrator enters the client id and secret on the Admin → Providers page.",
            )
        self.endpoints = endpoints
        self.client_id = client_id
        self.client_secret = client_secret
        self.grant_error = grant_error
        self.label = provider_label

    def authorization_url(self, start: OAuthStart) -> str:
        """The provider's consent URL with state, PKCE S256 challenge, scopes and extra parameters.

        Built with urlencode rather than oauthlib: oauthlib refuses plain-http endpoints, and the
        sandboxes (and RFC 8252 loopback redirects) legitimately use http on 127.0.0.1.
        """
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": start.redirect_uri,
            "scope": " ".join(self.endpoints.scopes),
            "state": start.state,
            "code_challenge": start.code_challenge,
            "code_challenge_method": "S256",
            **self.endpoints.authorize_params,
        }
        if start.login_hint:
            params["login_hint"] = start.login_hint
        separator = "&" if "?" in self.endpoints.authorize_url else "?"
        return self.endpoints.authorize_url + separator + urlencode(params)

    def exchange_code(self, code: str, code_verifier: str, redirect_uri: str) -> dict[str, Any]:
        """Trade an authorization code for tokens; the result has ``expires_at``."""
        return self._token_request(
            {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
             "code_verifier": code_verifier},
            failure=AuthenticationFailed,
        )

    def refresh(self, token: dict[str, Any]) -> dict[str, Any]:
        """A new access token; keeps the old refresh token unless the provider rotated it."""
        if not token.get("refresh_token"):
            raise AuthExpired(f"{self.label} gave no refresh token.", fix="Reconnect the account.")
        fresh = self._token_request(
            {"grant_type": "refresh_token", "refresh_token": token["refresh_token"],
             "scope": " ".join(self.endpoints.scopes)},
            failure=AuthExpired,
        )
        fresh.setdefault("refresh_token", token["refresh_token"])
        return fresh

    def session_for(self, account: AccountHandle) -> requests.Session:
        """A requests session with a valid bearer token for ``account``, refreshing (and saving) first if needed."""
        token = dict(account.credentials.get("token") or {})
        if not token.get("access_token") or token.get("expires_at", 0) - REFRESH_MARGIN < time.time():
            token = self.refresh(token)
            account.update_credentials(token=token)
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token['access_token']}"
        return session

    def revoke(self, token: dict[str, Any]) -> None:
        """Revoke at the provider; failures are ignored (the disconnect goes on)."""
        if not self.endpoints.revoke_url:
            return
        value = token.get("refresh_token") or token.get("access_token")
        if not value:
            return
        try:
            requests.post(self.endpoints.revoke_url, data={"token": value}, timeout=http.DEFAULT_TIMEOUT)
        except requests.RequestException:
            pass

    # --- internals -------------------------------------------------------------------------------

    def _token_request(self, data: dict[str, str], failure: type[AuthenticationFailed]) -> dict[str, Any]:
        data = {**data, "client_id": self.client_id}
        if self.client_secret:
            data["client_secret"] = self.client_secret
        response = http.send(requests.Session(), "POST", self.endpoints.token_url, what=self.label, data=data,
                             headers={"Accept": "application/json"})
        if response.status_code == 429 or response.status_code >= 500:
            http.raise_for_status(response, self.label)  # transient: never mistaken for a lost grant
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        if response.status_code >= 400 and isinstance(body.get("error"), str):
            mapped = self.grant_error(body)
            if mapped is not None:
                raise mapped
            if body.get("error") in {"invalid_grant", "invalid_token", "unauthorized_client"}:
                raise failure(f"{self.label} refused the sign-in: {body.get('error_description') or body['error']}")
            if body.get("error") == "invalid_client":
                raise ConfigError(f"{self.label} rejected the OAuth client id or secret.",
                                  fix="An administrator checks the client credentials on the Admin → Providers page.")
            raise ProviderError(f"{self.label} token request failed: {body.get('error_description') or body['error']}")
        http.raise_for_status(response, self.label)
        if "access_token" not in body:
            raise ProviderError(f"{self.label} answered the token request without an access token.")
        body["expires_at"] = time.time() + float(body.get("expires_in", 3600))
        return body

