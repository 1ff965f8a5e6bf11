"""Opening IMAP sessions: through the SSRF guard, with TLS or STARTTLS, LOGIN or XOAUTH2.

:class:`ImapClient` is imapclient's client whose sockets come from :func:`hub.ssrf_guard.create_connection`
(checked address, no second DNS lookup, ``TCP_NODELAY``) with TLS wrapped for the host name the
user entered, so SNI and certificate checks stay intact. :func:`open_imap` returns one logged in,
with CONDSTORE/QRESYNC enabled where the server offers them (ENABLE must come before SELECT).

Public API: :class:`ImapClient`, :func:`open_imap`, :func:`xoauth2_string`.
"""

from __future__ import annotations

import base64
import imaplib
import logging
import socket
import ssl

import imapclient
from imapclient.exceptions import IMAPClientError

from hub import ssrf_guard
from hub.exceptions import ConnectFailed, ValidationError
from hub.types import ProviderContext

from hub_imap.config import Endpoint, MailboxConfig, tls_context
from hub_imap.errors import translated
from hub_imap.fetch_response import parse_fetch_response

#: seconds to connect and read the greeting; a wrong port usually shows up here
CONNECT_TIMEOUT = 15.0
#: seconds any later command may take (large FETCHes on slow servers)
READ_TIMEOUT = 120.0


class _GuardedIMAP4(imaplib.IMAP4):
    """imaplib's plain connection, opened through the SSRF guard."""

    def __init__(self, host: str, port: int, timeout: float | None, allow_private: bool):
        self._allow_private = allow_private
        super().__init__(host, port, timeout=timeout)

    def _create_socket(self, timeout=None):
        return ssrf_guard.create_connection(self.host, self.port, timeout, self._allow_private)


class _GuardedIMAP4TLS(_GuardedIMAP4):
    """imaplib's connection with TLS from the first byte, verified for the host name entered."""

    def __init__(self, host: str, port: int, timeout: float | None, allow_private: bool, ssl_context: ssl.SSLContext):
        self.ssl_context = ssl_context
        super().__init__(host, port, timeout, allow_private)

    def _create_socket(self, timeout=None):
        sock = super()._create_socket(timeout)
        try:
            return self.ssl_context.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise


class ImapClient(imapclient.IMAPClient):
    """An IMAPClient whose connection goes through :mod:`hub.ssrf_guard` (see the module docstring)."""

    def __init__(self, host: str, port: int, *, tls: bool, ssl_context: ssl.SSLContext, allow_private: bool,
                 timeout: imapclient.SocketTimeout):
        self._allow_private = allow_private
        #: set by :func:`open_imap`: which sync extensions this session has enabled
        self.condstore = False
        self.qresync = False
        #: mailbox names found by SPECIAL-USE, cached for the session (see folders.py)
        self.special_folders: dict[str, str] = {}
        #: the personal namespace's prefixes ("INBOX." on Cyrus), read once when needed (see folders.py)
        self.personal_prefixes: tuple[str, ...] | None = None
        #: set by :mod:`hub_imap.session`: this connection served an earlier call
        self.reused = False
        super().__init__(host, port, ssl=tls, ssl_context=ssl_context, timeout=timeout)
        # keep INTERNALDATE as the server's aware datetime instead of converting to naive local time
        self.normalise_times = False
        # imapclient turns imaplib's protocol trace on (debug 5) and routes it to a logger; imaplib
        # then formats a repr of every line and literal even when nobody listens — ~5 % of an
        # initial sync's CPU in bench/mail_sync.py. Only trace when that logger would print it.
        if not logging.getLogger("imapclient.imaplib").isEnabledFor(logging.DEBUG):
            self._imap.debug = 0

    # imapclient builds its imaplib object here; overriding it is the only way to choose the socket
    def _create_IMAP4(self):  # noqa: N802 (imapclient's name)
        connect_timeout = getattr(self._timeout, "connect", None)
        if self.ssl:
            return _GuardedIMAP4TLS(self.host, self.port, connect_timeout, self._allow_private, self.ssl_context)
        return _GuardedIMAP4(self.host, self.port, connect_timeout, self._allow_private)

    def fetch(self, messages, data, modifiers=None):
        """imapclient's ``fetch`` (same arguments, same answer), parsed by :mod:`hub_imap.fetch_response`.

        Sent through imaplib's public ``uid()`` for a list of UIDs; anything else (modifiers, ranges,
        sequence numbers) goes to imapclient's own.
        """
        if not self.use_uid or modifiers or not isinstance(messages, (list, tuple)) \
                or not all(isinstance(m, int) for m in messages):
            return super().fetch(messages, data, modifiers)
        if not messages:
            return {}
        items = [data] if isinstance(data, (str, bytes)) else list(data)
        names = " ".join((i.decode() if isinstance(i, bytes) else str(i)).upper() for i in items)
        typ, records = self._imap.uid("FETCH", ",".join(map(str, messages)), f"({names})")
        if typ != "OK":
            raise IMAPClientError(f"fetch failed: {records!r}")
        answer = parse_fetch_response(records, self.normalise_times)
        return {uid: answer[uid] for uid in messages if uid in answer}  # unsolicited FETCHes of others dropped

    def vanished_since(self, uid_set: str, modseq: int) -> list[bytes]:
        """``UID FETCH <uid_set> (UID) (CHANGEDSINCE modseq VANISHED)`` → the VANISHED data (RFC 7162).

        imapclient neither accepts a range string in ``fetch`` nor returns VANISHED responses, so
        this goes through imaplib's public ``uid()`` and ``response()`` — imaplib keeps untagged
        responses by type until they are taken.
        """
        imap = self._imap
        imap.response("VANISHED")  # drop any left from earlier commands
        typ, data = imap.uid("FETCH", uid_set, "(UID)", f"(CHANGEDSINCE {int(modseq)} VANISHED)")
        if typ != "OK":
            raise imaplib.IMAP4.error(f"UID FETCH CHANGEDSINCE failed: {data!r}")
        _typ, vanished = imap.response("VANISHED")
        return [v for v in (vanished or []) if v]


def xoauth2_string(username: str, access_token: str) -> str:
    """The SASL XOAUTH2 initial response (before base64): ``user=…^Aauth=Bearer …^A^A``."""
    return f"user={username}\x01auth=Bearer {access_token}\x01\x01"


def sasl_xoauth2(username: str, access_token: str) -> str:
    """The XOAUTH2 argument as it goes over the wire: base64 of :func:`xoauth2_string`."""
    return base64.b64encode(xoauth2_string(username, access_token).encode()).decode()


def check_security(endpoint: Endpoint, context: ProviderContext) -> None:
    """Refuse unencrypted connections to public servers: the password would cross the internet in clear.

    :raises ValidationError: ``security="none"`` while private hosts are not allowed.
    """
    if endpoint.security == "none" and not context.allow_private_hosts:
        raise ValidationError(
            f"Unencrypted connections to {endpoint.host} are not allowed.",
            fix="Choose SSL/TLS or STARTTLS. Unencrypted connections are only allowed for private servers "
            "an administrator has allowed.",
            field="imap_security",
        )


def open_imap(
    config: MailboxConfig,
    context: ProviderContext,
    *,
    at_connect: bool = False,
    enable: tuple[str, ...] = ("QRESYNC", "CONDSTORE"),
) -> ImapClient:
    """Connect, secure, log in and ENABLE sync extensions; the caller logs out.

    :param at_connect: the person is connecting now (errors phrased for fixing the form).
    :param enable: extensions to ENABLE when offered; the first one the server has wins
        (QRESYNC implies CONDSTORE). ``()`` for a session that only IDLEs.
    :raises HostNotAllowed, ConnectFailed, AuthenticationFailed, AuthExpired, ProviderUnavailable:
    """
    endpoint = config.imap
    check_security(endpoint, context)
    ctx = tls_context(context)
    with translated(config, endpoint, "IMAP", at_connect):
        client = ImapClient(
            endpoint.host, endpoint.port, tls=endpoint.security == "ssl", ssl_context=ctx,
            allow_private=context.allow_private_hosts,
            timeout=imapclient.SocketTimeout(connect=CONNECT_TIMEOUT, read=READ_TIMEOUT),
        )
    try:
        with translated(config, endpoint, "IMAP", at_connect):
            if endpoint.security == "starttls":
                if not client.has_capability("STARTTLS"):
                    raise ConnectFailed(
                        f"The IMAP server {endpoint} does not offer STARTTLS.",
                        fix="Choose SSL/TLS (usually port 993).",
                    )
                client.starttls(ctx)
            if config.auth == "xoauth2":
                client.oauth2_login(config.username, config.secret)
            else:
                client.login(config.username, config.secret)
            _enable_sync_extensions(client, enable)
        return client
    except BaseException:
        _close_quietly(client)
        raise


def _enable_sync_extensions(client: ImapClient, wanted: tuple[str, ...]) -> None:
    if not wanted or not client.has_capability("ENABLE"):
        return
    offered = [ext for ext in wanted if client.has_capability(ext)]
    if not offered:
        return
    enabled = {e.upper() for e in (x.decode() if isinstance(x, bytes) else x for x in client.enable(offered[0]))}
    client.qresync = "QRESYNC" in enabled
    # QRESYNC implies CONDSTORE (RFC 7162 §3.2.3)
    client.condstore = client.qresync or "CONDSTORE" in enabled


def _close_quietly(client: imapclient.IMAPClient) -> None:
    try:
        client.shutdown()
    except (OSError, imaplib.IMAP4.error):
        pass


def close_imap(client: imapclient.IMAPClient) -> None:
    """Log out politely, or just drop the connection when the server is gone."""
    try:
        client.logout()
    except (OSError, imaplib.IMAP4.error, socket.timeout):
        _close_quietly(client)
