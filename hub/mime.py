"""The RFC 5322 message for mail the hub sends, one copy for every provider that sends raw mail (SMTP,
Gmail's ``messages.send``).

Public API: :func:`outgoing_message`, :func:`add_attachments`.
"""

from __future__ import annotations

from datetime import datetime, timezone
from email.headerregistry import Address as HeaderAddress
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from hub.exceptions import ValidationError
from hub.types import Address, OutgoingMessage


def outgoing_message(message: OutgoingMessage, sender_email: str | None = None, keep_bcc: bool = False) -> EmailMessage:
    """``message`` as an ``EmailMessage``: addresses, Date, Message-ID, threading, text and HTML parts.

    :param sender_email: the account's address, when ``message.sender`` carries none.
    :param keep_bcc: write the Bcc header — for APIs that take the recipients from the headers (Gmail drops
        the header before delivery); SMTP leaves it out, the Bcc recipients go into the envelope only.
    :raises ValidationError: an address that cannot be written into a header.
    """
    sender = message.sender.email or sender_email or ""
    msg = EmailMessage()
    msg["From"] = _header_address(Address(sender, message.sender.name))
    for name, people in (("To", message.to), ("Cc", message.cc), ("Bcc", message.bcc if keep_bcc else [])):
        if people:
            msg[name] = [_header_address(a) for a in people]
    if message.reply_to:
        msg["Reply-To"] = _header_address(message.reply_to)
    msg["Subject"] = message.subject
    msg["Date"] = format_datetime(datetime.now(timezone.utc))
    msg["Message-ID"] = message.message_id or make_msgid(domain=sender.rpartition("@")[2] or None)
    if message.in_reply_to:
        msg["In-Reply-To"] = message.in_reply_to
    # RFC 5322 §3.6.4: the parent's References, then the parent itself (mail clients thread by it)
    references = list(message.references)
    if message.in_reply_to and message.in_reply_to not in references:
        references.append(message.in_reply_to)
    if references:
        msg["References"] = " ".join(references)
    if message.text_body or not message.html_body:
        msg.set_content(message.text_body or "")
        if message.html_body:
            msg.add_alternative(message.html_body, subtype="html")
    else:
        msg.set_content(message.html_body, subtype="html")
    add_attachments(msg, message.attachments)
    return msg


def add_attachments(msg: EmailMessage, attachments) -> None:
    """Append ``OutgoingAttachment``s; ``content_type`` parameters (``method=REQUEST``) are kept."""
    for attachment in attachments:
        maintype, _, rest = attachment.content_type.partition("/")
        subtype, *params = [p.strip() for p in rest.split(";")]
        extra = dict(p.split("=", 1) for p in params if "=" in p)
        msg.add_attachment(attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename,
                           params=extra)


def _header_address(address: Address) -> HeaderAddress:
    try:
        return HeaderAddress(display_name=address.name or "", addr_spec=address.email)
    except (ValueError, IndexError, TypeError) as exc:
        raise ValidationError(f"{address.email!r} is not a valid email address ({exc}).",
                              fix="Check the address.") from None
