"""The hub's own outgoing mail relay (``HUB_SMTP_RELAY_URL``), for mail no user's mailbox can send.

Public API: :func:`configured`, :func:`send`.

Booking e-mails go out through the host's connected mailbox when one can send; otherwise through this
relay, from ``HUB_SMTP_RELAY_SENDER``. ``smtp://`` speaks STARTTLS (required), ``smtps://`` TLS from the
first byte; the user and password in the URL are used for AUTH and never logged.
"""

from __future__ import annotations

import smtplib
import ssl
from urllib.parse import unquote, urlsplit

from hub.config import Settings
from hub.exceptions import ConfigError, ProviderUnavailable
from hub.mime import outgoing_message
from hub.types import Address, OutgoingMessage

TIMEOUT = 30


def configured(settings: Settings) -> bool:
    return bool(settings.smtp_relay_url)


def send(settings: Settings, message: OutgoingMessage) -> str:
    """Send ``message`` from the relay's sender address; returns its Message-ID.

    :raises ConfigError: no relay, or a URL that is not ``smtp://`` / ``smtps://``.
    :raises ProviderUnavailable: the relay could not be reached or refused the message.
    """
    url = urlsplit(settings.smtp_relay_url)
    if url.scheme not in ("smtp", "smtps") or not url.hostname:
        raise ConfigError("HUB_SMTP_RELAY_URL must look like smtp://user:password@host:587.",
                          fix="Set HUB_SMTP_RELAY_URL, or connect a mailbox that can send.")
    sender = message.sender if message.sender.email else Address(settings.smtp_relay_sender, message.sender.name)
    msg = outgoing_message(OutgoingMessage(**{**message.__dict__, "sender": sender}))
    context = ssl.create_default_context(cafile=settings.smtp_relay_ca_file or None)
    where = f"{url.hostname}:{url.port or (465 if url.scheme == 'smtps' else 587)}"
    try:
        client: smtplib.SMTP  # or its subclass SMTP_SSL
        if url.scheme == "smtps":
            client = smtplib.SMTP_SSL(url.hostname, url.port or 465, timeout=TIMEOUT, context=context)
        else:
            client = smtplib.SMTP(url.hostname, url.port or 587, timeout=TIMEOUT)
        with client:
            if url.scheme == "smtp":
                client.starttls(context=context)
            if url.username:
                client.login(unquote(url.username), unquote(url.password or ""))
            client.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        # the exception text names the server's answer, never the URL's password
        raise ProviderUnavailable(f"The mail relay {where} did not take the message ({type(exc).__name__}).",
                                  fix="Check HUB_SMTP_RELAY_URL and that the relay is running.") from None
    return msg["Message-ID"]
