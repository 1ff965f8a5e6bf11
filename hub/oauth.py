"""OAuth 2.0 for provider plugins: PKCE, code exchange, refresh with save-back, revoke.

The core owns the parts every OAuth provider shares — making ``state`` and the PKCE pair
(:func:`start`), refreshing an access token shortly before it expires and saving the new token
(:class:`OAuthClient`) — so Google and Microsoft plugins only describe their endpoints, scopes and
how their ``invalid_grant`` errors read.

The protocol is requests-oauthlib's ``OAuth2Session`` (authorization URL, code exchange with the PKCE
verifier, refresh). What the library lacks is added here, not re-written: a response hook reads each
token answer *before* oauthlib parses it, because oauthlib's exceptions drop the HTTP status — and
the status is what tells a lost grant (reconnect) from a provider outage (retry later); and the
verifier is the core's own (:func:`start`), made before the plugin runs. oauthlib refuses endpoints
that are not https; the local sandboxes on http://127.0.0.1 are allowed only through its documented
switch ``OAUTHLIB_INSECURE_TRANSPORT``, which the tests and ``hub demo`` set and production never does.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable

import requests
from oauthlib.oauth2 import InsecureTransportError, OAuth2Error
from requests_oauthlib import OAuth2Session

from hub import http
from hub.exceptions import AuthenticationFailed, AuthExpired, ConfigError, ProviderError
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
        """The provider's consent URL with state, PKCE S256 challenge, scopes and extra parameters."""
        extra = {"code_challenge": start.code_challenge, "code_challenge_method": "S256",
                 **self.endpoints.authorize_params}
        if start.login_hint:
            extra["login_hint"] = start.login_hint
        session = OAuth2Session(self.client_id, redirect_uri=start.redirect_uri, scope=self.endpoints.scopes,
                                state=start.state)
        with _insecure_transport_refused():
            url, _state = session.authorization_url(self.endpoints.authorize_url, **extra)
        return url

    def exchange_code(self, code: str, code_verifier: str, redirect_uri: str) -> dict[str, Any]:
        """Trade an authorization code for tokens; the result has ``expires_at``."""
        session = self._session(redirect_uri=redirect_uri, failure=AuthenticationFailed)
        return self._token(lambda: session.fetch_token(
            self.endpoints.token_url, code=code, code_verifier=code_verifier, include_client_id=True,
            client_secret=self.client_secret, timeout=http.DEFAULT_TIMEOUT))

    def refresh(self, token: dict[str, Any]) -> dict[str, Any]:
        """A new access token; keeps the old refresh token unless the provider rotated it."""
        if not token.get("refresh_token"):
            raise AuthExpired(f"{self.label} gave no refresh token.", fix="Reconnect the account.")
        session = self._session(failure=AuthExpired)
        secret = {"client_secret": self.client_secret} if self.client_secret else {}
        fresh = self._token(lambda: session.refresh_token(
            self.endpoints.token_url, refresh_token=token["refresh_token"], client_id=self.client_id,
            timeout=http.DEFAULT_TIMEOUT, **secret))
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

    def _session(self, failure: type[AuthenticationFailed], redirect_uri: str | None = None) -> OAuth2Session:
        session = OAuth2Session(self.client_id, redirect_uri=redirect_uri, scope=self.endpoints.scopes)
        check = partial(self._check_answer, failure=failure)
        session.register_compliance_hook("access_token_response", check)
        session.register_compliance_hook("refresh_token_response", check)
        return session

    def _token(self, call: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        try:
            with _insecure_transport_refused():
                token = call()
        except Warning as changed:  # oauthlib's "Scope has changed": partial consent, judged by the plugin
            token = getattr(changed, "token", None)
            if token is None:
                raise
        except requests.RequestException as exc:
            raise http.transport_error(exc, self.label) from exc
        except OAuth2Error as exc:  # an answer the hook let through but oauthlib still refused
            raise ProviderError(f"{self.label} token request failed: {exc.description or exc.error}") from exc
        if "access_token" not in token:
            raise ProviderError(f"{self.label} answered the token request without an access token.")
        token = dict(token)  # oauthlib's OAuth2Token (with expires_at) as the plain dict the hub stores
        if isinstance(token.get("scope"), list):  # oauthlib splits it; stored as the provider wrote it
            token["scope"] = " ".join(token["scope"])
        return token

    def _check_answer(self, response: requests.Response, failure: type[AuthenticationFailed]) -> requests.Response:
        """Map a token endpoint's refusal to the hub's errors while its HTTP status is still known."""
        if response.status_code == 429 or response.status_code >= 500:
            http.raise_for_status(response, self.label)  # transient: never mistaken for a lost grant
        if response.status_code < 400:
            return response
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict) or not isinstance(body.get("error"), str):
            http.raise_for_status(response, self.label)
        mapped = self.grant_error(body)
        if mapped is not None:
            raise mapped
        if body["error"] in {"invalid_grant", "invalid_token", "unauthorized_client"}:
            raise failure(f"{self.label} refused the sign-in: {body.get('error_description') or body['error']}")
        if body["error"] == "invalid_client":
            raise ConfigError(f"{self.label} rejected the OAuth client id or secret.",
                              fix="An administrator checks the client credentials on the Admin → Providers page.")
        raise ProviderError(f"{self.label} token request failed: {body.get('error_description') or body['error']}")


@contextmanager
def _insecure_transport_refused():
    """oauthlib's refusal of a plain-http endpoint, as the hub's configuration error."""
    try:
        yield
    except InsecureTransportError as exc:
        raise ConfigError("The provider's OAuth endpoints are not HTTPS.",
                          fix="Use the provider's https:// endpoints (plain http is only for local sandboxes, "
                              "with OAUTHLIB_INSECURE_TRANSPORT=1).") from exc
