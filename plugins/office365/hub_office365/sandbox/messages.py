"""Outlook messages as the sandbox stores and renders them (Graph's message resource).

Messages live in folders by id; well-known names (``inbox``, ``sentitems``) resolve through the
mailbox. Sending copies the message into Sent Items (with a new item id, as Exchange does) and, when a
recipient is another sandbox mailbox, into that mailbox's Inbox.
"""

from __future__ import annotations

import base64
import re
import secrets
import uuid
from email.utils import format_datetime
from typing import Any

from hub_office365.sandbox import times
from hub_office365.sandbox.errors import invalid_request
from hub_office365.sandbox.ids import new_change_key, new_id, now

#: what Graph returns when a client asks for no $select (internetMessageHeaders only on request)
DEFAULT_FIELDS = ["id", "createdDateTime", "lastModifiedDateTime", "changeKey", "categories", "receivedDateTime",
                  "sentDateTime", "hasAttachments", "internetMessageId", "subject", "bodyPreview", "importance",
                  "parentFolderId", "conversationId", "isDeliveryReceiptRequested", "isReadReceiptRequested",
                  "isRead", "isDraft", "webLink", "inferenceClassification", "body", "sender", "from",
                  "toRecipients", "ccRecipients", "bccRecipients", "replyTo", "flag"]


def recipient(value: Any) -> dict:
    """``{"emailAddress": {"name", "address"}}`` from an address, a (name, address) pair or a Graph dict."""
    if isinstance(value, dict):
        email = value.get("emailAddress") or value
        return {"emailAddress": {"name": email.get("name") or email["address"], "address": email["address"]}}
    if isinstance(value, (tuple, list)):
        return {"emailAddress": {"name": value[0] or value[1], "address": value[1]}}
    return {"emailAddress": {"name": value, "address": value}}


def _header_address(item: dict) -> str:
    email = item["emailAddress"]
    return f'"{email["name"]}" <{email["address"]}>' if email["name"] != email["address"] else email["address"]


def create(box, folder_id: str | None, fields: dict[str, Any]) -> dict:
    """Store a message from friendly fields (tests, seeding): subject, sender, to, cc, bcc, text or html,
    attachments [{name, contentType, content: bytes}], received, message_id, in_reply_to, references,
    conversation_id."""
    if folder_id is None:
        raise invalid_request("Unknown mail folder.")
    message_id, change_key = new_id("AAMkAGM"), new_change_key()
    received = fields.get("received") or now()
    sender = recipient(fields.get("sender") or box.email)
    html = fields.get("html")
    body = {"contentType": "html", "content": html} if html is not None else {
        "contentType": "text", "content": fields.get("text", "")}
    internet_id = fields.get("message_id") or f"<{uuid.uuid4().hex}@sandbox.outlook.com>"
    to = [recipient(r) for r in fields.get("to") or [box.email]]
    cc = [recipient(r) for r in fields.get("cc") or []]
    bcc = [recipient(r) for r in fields.get("bcc") or []]
    headers = [{"name": "Message-ID", "value": internet_id}, {"name": "Subject", "value": fields.get("subject", "")},
               {"name": "From", "value": _header_address(sender)},
               {"name": "To", "value": ", ".join(_header_address(r) for r in to)},
               {"name": "Date", "value": format_datetime(received)}]
    if cc:
        headers.append({"name": "Cc", "value": ", ".join(_header_address(r) for r in cc)})
    if fields.get("in_reply_to"):
        headers.append({"name": "In-Reply-To", "value": fields["in_reply_to"]})
    if fields.get("references"):
        headers.append({"name": "References", "value": " ".join(fields["references"])})
    attachments = []
    for item in fields.get("attachments") or []:
        content = item.get("content", b"")
        attachments.append({"@odata.type": "#microsoft.graph.fileAttachment", "id": "AAMkAtt" + secrets.token_hex(8),
                            "name": item["name"], "contentType": item.get("contentType", "application/octet-stream"),
                            "size": len(content), "isInline": False,
                            "lastModifiedDateTime": times.stamp(received),
                            "contentBytes": base64.b64encode(content).decode()})
    message = {
        "id": message_id, "changeKey": change_key, "parentFolderId": folder_id, "createdDateTime": received,
        "lastModifiedDateTime": received, "receivedDateTime": received, "sentDateTime": fields.get("sent") or received,
        "internetMessageId": internet_id, "subject": fields.get("subject", ""), "importance": "normal",
        "conversationId": fields.get("conversation_id") or "AAQkAD" + secrets.token_hex(12),
        "isRead": bool(fields.get("is_read", False)), "isDraft": bool(fields.get("is_draft", False)),
        "body": body, "sender": sender, "from": sender, "toRecipients": to, "ccRecipients": cc,
        "bccRecipients": bcc, "replyTo": [], "internetMessageHeaders": headers, "attachments": attachments,
        "categories": [],
    }
    box.messages[message_id] = message
    return message


def from_graph(box, folder_id: str, body: dict, **extra: Any) -> dict:
    """Store a message given as Graph JSON (POST /me/messages, sendMail, createReply)."""
    content = body.get("body") or {}
    fields = {
        "subject": body.get("subject", ""), "sender": box.email,
        "to": body.get("toRecipients") or [], "cc": body.get("ccRecipients") or [],
        "bcc": body.get("bccRecipients") or [],
        "attachments": [{"name": a["name"], "contentType": a.get("contentType", "application/octet-stream"),
                         "content": base64.b64decode(a.get("contentBytes", ""))}
                        for a in body.get("attachments") or []],
        **extra,
    }
    if not fields["to"] and not fields["cc"] and not fields["bcc"] and not extra.get("is_draft"):
        raise invalid_request("At least one recipient is required.")
    if (content.get("contentType") or "text").lower() == "html":
        fields["html"] = content.get("content", "")
    else:
        fields["text"] = content.get("content", "")
    for header in body.get("internetMessageHeaders") or []:
        if not header["name"].lower().startswith("x-"):
            raise invalid_request("Only custom headers starting with 'X-' can be set in internetMessageHeaders.")
    return create(box, folder_id, fields)


def update(message: dict, changes: dict) -> None:
    """PATCH a (draft) message's writable fields."""
    for name in ("subject", "isRead", "importance", "categories"):
        if name in changes:
            message[name] = changes[name]
    for name in ("toRecipients", "ccRecipients", "bccRecipients"):
        if name in changes:
            message[name] = [recipient(r) for r in changes[name]]
    if "body" in changes:
        message["body"] = {"contentType": changes["body"].get("contentType", "text"),
                           "content": changes["body"].get("content", "")}
    message["changeKey"] = new_change_key()
    message["lastModifiedDateTime"] = now()


def header(message: dict, name: str) -> str | None:
    """The value of an internet message header, or None."""
    return next((h["value"] for h in message["internetMessageHeaders"] if h["name"].lower() == name.lower()), None)


def render(message: dict, select: list[str] | None) -> dict:
    """Graph JSON of a message with only the ``$select``-ed properties (plus id and etag)."""
    fields = select or DEFAULT_FIELDS
    content = message["body"]["content"] or ""
    values = {
        **message,
        "createdDateTime": times.stamp(message["createdDateTime"]),
        "lastModifiedDateTime": times.stamp(message["lastModifiedDateTime"]),
        "receivedDateTime": times.stamp(message["receivedDateTime"]),
        "sentDateTime": times.stamp(message["sentDateTime"]),
        "hasAttachments": bool(message["attachments"]),
        "bodyPreview": re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", content)).strip()[:255],
        "webLink": f"https://outlook.office365.com/owa/?ItemID={message['id']}&exvsurl=1&viewmodel=ReadMessageItem",
        "isDeliveryReceiptRequested": False, "isReadReceiptRequested": False, "inferenceClassification": "focused",
        "flag": {"flagStatus": "notFlagged"},
    }
    data = {"@odata.etag": f'W/"{message["changeKey"]}"', "id": message["id"]}
    for name in fields:
        if name in values and name != "attachments":
            data[name] = values[name]
    return data


def render_attachment(attachment: dict, select: list[str] | None) -> dict:
    """Graph JSON of an attachment with only the ``$select``-ed properties."""
    if not select:
        return dict(attachment)
    return {k: v for k, v in attachment.items() if k in select or k in {"id", "@odata.type"}}
