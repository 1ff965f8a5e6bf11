"""One CalDAV connection: caldav's ``DAVClient`` behind the hub's SSRF guard and error tree.

The ``caldav`` library does discovery and sends the requests; this module adds what the hub
requires around it:

* every host name the client resolves — the first URL, a calendar home on another host, a
  redirect target — goes through :func:`hub.ssrf_guard.checked_addresses`, and the socket connects to the
  checked address (niquests' resolver hook), so DNS rebinding cannot reach internal services;
* every failure becomes a :mod:`hub.exceptions` error (caldav's and niquests' never escape);
* hrefs from the server are paths; :meth:`CalDAVConnection.url` turns them into URLs on the host
  that serves the calendars.

Public API: :class:`CalDAVConnection`.
"""

from __future__ import annotations

import contextlib
import logging
import socket
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Iterator, Mapping
from urllib.parse import urlsplit

import niquests
from caldav import DAVClient
from caldav.lib import error as caldav_error
from caldav.lib.url import URL
from caldav.response import DAVResponse
from lxml import etree
from niquests.packages.urllib3.contrib.resolver.system import SystemResolver

from hub.exceptions import (
    AlreadyExists,
    AuthenticationFailed,
    AuthExpired,
    ConnectFailed,
    CursorExpired,
    HubError,
    NotFound,
    NotSupported,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    WrongEtag,
)
from hub.ssrf_guard import checked_addresses

from hub_caldav.queries import encode_path, propfind

log = logging.getLogger(__name__)

TIMEOUT = 60  # seconds; a big initial REPORT on a slow server takes a while
WHAT = "The calendar server"
AUTH_TYPES = ("basic", "digest")


@dataclass(frozen=True)
class AuthHints:
    """What to tell a person whose password the server refused; ``{server}`` is its host name.

    Presets with their own kind of password (iCloud's app-specific passwords) bring their own words.
    """

    refused: str = "{server} did not accept the user name and password."
    refused_fix: str = ("Check the user name (often your full e-mail address) and the password. If your "
                        "provider uses app passwords for other apps, create one and use it here.")
    expired: str = "{server} no longer accepts the stored password."
    expired_fix: str = "The password was changed or revoked. Reconnect the account with the current one."


class GuardedResolver(SystemResolver):
    """niquests' system resolver, but every answer goes through the hub's SSRF guard."""

    def __init__(self, *patterns: str, allow_private: bool = False, **kwargs):
        super().__init__(*patterns, **kwargs)
        self.allow_private = allow_private

    def getaddrinfo(self, host, port, family, type, proto=0, flags=0, *, quic_upgrade_via_dns_rr=False):
        if isinstance(host, bytes):
            host = host.decode("ascii")
        answers = []
        for address in checked_addresses(host, port or 443, self.allow_private):
            if family not in (socket.AF_UNSPEC, address.family):
                continue
            sockaddr = (address.ip, address.port) if address.family == socket.AF_INET else (address.ip, address.port, 0, 0)
            answers.append((address.family, type or socket.SOCK_STREAM, proto or socket.IPPROTO_TCP, "", sockaddr))
        return answers


class CalDAVConnection:
    """A CalDAV session for one account.

    :param url: where requests start (the discovery URL, or the stored calendar home).
    :param username: the user name the server knows (often the e-mail address).
    :param password: the password or app password (never logged).
    :param allow_private: the administrator allows private hosts (tests, on-premises servers).
    :param connecting: errors are worded for the connect form (AuthenticationFailed, ConnectFailed)
        rather than for a stored account (AuthExpired, ProviderUnavailable).
    :param ca_certificates: PEM text or a path, for servers with a private certificate authority.
    :param auth: ``"basic"``, ``"digest"``, or ``None`` to use what the server's 401 challenge offers.
    :param hints: the words for a refused password.
    """

    def __init__(self, url: str, username: str, password: str, allow_private: bool = False,
                 connecting: bool = False, ca_certificates: str | None = None, auth: str | None = None,
                 hints: AuthHints = AuthHints()):
        self.connecting = connecting
        self.allow_private = allow_private
        self.hints = hints
        self.base = url
        self.url(url)  # refuse a plain-http URL before caldav sends anything
        if auth not in (None, *AUTH_TYPES):
            raise ValueError(f"unknown CalDAV auth type {auth!r}")
        self.client = DAVClient(url=url, username=username, password=password, auth_type=auth,
                                timeout=TIMEOUT, ssl_verify_cert=ca_certificates or True, enable_rfc6764=False)
        self.client.session.close()
        self.client.session = niquests.Session(resolver=GuardedResolver(allow_private=allow_private))

    def rebase(self, url: str) -> None:
        """Send later requests (and resolve later hrefs) from ``url``."""
        self.url(url)
        self.base = url
        self.client.url = URL.objectify(url)

    @property
    def auth(self) -> str | None:
        """The auth scheme in use (``None`` until the server's challenge picked one)."""
        name = type(self.client.auth).__name__ if self.client.auth is not None else ""
        return "digest" if "Digest" in name else "basic" if "Basic" in name else None

    def log_in(self) -> None:
        """Send the credentials from now on, unasked (Basic; over HTTPS only, as every URL here is).

        For servers that answer without a login instead of challenging it (see
        :func:`hub_caldav.discovery.discover`); a server that wants another scheme still says so in a 401.
        """
        if self.client.auth is None:
            self.client.auth_type = "basic"
            self.client.build_auth_object()

    def close(self) -> None:
        """Release the HTTP session."""
        self.client.close()

    def __enter__(self) -> "CalDAVConnection":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- URLs --------------------------------------------------------------------------------------

    def url(self, href: str) -> str:
        """The absolute URL of ``href`` (a path as the server returned it, or already a URL).

        :raises ConnectFailed: the URL is not HTTPS while private hosts are not allowed — the
            password would cross the internet in clear text.
        """
        if "://" not in href:
            parts = urlsplit(self.base)
            href = f"{parts.scheme}://{parts.netloc}{encode_path(href)}"
        if not self.allow_private and urlsplit(href).scheme != "https":
            raise ConnectFailed(f"{urlsplit(href).hostname} is not reached over HTTPS; the hub does not send "
                                "passwords unencrypted.", fix="Use an https:// CalDAV URL.")
        return href

    # --- requests ----------------------------------------------------------------------------------

    def request(self, method: str, href: str, body: str | bytes = "", headers: Mapping[str, str] | None = None,
                ok: tuple[int, ...] = (200, 201, 204, 207)) -> DAVResponse:
        """Send one request; a status outside ``ok`` becomes the matching hub error.

        :raises NotFound: 404/410. :raises WrongEtag: 412. :raises CursorExpired: 403 with
            ``DAV:valid-sync-token``. :raises NotSupported: the server does not offer the report.
        """
        with self.translating():
            response = self.client.request(self.url(href), method, body, dict(headers or {}))
        if response.status not in ok:
            raise self._status_error(response, method)
        return response

    def propfind(self, href: str, props: list[str], depth: int = 0) -> list:
        """PROPFIND ``props`` (Clark names); returns caldav's parsed ``PropfindResult`` list."""
        with self.translating():
            response = self.client.propfind(self.url(href), props=propfind(props), depth=depth)
        if response.status not in (200, 207):
            raise self._status_error(response, "PROPFIND")
        return response.results or []

    def report(self, href: str, body: str, depth: int | None = 1) -> DAVResponse:
        """Send a REPORT with a raw XML body (one round trip, calendar data included)."""
        headers = {"Content-Type": "application/xml; charset=utf-8"}
        if depth is not None:
            headers["Depth"] = str(depth)
        return self.request("REPORT", href, body, headers, ok=(207,))

    @contextlib.contextmanager
    def translating(self) -> Iterator[None]:
        """Run caldav code, turning its and niquests' exceptions into hub errors."""
        try:
            yield
        except HubError:
            raise
        except caldav_error.AuthorizationError as exc:
            raise self._refused(exc.status, exc.preconditions) from None
        except caldav_error.RateLimitError as exc:
            raise RateLimited(f"{WHAT} ({self._host()}) asks the hub to slow down.",
                              retry_after=exc.retry_after_seconds) from None
        except caldav_error.NotFoundError:
            raise NotFound(f"{WHAT} does not know this calendar or event.") from None
        except caldav_error.DAVError as exc:
            raise ProviderError(f"{WHAT} answered unexpectedly ({type(exc).__name__}).") from None
        except niquests.exceptions.SSLError:
            raise ConnectFailed(f"The TLS certificate of {self._host()} could not be verified.",
                                fix="Check the CalDAV URL; the server must present a valid certificate.") from None
        except (niquests.exceptions.Timeout, niquests.exceptions.ConnectionError) as exc:
            if self.connecting:
                raise ConnectFailed(f"Could not reach {self._host()}.",
                                    fix="Check your internet connection and the CalDAV URL.") from None
            raise ProviderUnavailable(f"The connection to {WHAT.lower()} failed ({type(exc).__name__}).") from None
        except niquests.exceptions.RequestException as exc:
            raise ProviderUnavailable(f"The request to {WHAT.lower()} failed ({type(exc).__name__}).") from None
        except etree.XMLSyntaxError:
            raise ProviderUnavailable(f"{WHAT} sent an answer that is not XML.") from None

    # --- errors ------------------------------------------------------------------------------------

    def _host(self) -> str:
        return urlsplit(self.base).hostname or self.base

    def _refused(self, status: int | None, preconditions: list[str]) -> HubError:
        if "{DAV:}valid-sync-token" in preconditions:
            return CursorExpired("The calendar's sync token expired.")
        if "{DAV:}supported-report" in preconditions:
            return NotSupported(f"{WHAT} does not support this report.")
        if status == 401:
            server = self._host()
            if self.connecting:
                return AuthenticationFailed(self.hints.refused.format(server=server), fix=self.hints.refused_fix)
            return AuthExpired(self.hints.expired.format(server=server), fix=self.hints.expired_fix)
        return ProviderError(f"{WHAT} refused access ({status}).",
                             fix="Check that the calendar is still shared with you.")

    def _status_error(self, response: DAVResponse, method: str) -> HubError:
        status = response.status
        preconditions = caldav_error.parse_preconditions(response.raw)
        if any(p.endswith("}no-uid-conflict") for p in preconditions):
            return AlreadyExists("Another event in this calendar already has the same UID.")
        if "{DAV:}valid-sync-token" in preconditions:  # RFC 6578 says 403; Xandikos answers 412
            return CursorExpired("The calendar's sync token expired.")
        if status in (401, 403):
            return self._refused(status, preconditions)
        if status in (404, 410):
            return NotFound(f"{WHAT} has no such calendar or event.")
        if status == 412:
            return WrongEtag("The event changed on the server since the hub last read it.")
        retry_after = _retry_after(response.headers.get("Retry-After"))
        if status == 429 or (status == 503 and retry_after is not None):
            return RateLimited(f"{WHAT} ({self._host()}) asks the hub to slow down.", retry_after=retry_after)
        if status in (405, 501):
            return NotSupported(f"{WHAT} does not support {method}.")
        if status >= 500:
            return ProviderUnavailable(f"{WHAT} ({self._host()}) answered {status}.")
        log.info("CalDAV %s answered %s: %s", method, status, response.raw[:300])
        return ProviderError(f"{WHAT} answered {status} to {method}.")


def _retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date); ``None`` if absent or unreadable."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return max(0.0, (moment - datetime.now(timezone.utc)).total_seconds())
