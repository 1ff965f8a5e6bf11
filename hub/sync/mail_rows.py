"""Turning whatever a provider hands over into rows every database accepts.

Public API: :func:`clean_message` (a :class:`~hub.types.RemoteMessage` → :class:`CleanMessage`),
:func:`normalize_message_id`, :func:`message_ids_in` (HTML bodies become text with :func:`hub.plaintext.html_to_text`).

A provider's parser may return anything: NUL bytes and lone surrogates (PostgreSQL and UTF-8
refuse both), megabyte headers (the columns have limits on PostgreSQL), naive or absurd dates,
addresses without an ``@``, ``None`` where text was promised. Nothing here raises: each field is
cleaned on its own, and what had to be changed is noted in ``parse_error`` next to the provider's
own note, so the message is stored as best it can be and the rest of the page carries on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from hashlib import sha256
from typing import Any

from hub.crm.matching import normalize_email
from hub.plaintext import html_to_text

#: column sizes (hub.models.mail) — PostgreSQL enforces them, SQLite does not
MAX_ID = 998
MAX_REMOTE_ID = 1024
MAX_EMAIL = 320
MAX_NAME = 200
MAX_FOLDER = 255
#: bodies beyond this are cut; a timeline never shows more, and one message must not bloat the database
MAX_BODY = 1_000_000
MAX_SUBJECT = 10_000
MAX_ERROR = 2_000
#: participant rows stored per message; every address is still matched (a contact at position
#: 2,500 of a list gets the mail logged) and the full count kept on the message
MAX_PARTICIPANTS = 500
MAX_PARENTS = 20  # the nearest References are enough to find a stored ancestor
#: the size column is a 32-bit integer on PostgreSQL; bigger claims are capped
MAX_SIZE = 2**31 - 1

_ANGLE_ID = re.compile(r"<([^<>\s]+)>")
_SPACE = re.compile(r"\s")


@dataclass
class CleanMessage:
    """One message ready to insert: every string safe, every list bounded, notes on what was fixed."""

    remote_id: str
    folder: str
    message_id: str | None
    thread_key: str
    subject: str
    from_email: str | None
    from_name: str
    date: datetime | None
    text_body: str
    html_body: str
    attachments: list[dict[str, Any]]
    size: int
    #: (role, email, name) for from/to/cc/bcc, addresses normalized, invalid ones dropped; the
    #: sender and at most MAX_PARTICIPANTS recipients
    participants: list[tuple[str, str, str]] = field(default_factory=list)
    parse_error: str | None = None
    #: Message-IDs this one answers (References, then In-Reply-To), for joining split threads
    parents: tuple[str, ...] = ()
    #: recipients beyond the stored participants (addresses only, in header order)
    more_recipients: tuple[str, ...] = ()
    #: how many distinct recipients (To/Cc/Bcc) the message named
    recipient_count: int = 0

    @property
    def addresses(self) -> list[str]:
        """Every address of the message — stored participants first, then the rest — for matching."""
        return list(dict.fromkeys([*(email for _role, email, _name in self.participants), *self.more_recipients]))


def clean_message(message: Any, folder: str) -> CleanMessage:
    """Clean one provider message; never raises, whatever ``message`` holds."""
    notes: list[str] = []

    def grab(name: str, default=None):
        try:
            return getattr(message, name, default)
        except Exception:  # a property that blows up is just a missing field
            notes.append(f"unreadable {name}")
            return default

    remote_id = text(grab("remote_id"), MAX_REMOTE_ID)
    if not remote_id:
        # the provider gave no id: a stable one from the content keeps re-syncs idempotent
        remote_id = "hub:" + sha256(repr(_fingerprint(message)).encode("utf-8", "replace")).hexdigest()
        notes.append("the provider gave no message id")
    message_id = normalize_message_id(grab("message_id"))
    references = message_ids_in(grab("references"))
    in_reply_to = (message_ids_in(grab("in_reply_to")) or [None])[0]
    thread_id = normalize_message_id(grab("thread_id"))
    root = (references[0] if references else in_reply_to) or message_id
    thread_key = text(thread_id or root or f"hub:{remote_id}", MAX_REMOTE_ID)
    parents = tuple(dict.fromkeys(p for p in [*references[-MAX_PARENTS:], in_reply_to] if p and p != message_id))

    sender = _address(grab("sender"))
    recipients: list[tuple[str, str, str]] = []
    for role in ("to", "cc", "bcc"):
        values = grab(role) or []
        if not isinstance(values, (list, tuple)):
            values = [values]
        for value in values:
            found = _address(value)
            if found:
                recipients.append((role, *found))
    # one row per (role, address): a header listing someone twice is not two participants
    recipients = list(dict.fromkeys(recipients))
    participants = ([("from", *sender)] if sender else []) + recipients[:MAX_PARTICIPANTS]
    more = tuple(dict.fromkeys(email for _role, email, _name in recipients[MAX_PARTICIPANTS:]))
    if more:
        notes.append(f"{len(recipients):,} recipients: the first {MAX_PARTICIPANTS:,} are stored, all were matched")

    html_body = text(grab("html_body"), MAX_BODY)
    text_body = text(grab("text_body"), MAX_BODY)
    if not text_body and html_body:
        text_body = html_to_text(html_body)[:MAX_BODY]
    size = grab("size", 0)
    provider_note = text(grab("parse_error"), MAX_ERROR)
    if provider_note:
        notes.insert(0, provider_note)
    return CleanMessage(
        remote_id=remote_id,
        folder=text(folder, MAX_FOLDER),
        message_id=message_id,
        thread_key=thread_key,
        parents=parents,
        subject=text(grab("subject"), MAX_SUBJECT),
        from_email=sender[0] if sender else None,
        from_name=sender[1] if sender else "",
        date=_date(grab("date"), notes),
        text_body=text_body,
        html_body=html_body,
        attachments=_attachments(grab("attachments")),
        size=min(size, MAX_SIZE) if isinstance(size, int) and size >= 0 else 0,
        participants=participants,
        more_recipients=more,
        recipient_count=len(recipients),
        parse_error=("; ".join(notes))[:MAX_ERROR] or None,
    )


def text(value: Any, limit: int) -> str:
    """A string the database takes: no NUL, no lone surrogates, at most ``limit`` characters."""
    if value is None:
        return ""
    if type(value) is str and value.isascii() and "\x00" not in value:  # most fields: nothing to fix
        return value[:limit]
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    elif not isinstance(value, str):
        try:
            value = str(value)
        except Exception:
            return ""
    if "\x00" in value:
        value = value.replace("\x00", "")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # surrogates from a surrogateescape decode of 8-bit junk
        value = value.encode("utf-8", "replace").decode("utf-8")
    return value[:limit]


def normalize_message_id(value: Any) -> str | None:
    """A Message-ID without angle brackets and whitespace (how copies are matched across accounts)."""
    found = message_ids_in(value)
    return found[0] if found else None


def message_ids_in(value: Any) -> list[str]:
    """Every Message-ID in a header value or list of them (References), normalized, in order."""
    if value is None:
        return []
    parts = value if isinstance(value, (list, tuple)) else [value]
    out: list[str] = []
    for part in parts:
        raw = text(part, 100_000)
        ids = _ANGLE_ID.findall(raw) or raw.split()
        out.extend(i.strip("<>")[:MAX_ID] for i in ids if i.strip("<>"))
    return out


def _address(value: Any) -> tuple[str, str] | None:
    """(normalized email, display name) of an Address-like value, or None when it is no address."""
    if value is None:
        return None
    email = getattr(value, "email", value if isinstance(value, str) else None)
    name = getattr(value, "name", "")
    email = normalize_email(text(email, 10_000))
    local, at, domain = email.rpartition("@")
    if not at or not local or not domain or len(email) > MAX_EMAIL or _SPACE.search(email):
        return None
    return email, text(name, MAX_NAME).strip()


def _date(value: Any, notes: list[str]) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        notes.append("unreadable date")
        return None
    try:
        if value.tzinfo is None or value.utcoffset() is None:
            value = value.replace(tzinfo=timezone.utc)  # a date without a zone: the best guess is UTC
        return value.astimezone(timezone.utc)
    except (OverflowError, ValueError):  # year 1 minus an offset, and friends
        notes.append("date out of range")
        return None


def _attachments(values: Any) -> list[dict[str, Any]]:
    out = []
    for item in (values if isinstance(values, (list, tuple)) else [])[:MAX_PARTICIPANTS]:
        size = getattr(item, "size", 0)
        out.append({
            "filename": text(getattr(item, "filename", ""), 1000),
            "content_type": text(getattr(item, "content_type", ""), 255),
            "size": size if isinstance(size, int) and 0 <= size < 2**62 else 0,
            "remote_id": text(getattr(item, "remote_id", None), MAX_REMOTE_ID) or None,
        })
    return out


def _fingerprint(message: Any) -> tuple:
    return tuple(text(getattr(message, name, None), 10_000)
                 for name in ("message_id", "subject", "date", "sender", "to", "text_body"))
