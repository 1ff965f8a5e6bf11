"""SMTP peer: an aiosmtpd submission server with STARTTLS + AUTH that captures mail.

The test kit's ``smtp_server`` fixture (:mod:`hub.testing.peers.smtp`) runs one per test session and
empties its captured list for each test::

    def test_send(smtp_server):
        creds = smtp_server.add_user("alice", "secret")      # AUTH PLAIN/LOGIN accepts these
        token = smtp_server.add_token("alice")               # AUTH XOAUTH2 accepts this bearer token
        ...send through smtp_server.host / .port (STARTTLS required) or .ssl_port (implicit TLS)...
        [captured] = smtp_server.messages                    # CapturedMessage(mail_from, rcpt_tos, data, login)

``cert_path`` is the self-signed certificate to trust. The default user is ``smtp_server.user``.
"""

from __future__ import annotations

import atexit
import base64
import email
import email.policy
import secrets
import shutil
import ssl
import tempfile
import threading
import warnings
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from hub.peers.base import free_port, self_signed_cert

_CERT_LOCK = threading.Lock()
_CERT_DIR: list[Path] = []


def peer_certificate() -> tuple[Path, Path]:
    """The one self-signed certificate (and key) every mail peer of this process serves.

    OpenSSL keeps a single trusted CA per subject name, and every ``self_signed_cert`` is
    "CN=localhost": two different ones could not be trusted together. Sharing one lets a test
    trust the IMAP and the SMTP peer at once.
    """
    with _CERT_LOCK:
        if not _CERT_DIR:
            directory = Path(tempfile.mkdtemp(prefix="hub-peer-tls-"))
            atexit.register(shutil.rmtree, directory, True)
            _CERT_DIR.append(directory)
        return self_signed_cert(_CERT_DIR[0])


@dataclass(frozen=True)
class SmtpUser:
    username: str
    password: str

    def __repr__(self) -> str:
        return f"<SmtpUser {self.username}>"


@dataclass
class CapturedMessage:
    """One message the server accepted: the envelope, the raw bytes and who authenticated."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    login: str | None = None
    mechanism: str | None = None

    def message(self) -> EmailMessage:
        """The message parsed with the modern ``email`` policy, for assertions."""
        return email.message_from_bytes(self.data, policy=email.policy.default)


@dataclass
class _Handler:
    """aiosmtpd handler: captures DATA, checks AUTH PLAIN/LOGIN, and adds an XOAUTH2 mechanism."""

    server: "SmtpServer"
    messages: list[CapturedMessage] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd hook naming)
        login = session.auth_data if isinstance(session.auth_data, str) else None
        mechanism = getattr(session, "hub_mechanism", None)
        self.messages.append(CapturedMessage(envelope.mail_from, list(envelope.rcpt_tos),
                                             bytes(envelope.original_content or envelope.content), login, mechanism))
        return "250 Message accepted for delivery"

    async def auth_XOAUTH2(self, server, args):  # noqa: N802 (aiosmtpd mechanism naming)
        from aiosmtpd.smtp import AuthResult

        if len(args) > 1:
            blob = args[1].encode()
        else:
            blob = await server.challenge_auth("", encode_to_b64=False)
            if not isinstance(blob, bytes):
                return AuthResult(success=False, handled=False)
        try:
            fields = dict(
                part.split("=", 1) for part in base64.b64decode(blob).decode().split("\x01") if "=" in part
            )
        except (ValueError, UnicodeDecodeError):
            return AuthResult(success=False, handled=False)
        user, auth = fields.get("user", ""), fields.get("auth", "")
        token = auth.removeprefix("Bearer ")
        if auth.startswith("Bearer ") and self.server.tokens.get(token) == user:
            server.session.hub_mechanism = "XOAUTH2"
            return AuthResult(success=True, auth_data=user)
        return AuthResult(success=False, handled=False)


def _implicit_tls_controller():
    from aiosmtpd.controller import Controller

    class ImplicitTLSController(Controller):
        """SMTPS: the transport is TLS from the first byte, which aiosmtpd's AUTH check cannot see."""

        def factory(self):
            with warnings.catch_warnings():
                # "AUTH without TLS" does not apply: the whole connection is TLS
                warnings.simplefilter("ignore", UserWarning)
                return super().factory()

    return ImplicitTLSController


class SmtpServer:
    """Two aiosmtpd controllers on loopback: ``port`` (STARTTLS required) and ``ssl_port`` (implicit TLS)."""

    host = "127.0.0.1"

    def __init__(self, directory: Path):
        self.directory = directory
        self.cert_path, self.key_path = peer_certificate()
        self.users: dict[str, str] = {}
        self.tokens: dict[str, str] = {}
        self.handler = _Handler(self)
        self.port = free_port()
        self.ssl_port = free_port()
        self._controllers: list[Any] = []
        self._lock = threading.Lock()
        self.user = self.add_user("hubtest", secrets.token_urlsafe(12))

    @property
    def messages(self) -> list[CapturedMessage]:
        return self.handler.messages

    def add_user(self, username: str, password: str) -> SmtpUser:
        """Accept ``username``/``password`` for AUTH PLAIN and LOGIN."""
        with self._lock:
            self.users[username] = password
        return SmtpUser(username, password)

    def add_token(self, username: str) -> str:
        """A bearer token AUTH XOAUTH2 accepts for ``username``."""
        token = "ya29." + secrets.token_urlsafe(24)
        self.tokens[token] = username
        return token

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts this server's certificate."""
        return ssl.create_default_context(cafile=str(self.cert_path))

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult, LoginPassword

        if isinstance(auth_data, LoginPassword):
            login, password = auth_data.login.decode(), auth_data.password.decode()
            if self.users.get(login) == password:
                session.hub_mechanism = mechanism
                return AuthResult(success=True, auth_data=login)
        return AuthResult(success=False, handled=False)

    def start(self) -> "SmtpServer":
        from aiosmtpd.controller import Controller

        _ImplicitTLSController = _implicit_tls_controller()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_path, self.key_path)
        common: dict[str, Any] = dict(hostname=self.host, authenticator=self._authenticate, auth_required=True,
                                      server_hostname="localhost")
        self._controllers = [
            Controller(self.handler, port=self.port, tls_context=context, require_starttls=True, **common),
            _ImplicitTLSController(self.handler, port=self.ssl_port, ssl_context=context, auth_require_tls=False,
                                   **common),
        ]
        for controller in self._controllers:
            controller.start()
        return self

    def stop(self) -> None:
        for controller in self._controllers:
            controller.stop()
        self._controllers = []
