"""Mail hooks' behaviour: Gmail sync by label with history ids, and sending.

Initial sync: note the mailbox's current ``historyId`` first, then list the label's messages since
``since`` page by page (``after:`` query), fetching each in ``full`` format. Incremental sync:
``history.list`` from the noted id, limited to the label — added messages are fetched, deleted ones
reported; 404 means Gmail no longer keeps that history (CursorExpired → full resync). A history
page can name more messages than ``limit``; the rest wait in the cursor (``pending``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hub.exceptions import CursorExpired, NotFound, ValidationError
from hub.types import MailPage, OutgoingMessage, RemoteMessage, SentMessage

from hub_google import cursor as cursors
from hub_google.gmail_api import GmailAPI
from hub_google.messages import build_raw, to_remote

LABELS = {"inbox": "INBOX", "sent": "SENT"}


def _label(folder: str) -> str:
    label = LABELS.get(folder.lower())
    if label is None:
        raise ValidationError(f"Gmail has no folder {folder!r} for the hub.", fix="Use 'inbox' or 'sent'.")
    return label


def _fetch(api: GmailAPI, ids: list[str], folder: str) -> tuple[list[RemoteMessage], list[str]]:
    """Messages by id; ids that vanished meanwhile are returned as deleted."""
    messages, gone = [], []
    for message_id in ids:
        try:
            messages.append(to_remote(api.get_message(message_id), folder))
        except NotFound:
            gone.append(message_id)
    return messages, gone


def sync_mail(api: GmailAPI, folder: str, cursor: str | None, limit: int, since: datetime) -> MailPage:
    """One page of the initial listing or of the history (see the module docstring)."""
    label = _label(folder)
    state = cursors.decode(cursor)
    if state is None:
        state = {"mode": "list", "history": api.profile()["historyId"], "after": int(since.timestamp())}
    if state["mode"] == "list":
        return _list_page(api, folder, label, state, limit)
    return _history_page(api, folder, label, state, limit)


def _list_page(api: GmailAPI, folder: str, label: str, state: dict[str, Any], limit: int) -> MailPage:
    body = api.list_messages(label, f"after:{state['after']}", limit, state.get("page"))
    ids = [m["id"] for m in body.get("messages", [])]
    messages, _ = _fetch(api, ids, folder)
    page = MailPage(messages=messages, total_estimate=body.get("resultSizeEstimate"))
    if body.get("nextPageToken"):
        page.next_cursor, page.done = cursors.encode(**{**state, "page": body["nextPageToken"]}), False
    else:
        page.next_cursor, page.done = cursors.encode(mode="history", history=state["history"]), True
    return page


def _history_page(api: GmailAPI, folder: str, label: str, state: dict[str, Any], limit: int) -> MailPage:
    pending: list[str] = list(state.get("pending", []))
    deleted: list[str] = []
    next_state: dict[str, Any] = {"mode": "history", "history": state["history"], "page": state.get("page"),
                                  "next": state.get("next")}
    if not pending:
        try:
            body = api.history(state["history"], label, limit, state.get("page"))
        except NotFound:
            raise CursorExpired("Gmail no longer keeps the mailbox history this sync continued from.") from None
        added, deleted = _changes(body, label)
        pending = added
        if body.get("nextPageToken"):
            next_state.update(page=body["nextPageToken"], next=None)
        else:
            next_state.update(page=None, next=body.get("historyId") or state["history"])
    take, rest = pending[:limit], pending[limit:]
    messages, gone = _fetch(api, take, folder)
    page = MailPage(messages=messages, deleted=deleted + gone)
    if rest or next_state["page"]:
        page.next_cursor = cursors.encode(**{**next_state, "pending": rest or None})
        page.done = False
    else:
        page.next_cursor = cursors.encode(mode="history", history=next_state["next"] or state["history"])
        page.done = True
    return page


def _changes(body: dict[str, Any], label: str) -> tuple[list[str], list[str]]:
    """(added ids, deleted ids) of a history page, in order, for messages carrying ``label``."""
    added: dict[str, None] = {}
    deleted: dict[str, None] = {}
    for record in body.get("history", []):
        for entry in record.get("messagesAdded", []) + record.get("labelsAdded", []):
            message = entry.get("message") or {}
            if label in message.get("labelIds", []) and (
                    "labelIds" not in entry or label in entry["labelIds"]):
                added[message["id"]] = None
                deleted.pop(message["id"], None)
        for entry in record.get("messagesDeleted", []):
            message_id = (entry.get("message") or {}).get("id")
            if message_id:
                added.pop(message_id, None)
                deleted[message_id] = None
    return list(added), list(deleted)


def send_mail(api: GmailAPI, message: OutgoingMessage) -> SentMessage:
    """Send through Gmail; with ``thread_id`` (and the reply headers) the message stays in its thread."""
    if not message.to and not message.cc and not message.bcc:
        raise ValidationError("A message needs at least one recipient.", fix="Add a recipient.")
    raw, msg_id = build_raw(message)
    body = api.send(raw, message.thread_id)
    return SentMessage(remote_id=body.get("id"), message_id=msg_id, thread_id=body.get("threadId"))
