"""Turning socket, TLS, imaplib and smtplib failures into the hub's errors, with fixes people can follow.

Every IMAP or SMTP call of this plugin runs inside :func:`translated`, so no library exception
escapes a hook. At connect time a refused password is :class:`AuthenticationFailed`; later (a
stored account whose password was changed) it is :class:`AuthExpired`.

Public API: :func:`translated`, :func:`auth_failed`.
"""

from __future__ import annotations

import imaplib
import smtplib
import socket
import ssl
from contextlib import contextmanager
from typing import Iterator

from imapclient.exceptions import LoginError

from hub.exceptions import (
    AuthenticationFailed,
    AuthExpired,
    ConnectFailed,
    HubError,
    NotFound,
    ProviderError,
    ProviderUnavailable,
)
from hub.ssrf_guard import connect_error

from hub_imap.config import Endpoint, MailboxConfig

AUTH_MESSAGE = "Authentication failed. Please try again."


def auth_failed(
    config: MailboxConfig, at_connect: bool, server_text: str = "", protocol: str = "IMAP"
) -> AuthenticationFailed:
    """The error for a refused login, with the preset's app-password hint where it applies.

    :param server_text: the server's reply (never holds the password); shown when it is an [ALERT].
    """
    preset = config.preset_info
    text = server_text.strip()
    user = config.smtp_username if protocol == "SMTP" and config.smtp_username else config.username
    if config.auth == "xoauth2":
        fix = "Sign in to the account again through its provider (Google or Microsoft) to renew access."
    elif preset is not None and preset.app_password_fix:
        fix = preset.app_password_fix
    elif "app password" in text.lower() or "application-specific password" in text.lower():
        fix = "This account uses 2-step verification: create an app password at your provider and enter it here."
    else:
        fix = f"Check the user name ({user}) and the password."
    where = "" if protocol == "IMAP" else f" The {protocol} server refused the login."
    detail = f" The server said: {text}" if "[ALERT]" in text.upper() else ""
    if at_connect:
        return AuthenticationFailed(AUTH_MESSAGE + where + detail, fix=fix)
    return AuthExpired(
        f"The mail server no longer accepts the saved password for {config.email}.{where}{detail}",
        fix=f"The password was changed or revoked: reconnect the account with the new one. {fix}",
    )


def _server_text(exc: BaseException | bytes | str) -> str:
    raw = (exc.args[0] if exc.args else "") if isinstance(exc, BaseException) else exc
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    return str(raw)


def _tls_error(exc: ssl.SSLError, endpoint: Endpoint, protocol: str) -> ConnectFailed:
    if isinstance(exc, ssl.SSLCertVerificationError):
        reason = exc.verify_message or exc.reason or str(exc)
        return ConnectFailed(
            f"The TLS certificate of {endpoint.host} could not be verified ({reason}).",
            fix=(
                f"Check that {endpoint.host} is the server's exact host name as written in its certificate. "
                "If the server uses a certificate of your company's own CA, an administrator can add that CA "
                "in the IMAP provider settings."
            ),
        )
    standard = "993" if protocol == "IMAP" else "465"
    return ConnectFailed(
        f"The secure connection to {endpoint} failed ({exc.reason or exc}).",
        fix=(
            f"Check the security setting for port {endpoint.port}: SSL/TLS is used on port {standard}, "
            "STARTTLS on the other standard port."
        ),
    )


def _translate(
    exc: BaseException, config: MailboxConfig, endpoint: Endpoint, protocol: str, at_connect: bool
) -> HubError | None:
    if isinstance(exc, HubError):
        return None
    if isinstance(exc, LoginError) and isinstance(exc.__context__, (imaplib.IMAP4.abort, OSError)):
        # imapclient turns *every* failure during LOGIN into LoginError, a connection dropped
        # mid-LOGIN too: judge by what really happened, or a network blip asks for a new password
        exc = exc.__context__
    if isinstance(exc, ssl.SSLError):
        return _tls_error(exc, endpoint, protocol)
    if isinstance(exc, socket.timeout):
        return ConnectFailed(
            f"{endpoint.host} did not answer on port {endpoint.port} in time.",
            fix="Check the port and the security setting (SSL/TLS or STARTTLS), and that the server is up.",
        ) if at_connect else ProviderUnavailable(f"The mail server {endpoint.host} timed out.")
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return auth_failed(config, at_connect, _server_text(exc.smtp_error), protocol)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return ConnectFailed(
            f"The SMTP server {endpoint} does not support {exc}.",
            fix="Check the SMTP security setting (SSL/TLS on port 465, STARTTLS on 587).",
        )
    if isinstance(exc, (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, smtplib.SMTPHeloError)):
        return ConnectFailed(
            f"The SMTP server {endpoint} closed the connection ({exc}).",
            fix="Check the SMTP port and security setting.",
        ) if at_connect else ProviderUnavailable(f"The SMTP server {endpoint.host} closed the connection.")
    if isinstance(exc, smtplib.SMTPResponseException):
        if 400 <= exc.smtp_code < 500:
            return ProviderUnavailable(f"The SMTP server is busy ({exc.smtp_code} {_server_text(exc.smtp_error)}).")
        return ProviderError(f"The SMTP server refused: {exc.smtp_code} {_server_text(exc.smtp_error)}")
    if isinstance(exc, imaplib.IMAP4.abort):
        return ConnectFailed(
            f"The IMAP server {endpoint} broke off the conversation ({_server_text(exc)}).",
            fix="Check the port and the security setting (SSL/TLS on 993, STARTTLS on 143).",
        ) if at_connect else ProviderUnavailable(f"The connection to {endpoint.host} was lost.")
    if isinstance(exc, imaplib.IMAP4.error):
        text = _server_text(exc)
        upper = text.upper()
        if "[UNAVAILABLE]" in upper or "[INUSE]" in upper or "[LIMIT]" in upper:
            return ProviderUnavailable(f"The IMAP server is temporarily unavailable: {text}")
        refused = ("[AUTHENTICATIONFAILED]", "[AUTHORIZATIONFAILED]")
        if isinstance(exc, LoginError) or any(code in upper for code in refused):
            return auth_failed(config, at_connect, text, protocol)
        if "[NONEXISTENT]" in upper:
            return NotFound(f"The mailbox does not exist on the server: {text}")
        return ProviderError(f"The IMAP server answered with an error: {text}")
    if isinstance(exc, ConnectionError) or isinstance(exc, OSError):
        if at_connect:
            return connect_error(endpoint.host, endpoint.port, exc)
        return ProviderUnavailable(f"The connection to {endpoint.host} failed ({exc}).")
    return None


@contextmanager
def translated(
    config: MailboxConfig, endpoint: Endpoint, protocol: str = "IMAP", at_connect: bool = False
) -> Iterator[None]:
    """Run a block of IMAP/SMTP calls, re-raising library failures as hub errors.

    :param at_connect: the person is connecting now (wrong settings are ConnectFailed /
        AuthenticationFailed) rather than a stored account syncing (transient problems retry).
    """
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - every library error is translated below
        mapped = _translate(exc, config, endpoint, protocol, at_connect)
        if mapped is None:
            raise
        raise mapped from exc
