"""One Gmail mailbox of the sandbox: messages with labels and threads, and the history log.

Every change appends a history record with a new, increasing history id (as Gmail's
``users.history``). ``expire_history`` forgets the log so far: any older ``startHistoryId`` then
answers 404, which is what Gmail does once history has been trimmed.
"""

from __future__ import annotations

import email
import email.policy
import random
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime

from hub_google.sandbox.errors import not_found

SYSTEM_LABELS = ("INBOX", "SENT", "UNREAD", "STARRED", "IMPORTANT", "TRASH", "SPAM", "DRAFT",
                 "CATEGORY_PERSONAL", "CATEGORY_SOCIAL", "CATEGORY_PROMOTIONS", "CATEGORY_UPDATES",
                 "CATEGORY_FORUMS")


@dataclass
class StoredMessage:
    """A message in a mailbox: raw bytes, labels, thread and history id."""
    id: str
    thread_id: str
    labels: list[str]
    raw: bytes
    internal_date: int  # ms since the epoch, as Gmail's internalDate
    history_id: int
    parsed: Message = field(repr=False, default=None)

    def __post_init__(self):
        if self.parsed is None:
            # compat32 keeps header values as they are on the wire (encoded words included)
            self.parsed = email.message_from_bytes(self.raw, policy=email.policy.compat32)

    def header(self, name: str) -> str:
        """A header's raw value, '' when absent."""
        return str(self.parsed.get(name, "") or "")


class Mailbox:
    """The messages and history of one user."""

    def __init__(self, address: str):
        self.address = address
        self.messages: dict[str, StoredMessage] = {}
        self.history: list[dict] = []
        self.history_id = random.randint(100_000, 900_000)
        self.history_floor = self.history_id
        self._next_id = int(time.time() * 1000) << 20

    # --- changes ---------------------------------------------------------------------------------

    def _new_id(self) -> str:
        self._next_id += random.randint(1, 4096)
        return f"{self._next_id:016x}"[-16:]

    def _record(self, kind: str, message: StoredMessage, labels: list[str] | None = None) -> None:
        self.history_id += 1
        message.history_id = self.history_id
        self.history.append({"id": self.history_id, "kind": kind, "message": message,
                             "labels": list(labels or []), "message_labels": list(message.labels)})

    def add(self, raw: bytes, labels: list[str], internal_date: int | None = None,
            thread_id: str | None = None) -> StoredMessage:
        """Store a message (delivered, sent or imported) and log ``messagesAdded``."""
        message = StoredMessage(self._new_id(), "", list(dict.fromkeys(labels)), raw,
                                internal_date or _date_ms(raw), 0)
        message.thread_id = self._thread_for(message, thread_id)
        self.messages[message.id] = message
        self._record("messagesAdded", message)
        return message

    def _thread_for(self, message: StoredMessage, thread_id: str | None) -> str:
        """Gmail threads a message when it names the thread, or refers to one of its messages, and
        the subjects match (ignoring Re:/Fwd:)."""
        refs = set(re.findall(r"<[^>]+>", message.header("References") + " " + message.header("In-Reply-To")))
        subject = _base_subject(message.header("Subject"))
        for other in self.messages.values():
            if thread_id and other.thread_id != thread_id:
                continue
            if other.header("Message-ID").strip() in refs and _base_subject(other.header("Subject")) == subject:
                return other.thread_id
        return message.id

    def delete(self, message_id: str) -> None:
        """Delete a message for good (history: messagesDeleted)."""
        message = self.get(message_id)
        del self.messages[message_id]
        self._record("messagesDeleted", message)

    def modify(self, message_id: str, add: list[str] = (), remove: list[str] = ()) -> StoredMessage:
        """Add and remove labels (history: labelsAdded / labelsRemoved)."""
        message = self.get(message_id)
        added = [label for label in add if label not in message.labels]
        removed = [label for label in remove if label in message.labels]
        message.labels = [label for label in message.labels if label not in removed] + added
        if added:
            self._record("labelsAdded", message, added)
        if removed:
            self._record("labelsRemoved", message, removed)
        return message

    def expire_history(self) -> None:
        """Forget the history so far: older ``startHistoryId`` values answer 404 from now on."""
        self.history_id += 1
        self.history_floor = self.history_id
        self.history.clear()

    # --- reads -----------------------------------------------------------------------------------

    def get(self, message_id: str) -> StoredMessage:
        """A message by id; 404 when there is none."""
        message = self.messages.get(message_id)
        if message is None:
            raise not_found("Requested entity was not found.")
        return message

    def history_since(self, start: int) -> list[dict]:
        """History records after ``start``; 404 when ``start`` is older than what is kept."""
        if start < self.history_floor:
            raise not_found("Requested entity was not found.")
        return [record for record in self.history if record["id"] > start]

    def search(self, label_ids: list[str], query: str, include_spam_trash: bool) -> list[StoredMessage]:
        """messages.list's matching, newest first."""
        terms = parse_query(query)
        out = []
        for message in self.messages.values():
            if not include_spam_trash and {"SPAM", "TRASH"} & set(message.labels) and \
                    not {"SPAM", "TRASH"} & set(label_ids):
                continue
            if not set(label_ids) <= set(message.labels):
                continue
            if all(term(message) for term in terms):
                out.append(message)
        out.sort(key=lambda m: (m.internal_date, m.id), reverse=True)
        return out


def _date_ms(raw: bytes) -> int:
    """internalDate of an imported message: its Date header, else now."""
    match = re.search(rb"^Date:[ \t]*(.+)$", raw.split(b"\r\n\r\n")[0].split(b"\n\n")[0], re.MULTILINE | re.I)
    if match:
        try:
            return int(parsedate_to_datetime(match.group(1).decode("ascii", "replace").strip()).timestamp() * 1000)
        except (TypeError, ValueError):
            pass
    return int(time.time() * 1000)


def _base_subject(subject: str) -> str:
    return re.sub(r"^\s*((re|fwd?|aw|wg)\s*:\s*)+", "", subject.strip(), flags=re.I).lower()


def parse_query(query: str):
    """The part of Gmail's search syntax the sandbox understands, as predicates.

    ``after:``/``before:`` (epoch seconds or ``YYYY/MM/DD``), ``newer_than:Nd``, ``in:``/``label:``,
    ``from:``, ``to:``, ``subject:``, ``rfc822msgid:``, ``is:unread``, and bare words (searched in
    subject and sender).
    """
    terms = []
    for token in re.findall(r'(\S+:"[^"]*"|"[^"]*"|\S+)', query or ""):
        key, sep, value = token.partition(":")
        value = value.strip('"')
        key = key.lower() if sep else ""
        if key in ("after", "before"):
            ms = _query_time(value)
            terms.append((lambda m, ms=ms: m.internal_date >= ms) if key == "after"
                         else (lambda m, ms=ms: m.internal_date < ms))
        elif key == "newer_than":
            units = {"d": 86400, "m": 30 * 86400, "y": 365 * 86400}
            ms = int((time.time() - int(value[:-1]) * units[value[-1].lower()]) * 1000)
            terms.append(lambda m, ms=ms: m.internal_date >= ms)
        elif key in ("in", "label"):
            label = value.upper()
            terms.append(lambda m, label=label: label in m.labels)
        elif key in ("from", "to"):
            header = "From" if key == "from" else "To"
            terms.append(lambda m, v=value.lower(), h=header: any(
                v in addr.lower() for _, addr in getaddresses([m.header(h)])))
        elif key == "subject":
            terms.append(lambda m, v=value.lower(): v in m.header("Subject").lower())
        elif key == "rfc822msgid":
            terms.append(lambda m, v=value.strip("<>"): m.header("Message-ID").strip().strip("<>") == v)
        elif key == "is" and value.lower() == "unread":
            terms.append(lambda m: "UNREAD" in m.labels)
        else:
            word = token.strip('"').lower()
            terms.append(lambda m, w=word: w in (m.header("Subject") + " " + m.header("From")).lower())
    return terms


def _query_time(value: str) -> int:
    if value.isdigit():
        return int(value) * 1000
    return int(datetime.strptime(value, "%Y/%m/%d").timestamp() * 1000)
