"""A small Microsoft Graph client over :mod:`hub.http`: bearer session, one retry after a 401, and
Graph's error bodies mapped onto the hub's error tree.

Graph errors read ``{"error": {"code", "message", "innerError"}}``; the ``code`` says more than the
status, so it is mapped first (on-premises mailboxes, expired delta tokens, change-key conflicts),
then :func:`hub.http.raise_for_status` handles the rest (429 with Retry-After, 5xx, 404 …).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import requests

from hub import http
from hub.exceptions import (
    AuthExpired,
    CursorExpired,
    HubError,
    NotFound,
    NotSupported,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    WrongEtag,
)
from hub.types import AccountHandle

from hub_office365 import auth

#: Graph's codes for a delta token it no longer knows ([unverified] syncStateInvalid/resyncRequired)
EXPIRED_SYNC_CODES = {"syncstatenotfound", "syncstateinvalid", "resyncrequired"}
#: Graph's codes for a mailbox it cannot reach: hosted on-premises, unlicensed, or not provisioned
NO_MAILBOX_CODES = {"mailboxnotenabledforrestapi", "errornonexistentmailbox", "mailboxnotsupportedforrestapi"}
ON_PREMISES = NotSupported(
    "This mailbox is hosted on an on-premises Exchange server, which Microsoft Graph cannot reach.",
    fix="Connect it with the IMAP/SMTP provider instead, or ask your administrator to move the mailbox to "
        "Exchange Online.",
)


class AccessDenied(ProviderError):
    """Graph's 403: the token lacks a permission, or the user may not touch the item."""


def error_for(response: requests.Response) -> HubError:
    """The hub error for a Graph error response (never returns for a 2xx/3xx)."""
    try:
        error = (response.json() or {}).get("error") or {}
    except ValueError:
        error = {}
    if not isinstance(error, dict):
        error = {"message": str(error)}
    code = str(error.get("code") or "")
    message = str(error.get("message") or "")
    status = response.status_code
    if status == 429:
        return RateLimited(f"{auth.LABEL} is throttling requests ({code or 'TooManyRequests'}).",
                           retry_after=http.retry_after_seconds(response))
    if status == 410 or code.lower() in EXPIRED_SYNC_CODES:
        return CursorExpired(f"{auth.LABEL} no longer knows the sync position ({code or 'Gone'}); a full sync follows.")
    if code.lower() in NO_MAILBOX_CODES or "REST API is not yet supported" in message:
        return NotSupported(ON_PREMISES.message, fix=ON_PREMISES.fix)
    if status == 412 or code == "ErrorIrresolvableConflict":
        return WrongEtag(f"{auth.LABEL}: the item changed since it was last read.")
    if status == 401:
        return AuthExpired(f"{auth.LABEL} no longer accepts the stored sign-in ({code}).", fix=auth.RECONNECT)
    if status == 403:
        return AccessDenied(f"{auth.LABEL} denied access: {message or code}",
                            fix="Check that you may edit this calendar, or reconnect the account and accept "
                                "every permission.")
    if status == 404 or code in {"ErrorItemNotFound", "ResourceNotFound"}:
        return NotFound(f"{auth.LABEL}: {message or 'not found'}")
    if status >= 500:
        return ProviderUnavailable(f"{auth.LABEL} answered {status} ({code or 'server error'}).")
    return ProviderError(f"{auth.LABEL} answered {status} {code}: {message}"[:400])


class GraphClient:
    """Graph requests for one account; refreshes (and saves) the token when it expires or is refused."""

    def __init__(self, account: AccountHandle):
        self.account = account
        self.base = auth.setting(account.context, "graph_base").rstrip("/")
        self.timeout = float(auth.setting(account.context, "timeout") or 60)
        self.oauth = auth.oauth_client(account.context, dict(account.credentials.get("token") or {}))
        self._session: requests.Session | None = None

    def _url(self, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            return self.base + url
        # nextLink / deltaLink / cursors: only ever send the bearer token back to Graph itself
        if urlsplit(url).netloc != urlsplit(self.base).netloc:
            raise CursorExpired(f"The stored sync position does not point at {auth.LABEL}; a full sync follows.")
        return url

    def request(self, method: str, url: str, *, params: dict | None = None, json: Any = None,
                headers: dict | None = None, _retried: bool = False) -> requests.Response:
        """Send one Graph request; raise the mapped hub error for any 4xx/5xx."""
        if self._session is None:
            self._session = self.oauth.session_for(self.account)
        response = http.send(self._session, method, self._url(url), what=auth.LABEL, params=params, json=json,
                             headers=headers, timeout=(10, self.timeout))
        if response.status_code == 401 and not _retried:
            # the access token died early (revoked, CAE): one refresh tells us whether the grant still works
            self.refresh()
            return self.request(method, url, params=params, json=json, headers=headers, _retried=True)
        if response.status_code >= 400:
            raise error_for(response)
        return response

    def get(self, url: str, **kwargs) -> dict:
        """GET and decode the JSON answer."""
        return self.request("GET", url, **kwargs).json()

    def post(self, url: str, body: Any, **kwargs) -> requests.Response:
        """POST a JSON body."""
        return self.request("POST", url, json=body, **kwargs)

    def refresh(self) -> None:
        """Force a token refresh and save the (rotated) refresh token."""
        token = self.oauth.refresh(dict(self.account.credentials.get("token") or {}))
        self.account.update_credentials(token=token)
        self._session = None

    def collect(self, url: str, **kwargs) -> list[dict]:
        """Every item of a paged collection, following ``@odata.nextLink``."""
        items: list[dict] = []
        page: dict | None = self.get(url, **kwargs)
        while page is not None:
            items.extend(page.get("value") or [])
            next_link = page.get("@odata.nextLink")
            page = self.get(next_link, headers=kwargs.get("headers")) if next_link else None
        return items
