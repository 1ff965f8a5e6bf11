"""Sending through SMTP: guarded connection, STARTTLS or TLS, AUTH PLAIN/LOGIN/XOAUTH2, then the Sent copy.

:class:`GuardedSMTP` / :class:`GuardedSMTPSSL` are smtplib's clients with sockets from
:func:`hub.ssrf_guard.create_connection` (checked address, ``TCP_NODELAY``); TLS is still wrapped for the
host name entered (``smtplib`` passes ``server_hostname=self._host``), so SNI and certificate
checks are kept.

Public API: :func:`open_smtp`, :func:`send_mail` (the message itself: :func:`hub.mime.outgoing_message`).
"""

from __future__ import annotations

import logging
import re
import smtplib
from email.message import EmailMessage

from hub import ssrf_guard
from hub.exceptions import HubError, ValidationError
from hub.mime import outgoing_message
from hub.types import AccountHandle, OutgoingMessage, SentMessage

from hub_imap import session
from hub_imap.config import MailboxConfig, tls_context
from hub_imap.connection import (
    CONNECT_TIMEOUT,
    READ_TIMEOUT,
    check_security,
    xoauth2_string,
)
from hub_imap.errors import translated
from hub_imap.fetch import remote_id
from hub_imap.folders import mailbox_for

log = logging.getLogger(__name__)


class GuardedSMTP(smtplib.SMTP):
    """smtplib.SMTP connecting through the SSRF guard (``allow_private`` set on a subclass, see open_smtp)."""

    allow_private = False

    def _get_socket(self, host, port, timeout):
        # smtplib's hook for making the socket (SMTP_SSL wraps what it returns)
        return ssrf_guard.create_connection(host, port, timeout, self.allow_private)


class GuardedSMTPSSL(smtplib.SMTP_SSL, GuardedSMTP):
    """smtplib.SMTP_SSL over the guarded socket: SMTP_SSL wraps what GuardedSMTP connects."""


def open_smtp(config: MailboxConfig, account_context, *, at_connect: bool = False) -> smtplib.SMTP:
    """Connect, secure and authenticate to the mailbox's SMTP server; the caller quits.

    :raises HostNotAllowed, ConnectFailed, AuthenticationFailed, AuthExpired, ProviderUnavailable:
    """
    endpoint = config.smtp
    check_security(endpoint, account_context)
    ctx = tls_context(account_context)
    # smtplib connects in the constructor, so the guard's setting travels as a class attribute
    base = GuardedSMTPSSL if endpoint.security == "ssl" else GuardedSMTP
    smtp_class = type(base.__name__, (base,), {"allow_private": account_context.allow_private_hosts})
    extra = {"context": ctx} if endpoint.security == "ssl" else {}
    with translated(config, endpoint, "SMTP", at_connect):
        client = smtp_class(endpoint.host, endpoint.port, timeout=CONNECT_TIMEOUT, **extra)
    try:
        with translated(config, endpoint, "SMTP", at_connect):
            client.sock.settimeout(READ_TIMEOUT)
            client.ehlo()
            if endpoint.security == "starttls":
                client.starttls(context=ctx)
                client.ehlo()
            _authenticate(client, config)
        return client
    except BaseException:
        client.close()
        raise


def _authenticate(client: smtplib.SMTP, config: MailboxConfig) -> None:
    username = config.smtp_username or config.username
    if config.auth == "xoauth2":
        raw = xoauth2_string(username, config.secret)
        # smtplib base64-encodes what the callable returns; 235 = accepted
        client.auth("XOAUTH2", lambda challenge=None: raw, initial_response_ok=True)
        return
    if not client.has_extn("auth"):
        return  # a relay that takes mail without AUTH (on-premises); nothing to check
    client.login(username, config.smtp_secret or config.secret)


def send_mail(account: AccountHandle, message: OutgoingMessage, config: MailboxConfig | None = None) -> SentMessage:
    """Send ``message`` through the account's SMTP server and file a copy in its Sent folder.

    The copy is APPENDed unless the server files submitted mail itself (Gmail, Exchange Online).
    A failed APPEND after a successful send is logged, not raised: the mail is out.
    """
    config = config or MailboxConfig.for_account(account)
    recipients = [a.email for a in (*message.to, *message.cc, *message.bcc)]
    if not recipients:
        raise ValidationError("The message has no recipients.", fix="Add at least one recipient.")
    # with Bcc for the sender's copy in Sent; smtplib's send_message leaves the header off the wire
    msg = outgoing_message(message, account.email, keep_bcc=True)
    client = open_smtp(config, account.context)
    try:
        with translated(config, config.smtp, "SMTP"):
            try:
                client.send_message(msg, from_addr=message.sender.email or account.email, to_addrs=recipients)
            except smtplib.SMTPRecipientsRefused as exc:
                refused = ", ".join(sorted(exc.recipients))
                raise ValidationError(f"The mail server refused the recipients {refused}.",
                                      fix="Check the addresses.") from None
            except smtplib.SMTPSenderRefused as exc:
                raise ValidationError(
                    f"The mail server refused to send as {exc.sender}.",
                    fix="Send from the account's own address or one of its aliases.",
                ) from None
    finally:
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            client.close()
    copy_id = None if config.server_saves_sent else _save_copy(account, config, msg, message)
    return SentMessage(remote_id=copy_id, message_id=msg["Message-ID"], thread_id=message.thread_id)


_APPENDUID = re.compile(rb"APPENDUID (\d+) (\d+)", re.IGNORECASE)


def _save_copy(
    account: AccountHandle, config: MailboxConfig, msg: EmailMessage, message: OutgoingMessage
) -> str | None:
    """APPEND the sender's copy (Bcc shown, as mail apps keep it) to the Sent folder; its remote id when
    the server says it."""
    raw = msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))
    try:
        with translated(config, config.imap, "IMAP"):
            with session.imap_session(account.id, config, account.context) as client:
                mailbox = mailbox_for(client, "sent", config.sent_folder)
                response = client.append(mailbox, raw, flags=(b"\\Seen",))
    except HubError as exc:
        log.warning("sent mail of account %s could not be filed in Sent: %s", account.id, exc)
        return None
    found = _APPENDUID.search(response if isinstance(response, bytes) else str(response).encode())
    return remote_id(mailbox, int(found.group(1)), int(found.group(2))) if found else None
