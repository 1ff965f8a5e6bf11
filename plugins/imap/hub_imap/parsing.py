"""RFC 822 pieces → :class:`hub.types.RemoteMessage`, fast and without ever raising on bad mail.

The sync does not download whole messages: it fetches the header fields it reads, the
BODYSTRUCTURE and only the text/plain and text/html parts (see :mod:`hub_imap.fetch`). This
module turns those pieces into a RemoteMessage:

* :func:`read_structure` walks a BODYSTRUCTURE and says which parts hold the text and which are
  attachments (metadata only);
* :func:`parse_headers` reads the header fields (one regular expression for a well-formed block,
  the stdlib's ``compat32`` parser for anything else) and decodes RFC 2047 words, addresses, dates
  and ids itself, tolerating 8-bit junk;
* :func:`decode_text` undoes base64 / quoted-printable and the charset of one text part;
* :func:`parse_rfc822` parses a whole message (the fallback when a server's BODYSTRUCTURE cannot
  be read).

Anything unreadable is skipped and described in ``RemoteMessage.parse_error``; nothing raises.
"""

from __future__ import annotations

import binascii
import codecs
import email.errors
import email.message
import email.parser
import email.utils
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email import policy
from email.header import decode_header
from typing import Any, Iterable

from hub.types import Address, AttachmentInfo, RemoteMessage

_HEADER_PARSER = email.parser.BytesHeaderParser(policy=policy.compat32)
_BYTES_PARSER = email.parser.BytesParser(policy=policy.compat32)
_MSGID = re.compile(r"<[^<>\s]+>")
_B64_JUNK = re.compile(rb"[^A-Za-z0-9+/]")


# --- BODYSTRUCTURE --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TextPart:
    """A text/plain or text/html part to fetch: its section number and how it is encoded."""

    section: str
    subtype: str
    encoding: str = "7bit"
    charset: str | None = None
    size: int = 0


@dataclass
class Structure:
    """What a BODYSTRUCTURE says the hub needs: the text parts and the attachments' metadata."""

    plain: TextPart | None = None
    html: TextPart | None = None
    attachments: list[AttachmentInfo] = field(default_factory=list)
    error: str | None = None

    @property
    def text_parts(self) -> tuple[TextPart, ...]:
        return tuple(p for p in (self.plain, self.html) if p is not None)


def _s(value: Any) -> str:
    """An IMAP string atom (bytes, str or NIL) as text."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _params(raw: Any) -> dict[str, str]:
    """A BODYSTRUCTURE parameter list ``(k v k v …)`` as a dict, RFC 2231 continuations joined."""
    if not isinstance(raw, (tuple, list)):
        return {}
    items = list(raw)
    pairs = [(_s(items[i]).lower(), _s(items[i + 1])) for i in range(0, len(items) - 1, 2)]
    if not any("*" in k for k, _v in pairs):  # no RFC 2231 parts: what decode_params would return, cheaply
        return {k: email.utils.unquote(email.utils.unquote(f'"{v}"')) for k, v in pairs}
    try:
        decoded = email.utils.decode_params([("", "")] + [(k, f'"{v}"') for k, v in pairs])[1:]
        return {k: _collapse(v) for k, v in decoded}
    except Exception:  # noqa: BLE001 - malformed RFC 2231 parameters: fall back to the raw values
        return dict(pairs)


def _collapse(value: Any) -> str:
    try:
        text = email.utils.collapse_rfc2231_value(value, errors="replace")
    except (LookupError, UnicodeError, TypeError):
        text = _s(value[2] if isinstance(value, tuple) else value)
    return email.utils.unquote(text)


def _disposition(raw: Any) -> tuple[str, dict[str, str]]:
    if isinstance(raw, (tuple, list)) and raw:
        return _s(raw[0]).lower(), _params(raw[1] if len(raw) > 1 else None)
    if isinstance(raw, (bytes, str)) and raw:
        # some servers (pymap) send the raw header value instead of a parenthesized list
        holder = email.message.Message()
        holder["Content-Disposition"] = _s(raw)
        params = holder.get_params(header="content-disposition") or [("", "")]
        return params[0][0].lower(), {k.lower(): _collapse(v) for k, v in params[1:]}
    return "", {}


def _leaf_disposition(part: tuple) -> Any:
    """Where a single part's disposition sits depends on its type (RFC 3501 §7.4.2)."""
    kind, subtype = _s(part[0]).lower(), _s(part[1]).lower()
    if kind == "text":
        index = 9  # … size, lines, md5, disposition
    elif kind == "message" and subtype in ("rfc822", "global"):
        index = 11  # … size, envelope, body, lines, md5, disposition
    else:
        index = 8  # … size, md5, disposition
    return part[index] if len(part) > index else None


def _leaves(body: Any, prefix: str) -> Iterable[tuple[str, tuple]]:
    """(section, part) for every single part, depth first; message/rfc822 parts are not entered."""
    if body and isinstance(body[0], list):  # multipart: ([children], subtype, …)
        for number, child in enumerate(body[0], start=1):
            yield from _leaves(child, f"{prefix}.{number}" if prefix else str(number))
    else:
        yield prefix or "1", tuple(body)


def decoded_size(size: int, encoding: str) -> int:
    """Roughly how many bytes a part of ``size`` encoded octets holds once decoded."""
    if encoding == "base64":
        return size * 57 // 78  # 76 characters + CRLF carry 57 bytes
    return size


def read_structure(bodystructure: Any) -> Structure:
    """Find the first inline text/plain and text/html parts and every attachment in a BODYSTRUCTURE."""
    out = Structure()
    try:
        for section, part in _leaves(bodystructure, ""):
            kind, subtype = _s(part[0]).lower(), _s(part[1]).lower()
            params = _params(part[2] if len(part) > 2 else None)
            encoding = _s(part[5] if len(part) > 5 else None).lower() or "7bit"
            size = part[6] if len(part) > 6 and isinstance(part[6], int) else 0
            disposition, dparams = _disposition(_leaf_disposition(part))
            filename = dparams.get("filename") or params.get("name") or ""
            inline = disposition != "attachment" and not filename
            if kind == "text" and subtype in ("plain", "html") and inline:
                text = TextPart(section, subtype, encoding, params.get("charset"), size)
                if subtype == "plain" and out.plain is None:
                    out.plain = text
                elif subtype == "html" and out.html is None:
                    out.html = text
                continue
            if kind == "multipart":  # an empty multipart: nothing in it
                continue
            out.attachments.append(AttachmentInfo(
                filename=_decode_words(filename)[0], content_type=f"{kind}/{subtype}",
                size=decoded_size(size, encoding), remote_id=section,
            ))
    except (IndexError, TypeError, ValueError, AttributeError) as exc:
        out.error = f"unreadable BODYSTRUCTURE ({type(exc).__name__})"
    return out


# --- text ---------------------------------------------------------------------------------------------


def _unbase64(data: bytes) -> bytes:
    # keep only the alphabet and cut to whole quanta: a truncated (partial FETCH) or sloppy part
    # still decodes up to where it breaks
    clean = _B64_JUNK.sub(b"", data.split(b"=", 1)[0])
    clean = clean[: len(clean) - len(clean) % 4] if len(clean) % 4 == 1 else clean
    clean += b"=" * (-len(clean) % 4)
    try:
        return binascii.a2b_base64(clean)
    except binascii.Error:
        return b""


def decode_bytes(data: bytes, charset: str | None) -> tuple[str, str | None]:
    """Bytes → text in ``charset``; an unknown charset falls back to UTF-8 (or cp1252) and says so."""
    name = (charset or "").strip().strip('"').lower()
    if name in ("", "us-ascii", "ascii", "unknown-8bit", "x-unknown", "default"):
        # undeclared 8-bit text is UTF-8 more often than not, else Windows Latin
        try:
            return data.decode("utf-8"), None
        except UnicodeDecodeError:
            return data.decode("cp1252", "replace"), None
    try:
        codecs.lookup(name)
    except LookupError:
        text, _ = decode_bytes(data, None)
        return text, f"unknown charset {name!r}"
    try:
        return data.decode(name, "replace"), None
    except (LookupError, TypeError, UnicodeError):  # codecs that fail even with errors="replace"
        return data.decode("utf-8", "replace"), f"undecodable charset {name!r}"


def decode_text(data: bytes, encoding: str, charset: str | None) -> tuple[str, str | None]:
    """One fetched text part → text with ``\n`` line ends: transfer encoding first, then charset.

    Returns (text, problem).
    """
    encoding = (encoding or "").lower()
    if encoding == "base64":
        data = _unbase64(data)
    elif encoding == "quoted-printable":
        data = binascii.a2b_qp(data)
    text, problem = decode_bytes(data, charset)
    return text.replace("\r\n", "\n"), problem


# --- headers ------------------------------------------------------------------------------------------


_SURROGATES = re.compile("[\udc80-\udcff]")


def _unescape(value: str) -> str:
    """compat32 keeps raw 8-bit header bytes as surrogates; read them as UTF-8, else cp1252."""
    if value.isascii() or not _SURROGATES.search(value):  # the common case, at C speed
        return value
    raw = value.encode("ascii", "surrogateescape")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", "replace")


def _decode_words(value: str) -> tuple[str, str | None]:
    """Decode RFC 2047 encoded words in a header value. Returns (text, problem)."""
    value = _unescape(value)
    if "=?" not in value:
        return value, None
    try:
        chunks = decode_header(value)
    except (ValueError, binascii.Error, AssertionError, email.errors.HeaderParseError) as exc:
        return value, f"bad encoded word ({exc})"  # e.g. broken base64 inside a word
    problem = None
    out = []
    for chunk, charset in chunks:
        if isinstance(chunk, str):
            out.append(chunk)
        elif charset is None:
            out.append(chunk.decode("raw-unicode-escape", "replace"))  # decode_header's own encoding
        else:
            text, issue = decode_bytes(chunk, charset)
            out.append(text)
            problem = problem or issue
    return "".join(out), problem


_FOLD = re.compile(r"\r?\n[ \t]*")


def _unfold(value: str) -> str:
    return _FOLD.sub(" ", value).strip() if "\n" in value else value.strip()


@dataclass
class Headers:
    """The header fields the hub keeps, plus what could not be read."""

    subject: str = ""
    sender: Address | None = None
    to: list[Address] = field(default_factory=list)
    cc: list[Address] = field(default_factory=list)
    bcc: list[Address] = field(default_factory=list)
    date: datetime | None = None
    message_id: str | None = None
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


# A plain address list — "Name Surname <local@domain>" or bare "local@domain", comma-separated, no
# quotes, comments or group syntax — is most of real mail. getaddresses' general parser costs ~15 %
# of an initial sync; this pattern reads the plain case in C and returns exactly what getaddresses
# would (plugins/imap/tests/test_imap_parsing.py compares the two); anything else still goes to getaddresses.
_ATOM = r"[A-Za-z0-9_'+-]+"
_SPEC = rf"{_ATOM}(?:\.{_ATOM})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
_PLAIN_ITEM = rf"(?:({_ATOM}(?: {_ATOM})*) ?<({_SPEC})>|({_SPEC}))"
_PLAIN_LIST = re.compile(rf"[ \t]*{_PLAIN_ITEM}(?:[ \t]*,[ \t]*{_PLAIN_ITEM})*[ \t]*")
_PLAIN_ITEMS = re.compile(_PLAIN_ITEM)


def plain_address_pairs(values: list[str]) -> list[tuple[str, str]] | None:
    """getaddresses' (name, address) pairs for plain address lists; ``None`` for anything else."""
    pairs = []
    for value in values:
        if not _PLAIN_LIST.fullmatch(value):
            return None
        pairs += [(name, spec or bare) for name, spec, bare in _PLAIN_ITEMS.findall(value)]
    return pairs


def _addresses(values: list[str], problems: list[str]) -> list[Address]:
    out = []
    try:
        values = [_unescape(v) for v in values]
        pairs = plain_address_pairs(values)
        if pairs is None:
            pairs = email.utils.getaddresses(values)
    except Exception as exc:  # noqa: BLE001 - getaddresses on hostile input
        problems.append(f"unreadable address list ({type(exc).__name__})")
        return out
    for name, addr in pairs:
        if "@" not in addr:
            continue
        text, issue = _decode_words(name)
        if issue:
            problems.append(issue)
        out.append(Address(email=addr.strip().lower(), name=text.strip()))
    return out


def _date(value: str | None, problems: list[str]) -> datetime | None:
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(_unescape(value).strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        problems.append("unreadable Date header")
        return None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


# A well-formed header block — "Name: value" lines, folded lines starting with a space or tab,
# CRLF or LF line ends — is read with one regular expression; the stdlib's compat32 parser took
# a fifth of an initial sync's CPU. Anything else (a bare CR, a line without a colon, an mbox
# "From " line, 8-bit bytes in a name) goes to that parser, which reads it as before and names
# the defects. plugins/imap/tests/test_imap_parsing.py compares the two.
# (possessive: a field's extent is fixed, so a long block that fails never backtracks)
_FIELD = r"[!-9;-~]++:[^\r\n]*+(?:\r?\n[ \t][^\r\n]*+)*+"
_WELL_FORMED = re.compile(rf"(?:{_FIELD}(?:\r?\n|\Z))*+(?:\r?\n)?")
_FIELDS = re.compile(r"([!-9;-~]+):([^\r\n]*(?:\r?\n[ \t][^\r\n]*)*)")


def header_fields(raw: bytes) -> tuple[dict[str, list[str]], list[str]]:
    """The fields of a header block, ``{lowercase name: [unfolded values]}`` in order, and problems."""
    text = raw.decode("ascii", "surrogateescape")
    fields: dict[str, list[str]] = {}
    if _WELL_FORMED.fullmatch(text):
        for name, value in _FIELDS.findall(text):
            fields.setdefault(name.lower(), []).append(_unfold(value))
        return fields, []
    return header_fields_by_stdlib(raw)


def header_fields_by_stdlib(raw: bytes) -> tuple[dict[str, list[str]], list[str]]:
    """:func:`header_fields` through the stdlib's parser (any block, however broken)."""
    problems: list[str] = []
    fields: dict[str, list[str]] = {}
    try:
        msg = _HEADER_PARSER.parsebytes(raw)
    except Exception as exc:  # noqa: BLE001 - the stdlib parser on hostile bytes
        return fields, [f"unreadable headers ({type(exc).__name__})"]
    if msg.defects:
        problems.append("malformed headers: " + ", ".join(sorted({type(d).__name__ for d in msg.defects})))
    for name, value in msg.raw_items():
        fields.setdefault(name.lower(), []).append(_unfold(value) if isinstance(value, str) else str(value))
    return fields, problems


def parse_headers(raw: bytes) -> Headers:
    """Read the header block of a message (bytes as the server sent them)."""
    out = Headers()
    fields, out.problems = header_fields(raw)

    def first(name: str) -> str | None:
        return fields.get(name, [None])[0]

    subject, issue = _decode_words(first("subject") or "")
    out.subject = subject
    if issue:
        out.problems.append(issue)
    senders = _addresses(fields.get("from", []), out.problems)
    out.sender = senders[0] if senders else None
    out.to = _addresses(fields.get("to", []), out.problems)
    out.cc = _addresses(fields.get("cc", []), out.problems)
    out.bcc = _addresses(fields.get("bcc", []), out.problems)
    out.date = _date(first("date"), out.problems)
    ids = _MSGID.findall(_unescape(first("message-id") or ""))
    out.message_id = ids[0] if ids else (_unescape(first("message-id") or "").strip() or None)
    replies = _MSGID.findall(_unescape(first("in-reply-to") or ""))
    out.in_reply_to = replies[0] if replies else None
    out.references = _MSGID.findall(_unescape(" ".join(fields.get("references", []))))
    return out


def build_message(
    remote_id: str,
    folder: str,
    headers: Headers,
    structure: Structure | None = None,
    *,
    text_body: str = "",
    html_body: str = "",
    size: int = 0,
    arrived: datetime | None = None,
    thread_id: str | None = None,
    problems: Iterable[str] = (),
) -> RemoteMessage:
    """Assemble the RemoteMessage; the date falls back to the arrival time when the header is unusable."""
    issues = [*headers.problems, *(p for p in problems if p)]
    if structure is not None and structure.error:
        issues.append(structure.error)
    date = headers.date or (arrived if arrived is None or arrived.tzinfo else arrived.replace(tzinfo=timezone.utc))
    return RemoteMessage(
        remote_id=remote_id, folder=folder, message_id=headers.message_id, thread_id=thread_id,
        in_reply_to=headers.in_reply_to, references=headers.references, subject=headers.subject,
        sender=headers.sender, to=headers.to, cc=headers.cc, bcc=headers.bcc, date=date,
        text_body=text_body, html_body=html_body,
        attachments=list(structure.attachments) if structure else [], size=size,
        parse_error="; ".join(dict.fromkeys(issues)) or None,
    )


# --- whole messages (fallback) ------------------------------------------------------------------------


def parse_rfc822(raw: bytes, remote_id: str, folder: str, arrived: datetime | None = None) -> RemoteMessage:
    """Parse a complete message; used when the server's BODYSTRUCTURE is unusable."""
    split = re.search(rb"\r?\n\r?\n", raw)
    headers = parse_headers(raw[: split.end()] if split else raw)
    problems: list[str] = []
    text = html = ""
    attachments: list[AttachmentInfo] = []
    try:
        msg = _BYTES_PARSER.parsebytes(raw)
        for part in msg.walk():
            if part.is_multipart():
                continue
            ctype = part.get_content_type()
            filename = part.get_filename() or ""
            disposition = (part.get_content_disposition() or "").lower()
            payload = part.get_payload(decode=True) or b""
            if ctype in ("text/plain", "text/html") and disposition != "attachment" and not filename:
                body, issue = decode_text(payload, "", part.get_content_charset())
                problems.append(issue or "")
                if ctype == "text/plain" and not text:
                    text = body
                elif ctype == "text/html" and not html:
                    html = body
                continue
            name, issue = _decode_words(str(filename))
            problems.append(issue or "")
            attachments.append(AttachmentInfo(filename=name, content_type=ctype, size=len(payload)))
    except Exception as exc:  # noqa: BLE001 - the stdlib parser on hostile bytes
        problems.append(f"unreadable body ({type(exc).__name__})")
    structure = Structure(attachments=attachments)
    return build_message(remote_id, folder, headers, structure, text_body=text, html_body=html,
                         size=len(raw), arrived=arrived, problems=problems)
