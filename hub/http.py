"""HTTP for provider plugins: sessions behind the SSRF guard, with the hub's timeouts and error mapping.

* :func:`session` — a ``requests.Session`` for URLs a user or an administrator typed in (a CalDAV
  server, a calendar feed): every connection goes to an address :mod:`hub.ssrf_guard` checked — the first
  URL and every redirect target alike — with default timeouts and a bounded, ``Retry-After``-honouring
  retry of idempotent requests. Plain ``http://`` is refused unless the administrator allows private
  hosts or the caller opens a public, credential-free resource (``plain_http=True``: a subscribed
  feed), because a password must never cross the internet in clear text.
* :func:`send` / :func:`raise_for_status` — every HTTP-speaking plugin maps failures the same way:
  429 → RateLimited (with Retry-After), 5xx / timeouts / dropped connections → ProviderUnavailable,
  401 → AuthExpired, 404 → NotFound, 412 → WrongEtag. Provider-specific bodies (Google's ``reason``,
  Graph's ``code``) are mapped by the plugin before falling back to :func:`raise_for_status`.
"""

from __future__ import annotations

import email.utils
import time
from datetime import datetime, timezone

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, ResponseError
from urllib3.util.retry import Retry

from hub import ssrf_guard
from hub.exceptions import (
    AuthExpired,
    ConnectFailed,
    HubError,
    NotFound,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    WrongEtag,
)

DEFAULT_TIMEOUT = (10, 60)  # connect, read seconds
#: a Retry-After longer than this is not waited out in the request: the job layer reschedules instead
MAX_RETRY_WAIT = 30.0


class _PatientRetry(Retry):
    """urllib3's retry, but never sleeping through a long ``Retry-After`` inside a worker's request: the
    answer is handed back as it is (``raise_on_status=False``) and the job layer reschedules."""

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):
        if response is not None and (self.get_retry_after(response) or 0) > MAX_RETRY_WAIT:
            raise MaxRetryError(_pool, url, ResponseError(f"Retry-After {response.headers.get('Retry-After')}"))
        return super().increment(method, url, response, error, _pool, _stacktrace)


class GuardedAdapter(HTTPAdapter):
    """Connects each request to an address :func:`hub.ssrf_guard.checked_addresses` accepted for its host.

    The pool is keyed by that address, TLS still checks the certificate against the host name (SNI and
    host-name verification use the name), and the ``Host`` header carries the name: DNS rebinding
    between the check and the connection cannot reach another address.
    """

    def __init__(self, allow_private: bool, ports: frozenset[int], **kwargs):
        self.allow_private = allow_private
        self.ports = ports
        super().__init__(**kwargs)

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        name, port = host_params["host"], host_params["port"] or (443 if host_params["scheme"] == "https" else 80)
        address = ssrf_guard.checked_addresses(name, port, self.allow_private, ports=self.ports)[0]
        host_params = {**host_params, "host": address.ip, "port": port}
        if host_params["scheme"] == "https":
            pool_kwargs = {**pool_kwargs, "server_hostname": name, "assert_hostname": name}
        return host_params, pool_kwargs

    def send(self, request, **kwargs):
        request.headers["Host"] = request.url.split("://", 1)[1].split("/", 1)[0].rsplit("@", 1)[-1]
        return super().send(request, **kwargs)


class GuardedSession(requests.Session):
    """A session whose requests get :data:`DEFAULT_TIMEOUT` unless they say otherwise."""

    def request(self, method, url, *args, **kwargs):
        kwargs.setdefault("timeout", DEFAULT_TIMEOUT)
        return super().request(method, url, *args, **kwargs)


def session(allow_private: bool = False, plain_http: bool = False, retries: int = 2) -> requests.Session:
    """A session for user-entered URLs: SSRF-guarded connections, timeouts, polite retries.

    :param allow_private: the administrator allows private hosts (on-premises servers, tests): any
        address, any port, plain HTTP.
    :param plain_http: allow ``http://`` (port 80) to public hosts — only for public, credential-free
        resources such as a subscribed calendar feed.
    :param retries: how often an idempotent request is retried after a 429/502/503/504 or a dropped
        connection, honouring ``Retry-After`` up to :data:`MAX_RETRY_WAIT` seconds.
    """
    ports = frozenset({443, 8443} | ({80, 8080} if plain_http else set()))
    retry = _PatientRetry(total=retries, backoff_factor=0.5, status_forcelist=(429, 502, 503, 504),
                          allowed_methods=frozenset({"GET", "HEAD", "OPTIONS", "PROPFIND", "REPORT"}),
                          respect_retry_after_header=True, raise_on_status=False)
    made = GuardedSession()
    made.trust_env = False  # an HTTP(S)_PROXY from the environment would bypass the address check
    made.mount("https://", GuardedAdapter(allow_private, ports, max_retries=retry))
    if allow_private or plain_http:
        made.mount("http://", GuardedAdapter(allow_private, ports, max_retries=retry))
    else:
        made.mount("http://", _RefusePlainHttp())
    return made


class _RefusePlainHttp(HTTPAdapter):
    def send(self, request, **kwargs):
        host = request.url.split("://", 1)[1].split("/", 1)[0]
        raise ConnectFailed(f"{host} is not reached over HTTPS; the hub does not send data to it unencrypted.",
                            fix="Use an https:// address.")


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
    except requests.RequestException as exc:
        raise transport_error(exc, what, started) from exc


def transport_error(exc: requests.RequestException, what: str, started: float | None = None) -> HubError:
    """The hub's error for a failed request or body read (raise it ``from exc``)."""
    if isinstance(exc, requests.Timeout):
        waited = f" within {time.monotonic() - started:.0f}s" if started is not None else ""
        return ProviderUnavailable(f"{what} did not answer{waited}.")
    if isinstance(exc, requests.ConnectionError):
        return ProviderUnavailable(f"The connection to {what} failed or dropped.")
    return ProviderError(f"{what} could not be read ({type(exc).__name__}).")
