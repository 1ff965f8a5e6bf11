"""Graph mail endpoints: folders, messages/delta per folder, attachments, drafts, createReply, sendMail."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from hub_office365.sandbox import delta, times
from hub_office365.sandbox import messages as store
from hub_office365.sandbox.errors import GraphError, invalid_request, item_not_found
from hub_office365.sandbox.odata import CONTEXT, action_body, page, read_json


def _folder(box, name_or_id: str) -> str:
    folder_id = box.folder_id(name_or_id)
    if folder_id is None:
        raise item_not_found()
    return folder_id


def _message(box, message_id: str) -> dict:
    message = box.messages.get(message_id)
    if message is None:
        raise item_not_found()
    return message


def _select(request: Request) -> list[str] | None:
    value = request.args.get("$select")
    return [f.strip() for f in value.split(",") if f.strip()] if value else None


def list_folders(state, request: Request, box) -> dict:
    """GET /me/mailFolders."""
    with state.lock:
        items = [{k: v for k, v in f.items() if k != "wellKnownName"} | {"totalItemCount": _count(box, f["id"])}
                 for f in box.folders.values()]
    return page(request, items, CONTEXT + f"users('{box.email}')/mailFolders")


def get_folder(state, request: Request, box, folder: str) -> dict:
    """GET /me/mailFolders/{id or well-known name}."""
    with state.lock:
        data = box.folders[_folder(box, folder)]
        return {k: v for k, v in data.items() if k != "wellKnownName"} | {"totalItemCount": _count(box, data["id"])}


def _count(box, folder_id: str) -> int:
    return sum(1 for m in box.messages.values() if m["parentFolderId"] == folder_id)


def _received_filter(expression: str | None):
    if not expression:
        return None
    match = re.fullmatch(r"\s*receivedDateTime\s+ge\s+(\S+)\s*", expression, re.IGNORECASE)
    if not match:
        raise GraphError(400, "ErrorInvalidUrlQueryFilter",
                         "Only receivedDateTime ge {value} is supported as a $filter on messages delta.")
    try:
        return times.parse_query(match.group(1))
    except ValueError as exc:
        raise GraphError(400, "ErrorInvalidUrlQueryFilter", f"Invalid receivedDateTime: {exc}") from exc


def messages_delta(state, request: Request, box, folder: str) -> dict:
    """GET /me/mailFolders/{folder}/messages/delta with ``$select`` and ``$filter=receivedDateTime ge …``."""
    params: dict[str, Any] = {}
    if "$deltatoken" not in request.args and "$skiptoken" not in request.args:
        with state.lock:
            params = {"folder": _folder(box, folder), "since": _received_filter(request.args.get("$filter")),
                      "select": _select(request)}

    def compute(p: dict) -> dict:
        """Current messages of the tracked folder received since the tracked date."""
        found = [m for m in box.messages.values()
                 if m["parentFolderId"] == p["folder"] and (p["since"] is None or m["receivedDateTime"] >= p["since"])]
        found.sort(key=lambda m: m["receivedDateTime"], reverse=True)
        return {m["id"]: (m["changeKey"], store.render(m, p["select"])) for m in found}

    def updated(item_id: str, data: dict) -> dict:
        """Graph may list an updated message with only its id, read state and folder."""
        if not state.knobs.minimal_message_updates:
            return data
        message = box.messages[item_id]
        return {"@odata.type": "#microsoft.graph.message", "@odata.etag": data["@odata.etag"], "id": item_id,
                "isRead": message["isRead"], "parentFolderId": message["parentFolderId"]}

    return delta.serve(state, request, CONTEXT + "Collection(message)", params, compute,
                       state.knobs.default_message_page_size, updated)


def list_messages(state, request: Request, box, folder: str | None = None) -> dict:
    """GET /me/messages or /me/mailFolders/{f}/messages (``$filter=internetMessageId eq '…'`` supported)."""
    expression = request.args.get("$filter")
    with state.lock:
        found = [m for m in box.messages.values() if folder is None or m["parentFolderId"] == _folder(box, folder)]
        if expression:
            match = re.fullmatch(r"\s*internetMessageId\s+eq\s+'([^']*)'\s*", expression, re.IGNORECASE)
            if not match:
                raise GraphError(400, "ErrorInvalidUrlQueryFilter", "The query filter is not supported here.")
            found = [m for m in found if m["internetMessageId"] == match.group(1)]
        found.sort(key=lambda m: m["receivedDateTime"], reverse=True)
        items = [store.render(m, _select(request)) for m in found]
    return page(request, items, CONTEXT + f"users('{box.email}')/messages")


def message_item(state, request: Request, box, message_id: str):
    """GET / PATCH / DELETE one message."""
    with state.lock:
        message = _message(box, message_id)
        if request.method == "GET":
            return store.render(message, _select(request))
        if request.method == "PATCH":
            store.update(message, read_json(request))
            data = store.render(message, None)
    if request.method == "DELETE":
        state.delete_message(box.email, message_id)
        return Response(status=204)
    state.changed(box, "message", message["parentFolderId"], message_id, "updated")
    return data


def attachments(state, request: Request, box, message_id: str) -> dict:
    """GET /me/messages/{id}/attachments (``$select=id,name,contentType,size`` leaves the bytes out)."""
    with state.lock:
        items = [store.render_attachment(a, _select(request)) for a in _message(box, message_id)["attachments"]]
    return {"@odata.context": CONTEXT + "Collection(attachment)", "value": items}


def create_draft(state, request: Request, box) -> Response:
    """POST /me/messages → 201 draft in Drafts (it already has its internetMessageId)."""
    body = read_json(request)
    with state.lock:
        draft = store.from_graph(box, box.folder_id("drafts"), body, is_draft=True)
        data = store.render(draft, None)
    return Response(json.dumps(data), status=201, content_type="application/json")


def create_reply(state, request: Request, box, message_id: str) -> Response:
    """POST /me/messages/{id}/createReply → 201 draft answering the message, in its conversation."""
    body = action_body(request, "message", "comment")
    with state.lock:
        original = _message(box, message_id)
        references = (store.header(original, "References") or "").split() + [original["internetMessageId"]]
        reply = dict(body.get("message") or {})
        reply.setdefault("toRecipients", [original["from"]])
        subject = original["subject"]
        reply.setdefault("subject", subject if subject.lower().startswith("re:") else f"RE: {subject}")
        if body.get("comment") and "body" not in reply:
            reply["body"] = {"contentType": "text", "content": body["comment"]}
        draft = store.from_graph(box, box.folder_id("drafts"), reply, is_draft=True,
                                 conversation_id=original["conversationId"],
                                 in_reply_to=original["internetMessageId"], references=references)
        data = store.render(draft, None)
    return Response(json.dumps(data), status=201, content_type="application/json")


def send_draft(state, request: Request, box, message_id: str) -> Response:
    """POST /me/messages/{id}/send → 202; the message moves to Sent Items (with a new id)."""
    with state.lock:
        draft = _message(box, message_id)
        if not draft["isDraft"]:
            raise invalid_request("Only draft messages can be sent.")
        if not (draft["toRecipients"] or draft["ccRecipients"] or draft["bccRecipients"]):
            raise GraphError(400, "ErrorInvalidRecipients", "At least one recipient isn't valid.")
        del box.messages[message_id]
        _send(state, box, draft)
    return Response(status=202)


def send_mail(state, request: Request, box) -> Response:
    """POST /me/sendMail {message, saveToSentItems} → 202 with no body."""
    body = action_body(request, "message", "saveToSentItems")
    if not isinstance(body.get("message"), dict):
        raise invalid_request("The message is required.")
    with state.lock:
        draft = store.from_graph(box, box.folder_id("drafts"), body["message"])
        del box.messages[draft["id"]]
        _send(state, box, draft, save=body.get("saveToSentItems", True) is not False)
    return Response(status=202)


def _send(state, box, draft: dict, save: bool = True) -> None:
    fields = {
        "subject": draft["subject"], "sender": draft["from"], "to": draft["toRecipients"],
        "cc": draft["ccRecipients"], "bcc": draft["bccRecipients"], "message_id": draft["internetMessageId"],
        "conversation_id": draft["conversationId"], "in_reply_to": store.header(draft, "In-Reply-To"),
        "references": (store.header(draft, "References") or "").split() or None,
        "is_read": True,
        "attachments": [{"name": a["name"], "contentType": a["contentType"],
                         "content": base64.b64decode(a["contentBytes"])} for a in draft["attachments"]],
    }
    key = "html" if draft["body"]["contentType"] == "html" else "text"
    fields[key] = draft["body"]["content"]
    if save:
        state.deliver_mail(box.email, "sentitems", **fields)
    recipients = draft["toRecipients"] + draft["ccRecipients"] + draft["bccRecipients"]
    for address in {r["emailAddress"]["address"].lower() for r in recipients}:
        other = state.mailboxes.get(address)
        if other is not None and not other.on_premises and other is not box:
            state.deliver_mail(other.email, "inbox", **dict(fields, is_read=False, conversation_id=None))


def rules() -> list[Rule]:
    """URL rules for the mail endpoints (paths already lower-cased by the server)."""
    return [
        Rule("/v1.0/me/mailfolders", endpoint=list_folders),
        Rule("/v1.0/me/mailfolders/<folder>", endpoint=get_folder),
        Rule("/v1.0/me/mailfolders/<folder>/messages/delta", endpoint=messages_delta),
        Rule("/v1.0/me/mailfolders/<folder>/messages", endpoint=list_messages, methods=["GET"]),
        Rule("/v1.0/me/messages", endpoint=list_messages, methods=["GET"]),
        Rule("/v1.0/me/messages", endpoint=create_draft, methods=["POST"]),
        Rule("/v1.0/me/messages/<message_id>", endpoint=message_item, methods=["GET", "PATCH", "DELETE"]),
        Rule("/v1.0/me/messages/<message_id>/attachments", endpoint=attachments),
        Rule("/v1.0/me/messages/<message_id>/createreply", endpoint=create_reply, methods=["POST"]),
        Rule("/v1.0/me/messages/<message_id>/send", endpoint=send_draft, methods=["POST"]),
        Rule("/v1.0/me/sendmail", endpoint=send_mail, methods=["POST"]),
    ]
