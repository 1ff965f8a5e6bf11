"""Connecting a mailbox: check the IMAP login and the SMTP AUTH for real before anything is stored.

Public API: :func:`connect`, :data:`CONNECT_FORM`.
"""

from __future__ import annotations

import logging
import smtplib
from typing import Any, Mapping

from hub.exceptions import HubError
from hub.types import ConnectField, ConnectResult, ProviderContext

from hub_imap.config import SECURITY_CHOICES, MailboxConfig
from hub_imap.connection import close_imap, open_imap
from hub_imap.errors import translated
from hub_imap.folders import mailbox_for
from hub_imap.presets import PRESET_CHOICES
from hub_imap.smtp import open_smtp

log = logging.getLogger(__name__)

_SECURITY_HELP = "SSL/TLS (ssl) encrypts from the start; STARTTLS upgrades a plain connection."

#: the connect form; a preset fills the server fields left empty
CONNECT_FORM = (
    ConnectField("email", "Email address", kind="email"),
    ConnectField("preset", "Mail provider", kind="select", required=False, default="custom", choices=PRESET_CHOICES,
                 help="Choose your provider to fill in the servers, or 'custom' to enter them."),
    ConnectField("username", "User name", required=False, help="Usually your email address (the default)."),
    ConnectField("password", "Password", kind="password",
                 help="Your mail password, or an app password when your account uses 2-step verification."),
    ConnectField("imap_host", "IMAP server", required=False, help="e.g. imap.example.com"),
    ConnectField("imap_port", "IMAP port", kind="number", required=False,
                 help="Empty: 993 for SSL/TLS, 143 for STARTTLS."),
    ConnectField("imap_security", "IMAP security", kind="select", required=False, choices=SECURITY_CHOICES,
                 help=_SECURITY_HELP + " Empty: the provider's setting, else SSL/TLS."),
    ConnectField("smtp_host", "SMTP server", required=False, help="e.g. smtp.example.com"),
    ConnectField("smtp_port", "SMTP port", kind="number", required=False,
                 help="Empty: 465 for SSL/TLS, 587 for STARTTLS."),
    ConnectField("smtp_security", "SMTP security", kind="select", required=False, choices=SECURITY_CHOICES,
                 help=_SECURITY_HELP + " Empty: the provider's setting, else SSL/TLS."),
)


def connect(context: ProviderContext, params: Mapping[str, Any]) -> ConnectResult:
    """Validate the form, log in to IMAP and authenticate to SMTP; return what the hub stores.

    :raises ValidationError: a form field is wrong.
    :raises AuthenticationFailed: IMAP or SMTP refused the credentials (with an app-password hint
        for providers that need one).
    :raises HostNotAllowed, ConnectFailed: a server cannot (or may not) be reached, or TLS failed.
    """
    config = MailboxConfig.from_params(params)
    imap = open_imap(config, context, at_connect=True, enable=())
    try:
        with translated(config, config.imap, "IMAP", at_connect=True):
            try:
                mailbox_for(imap, "sent", config.sent_folder)
            except HubError as exc:  # mail still syncs; sending files no copy until the folder exists
                log.info("mailbox %s has no Sent folder: %s", config.email, exc)
    finally:
        close_imap(imap)
    smtp = open_smtp(config, context, at_connect=True)
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()
    return ConnectResult(email=config.email, credentials=config.credentials(), display_name=config.email,
                         settings=config.settings())
