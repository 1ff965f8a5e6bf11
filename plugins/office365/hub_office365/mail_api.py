"""Outlook mail through Graph: per-folder delta sync and sending.

**Sync** reads ``/me/mailFolders/{inbox|sentitems}/messages/delta`` with a ``$select`` of only what
the hub stores (never attachment bytes: those are listed separately with ``$select`` of their
metadata, for messages that have any) and ``$filter=receivedDateTime ge …`` for the initial window.
The cursor is the nextLink or deltaLink itself. ``Prefer: odata.maxpagesize`` asks for ``limit``
messages a page; duplicates within a page are folded.

**Send** creates the message as a draft and sends it (``POST /me/messages`` then ``…/send``, 202),
rather than ``/me/sendMail``: only the draft tells us the Message-ID and conversation Graph gave
the mail, which the hub needs to recognise its own sent mail when the Sent Items folder syncs.
Replies are drafted with ``createReply`` on the original (found by its Message-ID), so Outlook
threads them and sets In-Reply-To/References itself — Graph refuses those headers from clients.
"""

from __future__ import annotations

import base64
from datetime import datetime, timezone

from hub.exceptions import NotFound, NotSupported
from hub.types import AccountHandle, MailPage, OutgoingMessage, RemoteMessage, SentMessage

from hub_office365 import mapping
from hub_office365.graph import GraphClient

#: hub folder -> Graph well-known folder name
FOLDERS = {"inbox": "inbox", "sent": "sentitems"}
SELECT = ",".join([
    "id", "internetMessageId", "conversationId", "subject", "from", "sender", "toRecipients", "ccRecipients",
    "bccRecipients", "receivedDateTime", "sentDateTime", "body", "hasAttachments", "internetMessageHeaders",
])
ATTACHMENT_SELECT = "id,name,contentType,size,isInline"


def sync_mail(account: AccountHandle, folder: str, cursor: str | None, limit: int, since: datetime) -> MailPage:
    """One delta page of ``folder`` with at most ``limit`` messages."""
    if folder not in FOLDERS:
        raise NotSupported(f"Microsoft 365 mail sync knows the folders inbox and sent, not {folder!r}.")
    client = GraphClient(account)
    headers = {"Prefer": f"odata.maxpagesize={max(1, limit)}"}
    if cursor:
        data = client.get(cursor, headers=headers)
    else:
        data = client.get(f"/me/mailFolders/{FOLDERS[folder]}/messages/delta", headers=headers, params={
            "$select": SELECT,
            "$filter": f"receivedDateTime ge {since.astimezone(timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')}"})
    latest: dict[str, dict | None] = {}
    for item in data.get("value") or []:
        latest[item["id"]] = None if "@removed" in item else item
    wholes = [_whole(client, item) for item in latest.values() if item is not None]
    messages = [_message(client, item, folder) for item in wholes if item is not None]
    done = "@odata.deltaLink" in data
    return MailPage(messages=messages, deleted=[i for i, item in latest.items() if item is None],
                    next_cursor=data.get("@odata.deltaLink") if done else data.get("@odata.nextLink"), done=done)


def _whole(client: GraphClient, item: dict) -> dict | None:
    """The message with every selected property: Graph may list an update with only its id, read state
    and folder, which must not blank out what the hub stored, so such an item is read again."""
    if "internetMessageId" in item or "subject" in item:
        return item
    try:
        return client.get(f"/me/messages/{item['id']}", params={"$select": SELECT})
    except NotFound:
        return None  # gone meanwhile: the next delta round reports the removal


def _message(client: GraphClient, item: dict, folder: str) -> RemoteMessage:
    """Map one message; a message that cannot be read fully still comes back, with ``parse_error``."""
    try:
        attachments = []
        if item.get("hasAttachments"):
            attachments = client.collect(f"/me/messages/{item['id']}/attachments",
                                         params={"$select": ATTACHMENT_SELECT})
        return mapping.message_from_graph(item, folder, attachments)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return RemoteMessage(remote_id=str(item.get("id")), folder=folder, subject=str(item.get("subject") or ""),
                             message_id=item.get("internetMessageId"), parse_error=f"{type(exc).__name__}: {exc}")


def send_mail(account: AccountHandle, message: OutgoingMessage) -> SentMessage:
    """Send through the user's mailbox; the copy lands in Sent Items."""
    client = GraphClient(account)
    content = {"contentType": "html", "content": message.html_body} if message.html_body else {
        "contentType": "text", "content": message.text_body}
    body = {"subject": message.subject, "body": content, "toRecipients": mapping.recipients(message.to),
            "ccRecipients": mapping.recipients(message.cc), "bccRecipients": mapping.recipients(message.bcc)}
    if message.reply_to:
        body["replyTo"] = mapping.recipients([message.reply_to])
    if message.attachments:
        body["attachments"] = [{"@odata.type": "#microsoft.graph.fileAttachment", "name": a.filename,
                                "contentType": a.content_type, "contentBytes": base64.b64encode(a.data).decode()}
                               for a in message.attachments]
    draft = None
    if message.in_reply_to:
        original = _find(client, message.in_reply_to)
        if original is not None:
            draft = client.post(f"/me/messages/{original}/createReply", {"message": body}).json()
    if draft is None:
        draft = client.post("/me/messages", body).json()
    client.post(f"/me/messages/{draft['id']}/send", None)
    return SentMessage(remote_id=None, message_id=draft.get("internetMessageId"), thread_id=draft.get("conversationId"))


def _find(client: GraphClient, message_id: str) -> str | None:
    value = message_id.replace("'", "''")
    found = client.get("/me/messages", params={"$filter": f"internetMessageId eq '{value}'", "$select": "id"})
    items = found.get("value") or []
    return items[0]["id"] if items else None
