"""OAuth clients, authorization codes, grants (refresh tokens) and access tokens of the sandbox.

Behaviour follows Google's web-server flow: codes are single-use and live ten minutes, a refresh
token is issued only with ``access_type=offline`` and — when the user had already granted the same
client — only again with ``prompt=consent``; a refresh does not rotate the refresh token; revoking
either token of a grant revokes the whole grant.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field

from hub_google.sandbox.errors import OAuthError

CODE_LIFETIME = 600


@dataclass
class Client:
    """A registered OAuth client."""
    client_id: str
    secret: str
    #: allowed redirect URIs; empty = any (handy for tests whose hub runs on a random port)
    redirect_uris: tuple[str, ...] = ()


@dataclass
class AuthCode:
    """An issued authorization code and what it was issued for."""
    client_id: str
    redirect_uri: str
    email: str
    scopes: tuple[str, ...]
    challenge: str | None
    challenge_method: str | None
    offline: bool
    force_consent: bool
    expires: float
    used: bool = False


@dataclass
class Grant:
    """One user's consent to one client: the refresh token and what it allows."""

    client_id: str
    email: str
    scopes: tuple[str, ...]
    refresh_token: str | None
    revoked: bool = False
    access_tokens: set[str] = field(default_factory=set)


@dataclass
class AccessToken:
    """An access token and the grant behind it."""
    grant: Grant
    expires: float

    @property
    def valid(self) -> bool:
        """Whether the token may still be used."""
        return not self.grant.revoked and self.expires > time.time()


def _token(prefix: str, n: int = 48) -> str:
    return prefix + secrets.token_urlsafe(n)


class GrantStore:
    """Everything the sandbox's OAuth server remembers."""

    def __init__(self):
        self.clients: dict[str, Client] = {}
        self.codes: dict[str, AuthCode] = {}
        self.grants: dict[str, Grant] = {}  # refresh token → grant
        self.tokens: dict[str, AccessToken] = {}
        #: (client, email) pairs that consented before: no new refresh token without prompt=consent
        self.consented: set[tuple[str, str]] = set()
        #: seconds an access token lives (Google: 3599); lower it to exercise refreshing
        self.access_token_lifetime = 3599

    # --- clients ---------------------------------------------------------------------------------

    def add_client(self, client_id: str, secret: str, redirect_uris: tuple[str, ...] = ()) -> Client:
        """Register a client."""
        client = Client(client_id, secret, tuple(redirect_uris))
        self.clients[client_id] = client
        return client

    def authenticate_client(self, client_id: str | None, secret: str | None) -> Client:
        """The client for these credentials; 401 ``invalid_client`` otherwise."""
        client = self.clients.get(client_id or "")
        if client is None:
            raise OAuthError("invalid_client", "The OAuth client was not found.", 401)
        if not secret or not hmac.compare_digest(client.secret, secret):
            raise OAuthError("invalid_client", "Unauthorized", 401)
        return client

    # --- codes -----------------------------------------------------------------------------------

    def issue_code(self, code: AuthCode) -> str:
        """Store a code and return its value."""
        value = _token("4/0A", 40)
        self.codes[value] = code
        return value

    def redeem_code(self, client: Client, value: str, redirect_uri: str | None, verifier: str | None) -> dict:
        """The token response for a code (checks client, redirect URI, PKCE, single use)."""
        value = value or ""
        code = self.codes.get(value)
        if code is None or code.client_id != client.client_id:
            raise OAuthError("invalid_grant", "Bad Request" if value.startswith("4/") else "Malformed auth code.")
        if code.used or code.expires < time.time():
            raise OAuthError("invalid_grant", "Bad Request")
        if redirect_uri != code.redirect_uri:
            raise OAuthError("redirect_uri_mismatch", "Bad Request")
        if code.challenge:
            if not verifier:
                raise OAuthError("invalid_grant", "Missing code verifier.")
            if not hmac.compare_digest(_challenge(verifier, code.challenge_method), code.challenge):
                raise OAuthError("invalid_grant", "Invalid code verifier.")
        code.used = True
        key = (client.client_id, code.email)
        issue_refresh = code.offline and (code.force_consent or key not in self.consented)
        self.consented.add(key)
        grant = Grant(client.client_id, code.email, code.scopes,
                      _token("1//0g", 60) if issue_refresh else None)
        if grant.refresh_token:
            self.grants[grant.refresh_token] = grant
        body = self._access_token_body(grant)
        if grant.refresh_token:
            body["refresh_token"] = grant.refresh_token
        return body

    # --- tokens ----------------------------------------------------------------------------------

    def refresh(self, client: Client, refresh_token: str | None, scopes: list[str] | None = None) -> dict:
        """A new access token for a live refresh token; ``scopes`` may narrow the grant, never widen it."""
        grant = self.grants.get(refresh_token or "")
        if grant is None or grant.revoked or grant.client_id != client.client_id:
            raise OAuthError("invalid_grant", "Token has been expired or revoked.")
        if scopes and set(scopes) - set(grant.scopes):
            raise OAuthError("invalid_scope", "Bad Request")  # Google's words for scopes beyond the grant
        return self._access_token_body(grant)

    def _access_token_body(self, grant: Grant) -> dict:
        value = _token("ya29.", 90)
        self.tokens[value] = AccessToken(grant, time.time() + self.access_token_lifetime)
        grant.access_tokens.add(value)
        return {"access_token": value, "expires_in": self.access_token_lifetime, "scope": " ".join(grant.scopes),
                "token_type": "Bearer"}

    def lookup(self, access_token: str) -> AccessToken | None:
        """The live access token, or None when it is unknown, expired or revoked."""
        token = self.tokens.get(access_token)
        return token if token is not None and token.valid else None

    def revoke(self, value: str) -> None:
        """Revoke the grant behind a refresh or access token (Google revokes the whole grant)."""
        grant = self.grants.get(value)
        if grant is None and value in self.tokens:
            grant = self.tokens[value].grant
        if grant is None or grant.revoked:
            raise OAuthError("invalid_token", "Token expired or revoked")
        grant.revoked = True

    def revoke_user(self, email: str) -> int:
        """Revoke every grant of ``email`` (the user removed the app, or changed the password)."""
        grants = {id(t.grant): t.grant for t in self.tokens.values()}
        grants.update((id(g), g) for g in self.grants.values())
        hit = [g for g in grants.values() if g.email == email and not g.revoked]
        for grant in hit:
            grant.revoked = True
        return len(hit)

    def expire_access_tokens(self, email: str | None = None) -> None:
        """Make live access tokens expire now (the refresh tokens keep working)."""
        for token in self.tokens.values():
            if email is None or token.grant.email == email:
                token.expires = 0


def _challenge(verifier: str, method: str | None) -> str:
    if (method or "plain") == "plain":
        return verifier
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
