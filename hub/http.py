"""HTTP for provider plugins: one requests session per account with the hub's error mapping.

Every HTTP-speaking plugin (Google, Microsoft, CalDAV) maps transport failures the same way, so
that mapping lives here once: 429 → RateLimited (with Retry-After), 5xx / timeouts / dropped
connections → ProviderUnavailable, 401 → AuthExpired, 404 → NotFound, 412 → WrongEtag.
Provider-specific bodies (Google's ``reason``, Graph's ``code``) are mapped by the plugin before
falling back to :func:`raise_for_status`.
"""

from __future__ import annotations

import email.utils
import time
from datetime import datetime, timezone

import requests

from hub.exceptions import (
    AuthExpired,
    NotFound,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    WrongEtag,
)

DEFAULT_TIMEOUT = (10, 60)  # connect, read seconds


def retry_after_seconds(response: requests.Response) -> float | None:
    """Parse ``Retry-After`` (seconds or an HTTP date)."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value)
        if parsed is None:
            return None
        return max(0.0, (parsed - datetime.now(timezone.utc)).total_seconds())


def raise_for_status(response: requests.Response, what: str = "The provider") -> None:
    """Turn an HTTP error status into the hub's error tree (no-op for 2xx/3xx)."""
    code = response.status_code
    if code < 400:
        return
    detail = response.text[:300]
    if code == 429:
        raise RateLimited(f"{what} is rate limiting requests.", retry_after=retry_after_seconds(response))
    if code >= 500:
        raise ProviderUnavailable(f"{what} answered {code}.")
    if code == 401:
        raise AuthExpired(f"{what} no longer accepts the stored credentials.")
    if code == 404:
        raise NotFound(f"{what}: not found.")
    if code == 412:
        raise WrongEtag(f"{what}: the object changed since it was last read.")
    raise ProviderError(f"{what} answered {code}: {detail}")


def send(session: requests.Session, method: str, url: str, what: str = "The provider", **kwargs) -> requests.Response:
    """``session.request`` with the hub's timeouts and transport errors mapped to the error tree."""
    kwargs.setdefault("timeout", DEFAULT_TIMEOUT)
    started = time.monotonic()
    try:
        return session.request(method, url, **kwargs)
    except requests.Timeout as exc:
        raise ProviderUnavailable(f"{what} did not answer within {time.monotonic() - started:.0f}s.") from exc
    except requests.ConnectionError as exc:
        raise ProviderUnavailable(f"The connection to {what} failed or dropped.") from exc
