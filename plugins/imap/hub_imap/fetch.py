"""Batched FETCH of only what the hub stores: headers, BODYSTRUCTURE and the text parts.

Downloading whole messages would move every attachment over the wire and through the parser
(docs/architecture.md: ~9 ms per message with an attachment against ~0.3 ms for headers). So a batch costs:

1. one ``UID FETCH uids (UID RFC822.SIZE INTERNALDATE BODYSTRUCTURE BODY.PEEK[HEADER.FIELDS (…)]<0.N>)``
   — only the header fields the hub reads (:data:`HEADER_FIELDS`), not the Received/DKIM/ARC lines
   that make up most of a real header block;
2. one ``UID FETCH`` per distinct set of text sections (``BODY.PEEK[1]``, ``BODY.PEEK[1.1] BODY.PEEK[1.2]`` …) —
   messages are grouped by the sections their BODYSTRUCTURE names, so attachments are never fetched.

Sizes are capped (:data:`HEADER_CAP`, :data:`TEXT_CAP`) with partial FETCH, so a hostile 50 MB
"text" part costs no more than a normal one. A batch the client library cannot parse is retried
message by message, and a message that still fails is parsed whole or comes back as a stub with
``parse_error`` — one bad message never fails the page.

Public API: :func:`fetch_messages`, :func:`remote_id`.
"""

from __future__ import annotations

import imaplib
import logging
from collections import defaultdict
from datetime import datetime
from typing import Any, Iterable

from imapclient.exceptions import ProtocolError

from hub.types import RemoteMessage

from hub_imap.connection import ImapClient
from hub_imap.parsing import (
    Headers,
    Structure,
    build_message,
    decode_text,
    parse_headers,
    parse_rfc822,
    read_structure,
)

log = logging.getLogger(__name__)

#: the header fields :func:`hub_imap.parsing.parse_headers` reads
HEADER_FIELDS = ("MESSAGE-ID", "DATE", "FROM", "TO", "CC", "BCC", "SUBJECT", "IN-REPLY-TO", "REFERENCES")
#: bytes of those header fields read per message (a longer block is cut and flagged)
HEADER_CAP = 256 * 1024
#: bytes read of each text part
TEXT_CAP = 1024 * 1024
#: bytes read of a whole message in the fallback path
WHOLE_CAP = 4 * 1024 * 1024
#: UIDs per FETCH command
CHUNK = 250

_LIBRARY_PARSE_ERRORS = (ProtocolError, ValueError, IndexError, TypeError, KeyError, AttributeError)


def remote_id(mailbox: str, uidvalidity: int, uid: int) -> str:
    """The hub's id of one message: unique per mailbox incarnation, so a UIDVALIDITY change never collides."""
    return f"{mailbox}/{uidvalidity}/{uid}"


def _chunks(items: list[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _item(data: dict, prefix: bytes) -> Any:
    """The value of the FETCH item whose name starts with ``prefix`` (servers echo ``<0>`` for partials)."""
    for key, value in data.items():
        if isinstance(key, bytes) and key.upper().startswith(prefix):
            return value
    return None


class _Batch:
    """The messages of one FETCH batch while their pieces come in."""

    def __init__(self, client: ImapClient, mailbox: str, uidvalidity: int, folder: str):
        self.client = client
        self.mailbox = mailbox
        self.uidvalidity = uidvalidity
        self.folder = folder
        self.gmail = client.has_capability("X-GM-EXT-1")

    def summary_items(self) -> list[str]:
        headers = f"BODY.PEEK[HEADER.FIELDS ({' '.join(HEADER_FIELDS)})]<0.{HEADER_CAP}>"
        items = ["UID", "RFC822.SIZE", "INTERNALDATE", "BODYSTRUCTURE", headers]
        return items + ["X-GM-THRID"] if self.gmail else items

    def fetch(self, uids: list[int]) -> list[RemoteMessage]:
        try:
            summaries = self.client.fetch(uids, self.summary_items())
        except imaplib.IMAP4.abort:
            raise
        except (imaplib.IMAP4.error, *_LIBRARY_PARSE_ERRORS) as exc:
            log.info("FETCH of %d messages failed (%s); retrying one by one", len(uids), exc)
            return [m for uid in uids if (m := self.fetch_one(uid)) is not None]
        return self.complete(uids, summaries)

    def complete(self, uids: list[int], summaries: dict) -> list[RemoteMessage]:
        pending: dict[int, tuple[dict, Headers, Structure]] = {}
        for uid in uids:
            data = summaries.get(uid)
            if data is None:
                continue  # expunged since the SEARCH
            header_bytes = _item(data, b"BODY[HEADER") or b""  # BODY[HEADER.FIELDS (…)]<0>
            headers = parse_headers(header_bytes)
            if len(header_bytes) >= HEADER_CAP:
                headers.problems.append("header block too long; the rest was not read")
            pending[uid] = (data, headers, read_structure(data.get(b"BODYSTRUCTURE")))
        texts = self.fetch_texts({uid: s for uid, (_, _, s) in pending.items() if not s.error})
        out = []
        for uid, (data, headers, structure) in pending.items():
            if structure.error:  # the server's BODYSTRUCTURE is unusable: read the message whole
                whole = self.fetch_whole(uid)
                if whole is not None:
                    out.append(whole)
                continue
            found = texts.get(uid, {})
            problems = []
            bodies = {}
            for part in structure.text_parts:
                if part.section not in found:
                    problems.append(f"text part {part.section} could not be read")
                    continue
                raw = found[part.section] or b""
                bodies[part.subtype], issue = decode_text(raw, part.encoding, part.charset)
                problems.append(issue)
            out.append(self.message(uid, data, headers, structure, bodies, problems))
        return out

    def fetch_texts(self, structures: dict[int, Structure]) -> dict[int, dict[str, bytes]]:
        """Fetch the text parts, one FETCH per distinct tuple of sections."""
        groups: dict[tuple[str, ...], list[int]] = defaultdict(list)
        for uid, structure in structures.items():
            sections = tuple(p.section for p in structure.text_parts)
            if sections:
                groups[sections].append(uid)
        out: dict[int, dict[str, bytes]] = defaultdict(dict)
        for sections, uids in groups.items():
            items = [f"BODY.PEEK[{s}]<0.{TEXT_CAP}>" for s in sections]
            try:
                data = self.client.fetch(uids, items)
            except imaplib.IMAP4.abort:
                raise
            except (imaplib.IMAP4.error, *_LIBRARY_PARSE_ERRORS) as exc:
                log.info("FETCH of text parts %s failed (%s)", sections, exc)
                continue
            for uid, values in data.items():
                for section in sections:
                    value = _item(values, f"BODY[{section}]".encode())
                    if value is not None:
                        out[uid][section] = value if isinstance(value, bytes) else str(value).encode()
        return out

    def message(self, uid: int, data: dict, headers: Headers, structure: Structure, bodies: dict[str, str],
                problems: list[str | None]) -> RemoteMessage:
        """The RemoteMessage of one fetched message (Gmail's thread id when the server has one)."""
        thread = data.get(b"X-GM-THRID")
        arrived = data.get(b"INTERNALDATE")
        return build_message(
            remote_id(self.mailbox, self.uidvalidity, uid), self.folder, headers, structure,
            text_body=bodies.get("plain", ""), html_body=bodies.get("html", ""),
            size=data.get(b"RFC822.SIZE") or 0, arrived=arrived if isinstance(arrived, datetime) else None,
            thread_id=str(thread) if thread else None, problems=[p for p in problems if p],
        )

    def fetch_one(self, uid: int) -> RemoteMessage | None:
        """The careful path for a message whose batch failed: alone, then whole, then a stub."""
        try:
            summaries = self.client.fetch([uid], self.summary_items())
            return next(iter(self.complete([uid], summaries)), None)
        except imaplib.IMAP4.abort:
            raise
        except (imaplib.IMAP4.error, *_LIBRARY_PARSE_ERRORS):
            return self.fetch_whole(uid)

    def fetch_whole(self, uid: int) -> RemoteMessage | None:
        """Fetch (up to :data:`WHOLE_CAP` bytes of) the whole message and parse it; a stub if that fails."""
        rid = remote_id(self.mailbox, self.uidvalidity, uid)
        try:
            items = ["RFC822.SIZE", "INTERNALDATE", f"BODY.PEEK[]<0.{WHOLE_CAP}>"]
            data = self.client.fetch([uid], items).get(uid)
        except imaplib.IMAP4.abort:
            raise
        except (imaplib.IMAP4.error, *_LIBRARY_PARSE_ERRORS) as exc:
            return RemoteMessage(remote_id=rid, folder=self.folder,
                                 parse_error=f"the server could not send it ({exc})")
        if data is None:
            return None
        raw = _item(data, b"BODY[]") or b""
        message = parse_rfc822(raw, rid, self.folder, arrived=data.get(b"INTERNALDATE"))
        message.size = data.get(b"RFC822.SIZE") or message.size
        message.parse_error = message.parse_error or "BODYSTRUCTURE unreadable; parsed the whole message"
        return message


def fetch_messages(client: ImapClient, uids: list[int], *, mailbox: str, uidvalidity: int,
                   folder: str) -> list[RemoteMessage]:
    """Fetch and parse the messages ``uids`` of the selected ``mailbox``, in UID order.

    UIDs expunged meanwhile are left out. Raises only for a lost connection (the caller's error
    translation makes it ProviderUnavailable).
    """
    batch = _Batch(client, mailbox, uidvalidity, folder)
    out: list[RemoteMessage] = []
    for chunk in _chunks(sorted(uids), CHUNK):
        out.extend(batch.fetch(chunk))
    return out
