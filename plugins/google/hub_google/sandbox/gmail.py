"""Gmail API v1 endpoints of the sandbox (``/gmail/v1/users/{userId}/…``).

profile, labels.list, messages list/get/send, attachments.get and history.list. ``send`` accepts
the JSON ``{raw, threadId}`` body and the ``/upload`` media form, stores the message in SENT
(threaded the way Gmail threads: named thread + References/In-Reply-To + same subject) and
delivers it to recipients who are sandbox users.
"""

from __future__ import annotations

import base64
import binascii
import email
import email.policy
import json
from email.utils import formatdate, getaddresses, make_msgid

from hub_google.sandbox.errors import GoogleError, bad_request
from hub_google.sandbox.mailbox import SYSTEM_LABELS, StoredMessage
from hub_google.sandbox.message_format import attachment, render
from hub_google.sandbox.routing import (
    GMAIL_COMPOSE,
    GMAIL_MODIFY,
    GMAIL_RO,
    GMAIL_SEND,
    MAIL,
    Call,
    Route,
    paginate,
)

BASE = "/gmail/v1/users/<user_id>"
READ = (GMAIL_RO, GMAIL_MODIFY, MAIL)
SEND = (GMAIL_SEND, GMAIL_COMPOSE, GMAIL_MODIFY, MAIL)
HISTORY_TYPES = ("messageAdded", "messageDeleted", "labelAdded", "labelRemoved")
_KIND_OF_TYPE = {"messageAdded": "messagesAdded", "messageDeleted": "messagesDeleted",
                 "labelAdded": "labelsAdded", "labelRemoved": "labelsRemoved"}


def _mailbox(call: Call, user_id: str):
    if user_id not in ("me", call.user.email):
        raise GoogleError(403, "forbidden", "Delegation denied for " + call.user.email)
    return call.user.mailbox


def profile(call: Call, user_id: str):
    """users.getProfile."""
    box = _mailbox(call, user_id)
    return {"emailAddress": call.user.email, "messagesTotal": len(box.messages),
            "threadsTotal": len({m.thread_id for m in box.messages.values()}), "historyId": str(box.history_id)}


def labels_list(call: Call, user_id: str):
    """labels.list (system labels with counts)."""
    box = _mailbox(call, user_id)
    labels = []
    for label in SYSTEM_LABELS:
        inside = [m for m in box.messages.values() if label in m.labels]
        labels.append({"id": label, "name": label, "type": "system", "messagesTotal": len(inside),
                       "messagesUnread": sum("UNREAD" in m.labels for m in inside),
                       "threadsTotal": len({m.thread_id for m in inside}),
                       "threadsUnread": len({m.thread_id for m in inside if "UNREAD" in m.labels})})
    return {"labels": labels}


def messages_list(call: Call, user_id: str):
    """messages.list."""
    box = _mailbox(call, user_id)
    label_ids = call.arg_list("labelIds")
    query = call.arg("q") or ""
    spam_trash = call.arg_bool("includeSpamTrash")

    def found():
        hits = box.search(label_ids, query, spam_trash)
        return [{"id": m.id, "threadId": m.thread_id} for m in hits], {"estimate": len(hits)}

    page, next_token, extra = paginate(call, call.state.pages, call.arg_int("maxResults", 100, 1, 500), found,
                                       ("messages", call.user.email, tuple(label_ids), query, spam_trash))
    body = {"resultSizeEstimate": extra["estimate"]}
    if page:
        body["messages"] = page
    if next_token:
        body["nextPageToken"] = next_token
    return body


def messages_get(call: Call, user_id: str, message_id: str):
    """messages.get in the asked format."""
    box = _mailbox(call, user_id)
    return render(box.get(message_id), call.arg("format", "full"), call.arg_list("metadataHeaders"))


def attachments_get(call: Call, user_id: str, message_id: str, attachment_id: str):
    """messages.attachments.get."""
    return attachment(_mailbox(call, user_id).get(message_id), attachment_id)


def history_list(call: Call, user_id: str):
    """history.list (404 when the start is too old)."""
    box = _mailbox(call, user_id)
    start = call.arg("startHistoryId")
    if not start or not start.isdigit():
        raise bad_request("Invalid startHistoryId" if start else "Missing startHistoryId",
                          location="startHistoryId")
    label_id = call.arg("labelId")
    types = call.arg_list("historyTypes")
    unknown = set(types) - set(HISTORY_TYPES)
    if unknown:
        raise bad_request(f"Invalid value at 'history_types' ({sorted(unknown)[0]})", location="historyTypes")
    kinds = {_KIND_OF_TYPE[t] for t in types} or set(_KIND_OF_TYPE.values())

    def found():
        records = [r for r in box.history_since(int(start)) if r["kind"] in kinds
                   and (not label_id or label_id in r["message_labels"] or label_id in r["labels"])]
        return [_history_json(r) for r in records], {"history_id": box.history_id}

    if not call.arg("pageToken"):
        box.history_since(int(start))  # 404 before anything else when the start is too old
    page, next_token, extra = paginate(call, call.state.pages, call.arg_int("maxResults", 100, 1, 500), found,
                                       ("history", call.user.email, start, label_id, tuple(types)))
    body = {"historyId": str(extra["history_id"])}
    if page:
        body["history"] = page
    if next_token:
        body["nextPageToken"] = next_token
    return body


def _history_json(record: dict) -> dict:
    message: StoredMessage = record["message"]
    ref = {"id": message.id, "threadId": message.thread_id}
    item = {"message": dict(ref, labelIds=record["message_labels"])}
    if record["kind"].startswith("labels"):
        item["labelIds"] = record["labels"]
    return {"id": str(record["id"]), "messages": [ref], record["kind"]: [item]}


# --- sending ------------------------------------------------------------------------------------------


def messages_send(call: Call, user_id: str):
    """messages.send, JSON or media upload."""
    box = _mailbox(call, user_id)
    if call.request.path.startswith("/upload/"):
        upload = call.arg("uploadType", "media")
        if upload == "media":
            raw, thread_id = call.request.get_data(), None
        elif upload == "multipart":
            raw, thread_id = _multipart(call)
        else:
            raise bad_request("The sandbox accepts uploadType media and multipart (not resumable uploads).",
                              location="uploadType")
    else:
        body = call.json()
        thread_id = body.get("threadId")
        try:
            raw = base64.urlsafe_b64decode(_padded(body.get("raw") or ""))
        except (binascii.Error, ValueError):
            raise bad_request("Invalid value for ByteString: raw", reason="invalidArgument") from None
        if not raw:
            raise bad_request("'raw' RFC822 payload message string or uploading message via /upload/* URL "
                              "required", reason="invalidArgument")
    raw, recipients = _prepare(raw, call.user.email)
    sent = box.add(raw, ["SENT"], thread_id=thread_id)
    _deliver(call, raw, recipients)
    return {"id": sent.id, "threadId": sent.thread_id, "labelIds": list(sent.labels)}


def _multipart(call: Call) -> tuple[bytes, str | None]:
    """A multipart/related upload: the JSON metadata part (``threadId``), then the message itself."""
    content_type = call.request.headers.get("Content-Type", "")
    envelope = email.message_from_bytes(f"Content-Type: {content_type}\r\n\r\n".encode() + call.request.get_data(),
                                        policy=email.policy.HTTP)
    parts = envelope.get_payload() if envelope.get_content_type() == "multipart/related" else None
    if not isinstance(parts, list) or len(parts) != 2 or parts[0].get_content_type() != "application/json":
        raise bad_request("A multipart upload needs the JSON metadata part and then the media part.",
                          reason="invalidArgument")
    try:
        metadata = json.loads(parts[0].get_payload(decode=True) or b"{}")
    except ValueError:
        raise GoogleError(400, "parseError", "Parse Error") from None
    media = parts[1]
    if media.get_content_type() == "message/rfc822":
        raw = media.get_payload(0).as_bytes(policy=email.policy.SMTP)
    else:
        raw = media.get_payload(decode=True) or b""
    return raw, (metadata or {}).get("threadId")


def _padded(text: str) -> str:
    return text + "=" * (-len(text) % 4)


def _prepare(raw: bytes, address: str) -> tuple[bytes, list[str]]:
    """What Gmail does to an outgoing message: From is the account, Message-ID and Date are filled in."""
    message = email.message_from_bytes(raw, policy=email.policy.SMTP)
    recipients = [addr for _, addr in getaddresses(message.get_all("To", []) + message.get_all("Cc", [])
                                                   + message.get_all("Bcc", [])) if addr]
    if not recipients:
        raise bad_request("Recipient address required", reason="invalidArgument")
    senders = [addr.lower() for _, addr in getaddresses(message.get_all("From", []))]
    if senders != [address.lower()]:
        del message["From"]
        message["From"] = address
    if not message.get("Message-ID"):
        message["Message-ID"] = make_msgid(domain="mail.gmail.com")
    if not message.get("Date"):
        message["Date"] = formatdate(localtime=False, usegmt=True)
    return message.as_bytes(), recipients


def _deliver(call: Call, raw: bytes, recipients: list[str]) -> None:
    message = email.message_from_bytes(raw, policy=email.policy.SMTP)
    del message["Bcc"]  # recipients never see the Bcc line
    copy = message.as_bytes()
    for address in dict.fromkeys(a.lower() for a in recipients):
        user = next((u for u in call.state.users.values() if u.email.lower() == address), None)
        if user is not None and user is not call.user:
            user.mailbox.add(copy, ["INBOX", "UNREAD"])
        elif user is None:
            call.state.outbound.append({"from": call.user.email, "to": address, "raw": copy})


ROUTES = [
    Route(f"{BASE}/profile", ("GET",), profile, "gmail.users.getProfile", READ),
    Route(f"{BASE}/labels", ("GET",), labels_list, "gmail.users.labels.list", READ),
    Route(f"{BASE}/messages", ("GET",), messages_list, "gmail.users.messages.list", READ),
    Route(f"{BASE}/messages/send", ("POST",), messages_send, "gmail.users.messages.send", SEND),
    Route(f"/upload{BASE}/messages/send", ("POST",), messages_send, "gmail.users.messages.send", SEND),
    Route(f"{BASE}/messages/<message_id>", ("GET",), messages_get, "gmail.users.messages.get", READ),
    Route(f"{BASE}/messages/<message_id>/attachments/<attachment_id>", ("GET",), attachments_get,
          "gmail.users.messages.attachments.get", READ),
    Route(f"{BASE}/history", ("GET",), history_list, "gmail.users.history.list", READ),
]
