"""An authenticated Google API client for one account, with Google's errors mapped to the hub's.

Google's error body names a ``reason`` (``fullSyncRequired``, ``rateLimitExceeded``, ``duplicate`` …)
that decides the hub error; the generic status mapping of :mod:`hub.http` is the fallback.
A 401 in the middle of a session (a token revoked or expired early) gets one refresh and retry;
if the refresh is refused the account's grant is gone (AuthExpired).
"""

from __future__ import annotations

from typing import Any

import requests

from hub import http
from hub.exceptions import (
    AlreadyExists,
    AuthExpired,
    CursorExpired,
    NotFound,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    WrongEtag,
)
from hub.types import AccountHandle

from hub_google.auth import RECONNECT, oauth_client
from hub_google.provider import Endpoints

#: 403 reasons that mean "slow down", not "forbidden"
RATE_REASONS = {"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded", "dailyLimitExceeded"}


def error_reason(response: requests.Response) -> tuple[str | None, str]:
    """(``errors[0].reason`` or ``status``, message) of a Google error body."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return None, response.text[:200]
    if not isinstance(error, dict):
        return (error if isinstance(error, str) else None), response.text[:200]
    items = error.get("errors") or [{}]
    return items[0].get("reason") or error.get("status"), str(error.get("message") or "")


def raise_for_google(response: requests.Response, what: str = "Google") -> None:
    """Raise the hub error for a Google error response (no-op for 2xx/3xx)."""
    code = response.status_code
    if code < 400:
        return
    reason, message = error_reason(response)
    if code == 429 or (code == 403 and reason in RATE_REASONS):
        raise RateLimited(f"{what} is rate limiting requests ({reason or code}).",
                          retry_after=http.retry_after_seconds(response))
    if code >= 500:
        raise ProviderUnavailable(f"{what} answered {code} ({reason or message}).")
    if code == 401:
        raise AuthExpired(f"{what} no longer accepts the account's access.", fix=RECONNECT)
    if code == 403 and reason == "insufficientPermissions":
        raise AuthExpired(f"{what} access lacks a permission the hub needs.",
                          fix="Reconnect the Google account and allow access to Calendar and Gmail.")
    if code == 410 and reason == "fullSyncRequired":
        raise CursorExpired("Google's sync token expired; the calendar needs a full sync.")
    if code in (404, 410):
        raise NotFound(f"{what}: {message or 'not found'}.")
    if code == 409 and reason == "duplicate":
        raise AlreadyExists(f"{what}: {message or 'the identifier already exists'}.")
    if code == 412:
        raise WrongEtag(f"{what}: the event changed since the hub last read it.")
    if code == 403:
        raise ProviderError(f"{what} refused: {message}",
                            fix="Check that the account may write to this calendar (writer or owner access).")
    raise ProviderError(f"{what} answered {code}: {message or reason}")


class GoogleClient:
    """HTTP to Google for one account: bearer token (refreshed and saved when needed) and error mapping."""

    def __init__(self, account: AccountHandle):
        self.account = account
        self.endpoints = Endpoints.from_config(account.context.config)
        self.oauth = oauth_client(account.context.config)
        self.session = self.oauth.session_for(account)

    def request(self, method: str, url: str, what: str = "Google", **kwargs: Any) -> requests.Response:
        """Send a request; on 401 refresh the token once and retry. Errors are NOT raised here."""
        kwargs.setdefault("timeout", (10, self.endpoints.timeout))
        response = http.send(self.session, method, url, what=what, **kwargs)
        if response.status_code == 401:
            token = self.oauth.refresh(self.account.credentials.get("token") or {})
            self.account.update_credentials(token={**(self.account.credentials.get("token") or {}), **token})
            self.session.headers["Authorization"] = f"Bearer {token['access_token']}"
            response = http.send(self.session, method, url, what=what, **kwargs)
        return response

    def call(self, method: str, url: str, what: str = "Google", **kwargs: Any) -> dict[str, Any]:
        """Send a request and return its JSON body (``{}`` for an empty answer); raise hub errors."""
        response = self.request(method, url, what=what, **kwargs)
        raise_for_google(response, what)
        if not response.content:
            return {}
        try:
            return response.json()
        except ValueError:
            raise ProviderUnavailable(f"{what} sent an answer that is not JSON.") from None

    def close(self) -> None:
        """Close the HTTP session."""
        self.session.close()

    def __enter__(self) -> "GoogleClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
