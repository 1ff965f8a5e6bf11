"""Gmail message JSON → :class:`hub.types.RemoteMessage`, and outgoing mail → RFC 822 for ``send``.

A ``full``-format message has its MIME tree in ``payload``: text parts carry base64url bytes,
attachments only an ``attachmentId`` and a size — which is all the hub stores about them. Header
values may still hold RFC 2047 encoded words; they are decoded here. A message that cannot be read
fully comes back with ``parse_error`` set and whatever was readable.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime, timezone
from email.header import decode_header, make_header
from email.policy import SMTP
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any

from hub.mime import outgoing_message
from hub.types import Address, AttachmentInfo, OutgoingMessage, RemoteMessage


def _decode_words(value: str) -> str:
    try:
        return str(make_header(decode_header(value)))
    except (UnicodeError, LookupError, ValueError, binascii.Error):
        return value


def _addresses(value: str) -> list[Address]:
    return [Address(addr, _decode_words(name)) for name, addr in getaddresses([value]) if addr]


def _data(body: dict[str, Any]) -> bytes:
    text = body.get("data") or ""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _charset(headers: dict[str, str]) -> str:
    content_type = headers.get("content-type", "")
    for param in content_type.split(";")[1:]:
        key, _, value = param.strip().partition("=")
        if key.lower() == "charset":
            return value.strip().strip('"') or "utf-8"
    return "utf-8"


def _walk(part: dict[str, Any], message: RemoteMessage, texts: list[str], htmls: list[str]) -> None:
    headers = {h["name"].lower(): h["value"] for h in part.get("headers", [])}
    body = part.get("body") or {}
    mime = (part.get("mimeType") or "").lower()
    if part.get("parts"):
        for child in part["parts"]:
            _walk(child, message, texts, htmls)
        return
    if part.get("filename") or body.get("attachmentId"):
        message.attachments.append(AttachmentInfo(filename=_decode_words(part.get("filename") or ""),
                                                  content_type=mime or "application/octet-stream",
                                                  size=int(body.get("size") or 0),
                                                  remote_id=body.get("attachmentId")))
        return
    if mime in ("text/plain", "text/html"):
        raw = _data(body)
        try:
            text = raw.decode(_charset(headers), "replace")
        except LookupError:  # an unknown charset name: read it as UTF-8 rather than fail
            text = raw.decode("utf-8", "replace")
        (texts if mime == "text/plain" else htmls).append(text)


def to_remote(item: dict[str, Any], folder: str) -> RemoteMessage:
    """The hub's view of a ``full``-format Gmail message."""
    message = RemoteMessage(remote_id=item["id"], folder=folder, thread_id=item.get("threadId"),
                            size=int(item.get("sizeEstimate") or 0))
    try:
        payload = item.get("payload") or {}
        headers: dict[str, str] = {}
        for header in payload.get("headers", []):
            headers.setdefault(header["name"].lower(), header["value"])
        message.message_id = headers.get("message-id", "").strip() or None
        message.in_reply_to = headers.get("in-reply-to", "").strip() or None
        message.references = headers.get("references", "").split()
        message.subject = _decode_words(headers.get("subject", ""))
        senders = _addresses(headers.get("from", ""))
        message.sender = senders[0] if senders else None
        message.to = _addresses(headers.get("to", ""))
        message.cc = _addresses(headers.get("cc", ""))
        message.bcc = _addresses(headers.get("bcc", ""))
        message.date = _date(headers.get("date"), item.get("internalDate"))
        texts: list[str] = []
        htmls: list[str] = []
        _walk(payload, message, texts, htmls)
        message.text_body = "\n".join(texts)
        message.html_body = "\n".join(htmls)
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:  # one bad message never fails the page
        message.parse_error = f"{type(exc).__name__}: {exc}"
        message.date = message.date or _date(None, item.get("internalDate"))
    return message


def _date(header: str | None, internal_ms: str | None) -> datetime | None:
    """The Date header when it reads as an aware time, else Gmail's internal (receive) date."""
    if header:
        try:
            parsed = parsedate_to_datetime(header)
            if parsed.tzinfo is not None:
                return parsed
        except (TypeError, ValueError, IndexError):
            pass
    if internal_ms and str(internal_ms).isdigit():
        return datetime.fromtimestamp(int(internal_ms) / 1000, timezone.utc)
    return None


# --- sending --------------------------------------------------------------------------------------------


def build_raw(message: OutgoingMessage) -> tuple[str, str]:
    """(base64url RFC 822 message for ``messages.send``, its Message-ID).

    Gmail takes the recipients from the headers, Bcc included (it drops that header before delivery),
    and keeps a reply in its thread only with In-Reply-To, References and the same subject.
    """
    mail = outgoing_message(message, keep_bcc=True)
    return base64.urlsafe_b64encode(mail.as_bytes(policy=SMTP)).decode(), mail["Message-ID"]
