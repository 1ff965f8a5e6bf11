"""Sending mail from the CRM through the user's own mailbox, and logging what was sent.

Public API: :func:`send_mail`.

The message goes out through the account's provider (``hub_send_mail``: Gmail API, Graph sendMail,
SMTP), so it sits in the user's own Sent folder like any other mail. The hub gives it a Message-ID
before sending, so when the sent folder syncs later the copy is recognised as the same mail and is
not logged a second time.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime, timezone
from email.utils import make_msgid

import sqlalchemy as sa

from hub.account_status import log_error, record_failure
from hub.crm.matching import domain_of
from hub.exceptions import (
    AuthExpired,
    ConfigError,
    NotSupported,
    PermissionDenied,
    ProviderError,
    ValidationError,
)
from hub.models import Account, MailMessage
from hub.sync.mail_rows import clean_message
from hub.sync.mail_store import store_messages
from hub.types import OutgoingMessage, RemoteMessage, SentMessage

log = logging.getLogger(__name__)


def send_mail(hub, user_id: int, account_id: int, message: OutgoingMessage) -> int:
    """Send ``message`` from ``user_id``'s account ``account_id`` and log it. Returns the stored row's id.

    :raises PermissionDenied: the account is not the user's.
    :raises NotSupported: the account's provider cannot send mail.
    :raises ValidationError: no recipient.
    :raises AuthExpired, RateLimited, ProviderUnavailable, ConnectFailed: from the provider; an expired
        grant also turns the account to Error with "Reconnect", like a failed sync.
    """
    with hub.db.session() as s:
        account = s.get(Account, account_id)
        if account is None:
            raise ConfigError(f"Account {account_id} does not exist.")
        if account.user_id != user_id:
            raise PermissionDenied("You can only send from your own accounts.")
        provider = account.provider
    if not hub.plugins.provider(provider).can("send"):
        raise NotSupported("This account cannot send mail through the hub.",
                           fix="Connect an account that can send, or send from your mail program.")
    if not (message.to or message.cc or message.bcc):
        raise ValidationError("The message has no recipient.", fix="Add at least one address.", field="to")
    if not message.message_id:
        domain = domain_of(message.sender.email) or "crm-hub.invalid"
        message = dataclasses.replace(message, message_id=make_msgid(domain=domain))

    try:
        sent: SentMessage = hub.plugins.call("hub_send_mail", account=hub.account_handle(account_id), message=message)
    except ProviderError as exc:
        with hub.db.session(write_lock=True) as s:
            account = s.get(Account, account_id)
            # a lost grant concerns syncing too; other failures are only noted in the error log
            (record_failure if isinstance(exc, AuthExpired) else log_error)(s, account, exc, "send")
        raise

    remote = RemoteMessage(
        remote_id=sent.remote_id or f"crm:{sent.message_id or message.message_id}",
        folder="sent",
        message_id=sent.message_id or message.message_id,
        thread_id=sent.thread_id or message.thread_id,
        in_reply_to=message.in_reply_to,
        references=list(message.references),
        subject=message.subject,
        sender=message.sender,
        to=list(message.to), cc=list(message.cc), bcc=list(message.bcc),
        date=datetime.now(timezone.utc),
        text_body=message.text_body,
        html_body=message.html_body,
    )
    clean = clean_message(remote, "sent")
    with hub.db.session(write_lock=True) as s:
        result = store_messages(s, user_id=user_id, account_id=account_id, folder="sent", messages=[clean],
                                source="crm")
        if clean.remote_id in result.row_ids:
            return result.row_ids[clean.remote_id]
        # the sent folder's sync stored it in the meantime: that row is the one
        return s.scalar(sa.select(MailMessage.id).where(
            MailMessage.account_id == account_id, MailMessage.folder == "sent",
            MailMessage.remote_id == clean.remote_id))
