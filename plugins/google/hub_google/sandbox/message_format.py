"""Gmail's ``Message`` resource in its formats: minimal, metadata, full and raw.

``full`` gives the MIME tree as ``payload``: text parts carry their bytes in ``body.data``
(base64url), attachments only ``body.attachmentId`` and ``size`` — the bytes come from
``messages.attachments.get``.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from email.message import Message

from hub_google.sandbox.errors import bad_request, not_found
from hub_google.sandbox.mailbox import StoredMessage

FORMATS = ("minimal", "full", "raw", "metadata")


def b64url(data: bytes) -> str:
    """base64url text of ``data``, as the Gmail API writes bytes."""
    return base64.urlsafe_b64encode(data).decode()


def render(message: StoredMessage, fmt: str = "full", metadata_headers: list[str] = ()) -> dict:
    """The Message resource of ``message`` in format ``fmt``."""
    if fmt not in FORMATS:
        raise bad_request(f"Invalid value at 'format' ({fmt})", location="format")
    body = {
        "id": message.id,
        "threadId": message.thread_id,
        "labelIds": list(message.labels),
        "snippet": snippet(message.parsed),
        "sizeEstimate": len(message.raw),
        "historyId": str(message.history_id),
        "internalDate": str(message.internal_date),
    }
    if fmt == "raw":
        body["raw"] = b64url(message.raw)
    elif fmt == "metadata":
        wanted = {h.lower() for h in metadata_headers}
        headers = [h for h in _headers(message.parsed) if not wanted or h["name"].lower() in wanted]
        body["payload"] = {"partId": "", "mimeType": message.parsed.get_content_type(), "filename": "",
                           "headers": headers, "body": {"size": 0}}
    elif fmt == "full":
        body["payload"] = _part(message, message.parsed, "")
    return body


def _headers(part: Message) -> list[dict]:
    # header values unfolded, as Gmail shows them
    return [{"name": name, "value": re.sub(r"\r?\n[ \t]+", " ", str(value))} for name, value in part.items()]


def _is_attachment(part: Message) -> bool:
    disposition = (part.get("Content-Disposition") or "").split(";")[0].strip().lower()
    return bool(part.get_filename()) or disposition == "attachment"


def attachment_id(message: StoredMessage, part_id: str) -> str:
    """A stable attachment id for a part of a message."""
    digest = hashlib.sha256(f"{message.id}/{part_id}".encode()).digest()
    return "ANGjdJ" + base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _part(message: StoredMessage, part: Message, part_id: str) -> dict:
    out = {"partId": part_id, "mimeType": part.get_content_type(), "filename": part.get_filename() or "",
           "headers": _headers(part)}
    if part.is_multipart():
        out["body"] = {"size": 0}
        children = part.get_payload()
        out["parts"] = [_part(message, child, f"{part_id}.{i}" if part_id else str(i))
                        for i, child in enumerate(children)]
        return out
    data = part.get_payload(decode=True) or b""
    if _is_attachment(part):
        out["body"] = {"attachmentId": attachment_id(message, part_id), "size": len(data)}
    else:
        out["body"] = {"size": len(data), "data": b64url(data)} if data else {"size": 0}
    return out


def attachment(message: StoredMessage, wanted_id: str) -> dict:
    """messages.attachments.get: the bytes of one attachment part."""
    for part_id, part in _leaves(message.parsed, ""):
        if _is_attachment(part) and attachment_id(message, part_id) == wanted_id:
            data = part.get_payload(decode=True) or b""
            return {"attachmentId": wanted_id, "size": len(data), "data": b64url(data)}
    raise not_found("Requested entity was not found.")


def _leaves(part: Message, part_id: str):
    if part.is_multipart():
        for i, child in enumerate(part.get_payload()):
            yield from _leaves(child, f"{part_id}.{i}" if part_id else str(i))
    else:
        yield part_id, part


def snippet(parsed: Message) -> str:
    """The first words of the first text part, as Gmail's ``snippet``."""
    for _, part in _leaves(parsed, ""):
        if part.get_content_type() in ("text/plain", "text/html") and not _is_attachment(part):
            raw = part.get_payload(decode=True) or b""
            text = raw.decode(part.get_content_charset() or "utf-8", "replace")
            if part.get_content_type() == "text/html":
                text = re.sub(r"<[^>]+>", " ", text)
            return html.escape(" ".join(html.unescape(text).split())[:200], quote=False)
    return ""
