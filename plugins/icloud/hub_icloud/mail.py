"""iCloud Mail through the IMAP plugin's code, with iCloud's hosts.

Nothing about IMAP or SMTP lives here: the ``crm-hub-imap`` plugin syncs, sends and files the
Sent copy. This module only builds the mailbox settings — the IMAP plugin's ``icloud`` preset
(``imap.mail.me.com:993`` SSL, ``smtp.mail.me.com:587`` STARTTLS), with the hosts an administrator
may override in the iCloud provider's configuration — and signs in with the Apple ID and the
same app-specific password the calendars use.

Public API: :func:`verify_login`, :func:`sync_mail`, :func:`send_mail`, :func:`release`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hub.types import AccountHandle, MailPage, OutgoingMessage, ProviderContext, SentMessage

from hub_icloud.config import ICloudConfig
from hub_imap import connect as imap_connect
from hub_imap import hooks as imap_hooks
from hub_imap import session as imap_session
from hub_imap import smtp as imap_smtp
from hub_imap.config import MailboxConfig

PRESET = "icloud"


def _params(context: ProviderContext, email: str, password: str) -> dict[str, Any]:
    config = ICloudConfig.from_context(context)
    # iCloud accepts the full address as the user name for IMAP and requires it for SMTP
    return {"preset": PRESET, "email": email, "username": email, "password": password,
            "imap_host": config.imap_host, "imap_port": config.imap_port, "imap_security": config.imap_security,
            "smtp_host": config.smtp_host, "smtp_port": config.smtp_port, "smtp_security": config.smtp_security}


def mailbox_config(account: AccountHandle) -> MailboxConfig:
    """The IMAP plugin's settings for this account's iCloud mailbox."""
    return MailboxConfig.from_params(_params(account.context, account.email, account.credentials["password"]))


def verify_login(context: ProviderContext, email: str, password: str) -> None:
    """Log in to iCloud's IMAP and SMTP servers once, as the connect form requires.

    :raises AuthenticationFailed, ConnectFailed, HostNotAllowed: from the IMAP plugin, with its
        iCloud app-specific-password hint.
    """
    imap_connect.connect(context, _params(context, email, password))


def sync_mail(account: AccountHandle, folder: str, cursor: str | None, limit: int, since: datetime) -> MailPage:
    """One page of mail in ``folder`` ("inbox" or "sent"), synced by the IMAP plugin."""
    return imap_hooks.sync_mail(account, folder, cursor, limit, since, config=mailbox_config(account))


def send_mail(account: AccountHandle, message: OutgoingMessage) -> SentMessage:
    """Send through iCloud's SMTP server; the IMAP plugin files the copy in Sent."""
    return imap_smtp.send_mail(account, message, config=mailbox_config(account))


def release(account: AccountHandle) -> None:
    """Close the account's cached IMAP connections (on disconnect)."""
    imap_session.release(account.id)
