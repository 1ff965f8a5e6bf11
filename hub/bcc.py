"""The BCC logging address: each user's private ``log+<token>@<mail domain>`` and the SMTP receiver behind it.

Public API: :func:`bcc_address`, :func:`rotate_bcc_token`, :func:`log_raw_mail`, :class:`BccHandler`,
:func:`start_bcc_server` (``hub smtp`` and ``hub serve`` run it).

A user who puts their address in Cc or Bcc of a mail gets that mail logged: the hub receives it
over SMTP (aiosmtpd), creates contacts for the external people on it (their company too, unless
free-mail), marks those contacts with ``auto_sync_since`` so that mail with them syncs from then
on, stores the mail like a synced one (same threads, same one-per-Message-ID logging) and logs it.

The receiver refuses at RCPT time any recipient that is not a live logging address (``550``) — an
unknown or rotated token, another domain — so it is no open relay and no mailbox. Oversize mail is
refused by aiosmtpd's SIZE limit (``552``); mail without sender or recipients gets ``554``; an
unexpected failure answers ``451`` (try later) and is logged — the server itself never falls over.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from datetime import datetime, timezone
from email import message_from_bytes, policy
from email.header import decode_header
from email.utils import getaddresses, parsedate_to_datetime
from hashlib import sha256

import sqlalchemy as sa
from aiosmtpd.controller import Controller

from hub import events
from hub.crm.matching import domain_of, ensure_contact, match_addresses, normalize_email
from hub.models import Contact, User
from hub.sync.mail_rows import clean_message
from hub.sync.mail_store import store_messages
from hub.types import Address, AttachmentInfo, RemoteMessage

log = logging.getLogger(__name__)

LOCAL_PREFIX = "log+"
#: the largest mail accepted (SIZE extension); bigger gets 552 — logging needs text, not attachments
MAX_MESSAGE_BYTES = 25 * 1024 * 1024
#: bytes of the header block read (the IMAP sync's cap for the same thing); the rest is cut and flagged
HEADER_CAP = 256 * 1024
_HEADER_END = re.compile(rb"\r?\n\r?\n")


class MalformedMail(ValueError):
    """The mail cannot be logged: no sender and no recipient could be read."""


def bcc_address(user: User, hub=None) -> str:
    """The user's private logging address, ``log+<token>@<mail domain>``."""
    if hub is None:
        from hub.core import current_hub

        hub = current_hub()
    return f"{LOCAL_PREFIX}{user.bcc_token}@{hub.settings.mail_domain}"


def rotate_bcc_token(hub, user_id: int) -> str:
    """Give the user a new logging address; the old one is refused from now on. Returns the new one."""
    with hub.db.session(write_lock=True) as s:
        user = s.get(User, user_id)
        user.bcc_token = secrets.token_hex(8)
        s.flush()
        return bcc_address(user, hub)


def user_for_address(hub, address: str) -> int | None:
    """The active user whose logging address ``address`` is, or None."""
    email = normalize_email(address)
    local, _, domain = email.rpartition("@")
    if domain != hub.settings.mail_domain.lower() or not local.startswith(LOCAL_PREFIX):
        return None
    token = local[len(LOCAL_PREFIX):]
    if not token:
        return None
    with hub.db.session() as s:
        return s.scalar(sa.select(User.id).where(User.bcc_token == token, User.active.is_(True)))


def log_raw_mail(hub, raw: bytes, user_ids: list[int], now: datetime | None = None) -> int:
    """Log one received mail for each of ``user_ids``. Returns how many users got it logged anew.

    :raises MalformedMail: no sender and no recipient could be read.
    """
    now = now or datetime.now(timezone.utc)
    message = parse_raw_message(raw)
    if message.sender is None and not (message.to or message.cc):
        raise MalformedMail("The message has no readable sender or recipients.")
    clean = clean_message(message, "bcc")
    own_domain = hub.settings.mail_domain.lower()
    people = [(email, name) for _role, email, name in clean.participants if domain_of(email) != own_domain]
    logged = 0
    for user_id in dict.fromkeys(user_ids):
        with hub.db.session(write_lock=True) as s:
            matches = match_addresses(s, user_id, [e for e, _ in people])
            marked = set()
            for email, name in people:
                kind = matches[email].kind
                if kind == "external_unknown":
                    contact_id = ensure_contact(s, email, name, source="bcc", user_id=user_id)
                    marked.add(contact_id)
                    events.contact_created(s, contact_id, user_id, "bcc")
                elif kind == "contact":
                    marked.add(matches[email].contact_id)
            if marked:  # from now on, mail with these people syncs by itself
                s.execute(sa.update(Contact).where(Contact.id.in_(marked), Contact.auto_sync_since.is_(None))
                          .values(auto_sync_since=now).execution_options(synchronize_session=False))
                matches = match_addresses(s, user_id, [e for e, _ in people])
            result = store_messages(s, user_id=user_id, account_id=None, folder="bcc", messages=[clean],
                                    source="bcc", matches=matches)
            logged += result.logged
    return logged


def parse_raw_message(raw: bytes) -> RemoteMessage:
    """A RemoteMessage from RFC 822 bytes: every field read on its own, failures noted in ``parse_error``.

    Bounded on hostile mail: only the first :data:`HEADER_CAP` bytes of the header block are read,
    and headers go through the stdlib's ``compat32`` parser with RFC 2047 words decoded by
    ``email.header`` — both linear. (``policy.default``'s structured header parser took one process
    from 143 MB to 990 MB on one 170 KB Subject of 10,000 encoded words.)
    """
    remote_id = "bcc:" + sha256(raw).hexdigest()
    out = RemoteMessage(remote_id=remote_id, folder="bcc", size=len(raw))
    problems: list[str] = []
    end = _HEADER_END.search(raw, 0, HEADER_CAP + 4)
    if end is None and len(raw) > HEADER_CAP:
        problems.append("header block too long; the rest was not read")
        raw = raw[:HEADER_CAP] + b"\r\n\r\n"
    try:
        msg = message_from_bytes(raw, policy=policy.compat32)
    except Exception as exc:  # the parser is lenient; this is for the truly pathological
        out.parse_error = f"unreadable message: {type(exc).__name__}"
        return out

    def field(name: str, read):
        try:
            return read()
        except Exception as exc:  # email raises many types on broken headers
            problems.append(f"{name}: {type(exc).__name__}")
            return None

    def header(name: str) -> str:
        value = msg.get(name)
        return "" if value is None else _decoded(str(value))

    def addresses(name: str) -> list[Address]:
        values = [str(v) for v in msg.get_all(name, [])]
        return [Address(email=a.strip().lower(), name=_decoded(n).strip()) for n, a in getaddresses(values) if "@" in a]

    out.message_id = field("Message-ID", lambda: header("Message-ID").strip() or None)
    if out.message_id:  # the same mail BCC'd twice is one message
        out.remote_id = "bcc:" + out.message_id.strip("<> ")
    out.subject = field("Subject", lambda: " ".join(header("Subject").split())) or ""
    out.in_reply_to = field("In-Reply-To", lambda: header("In-Reply-To").strip() or None)
    out.references = field("References", lambda: header("References").split()) or []
    senders = field("From", lambda: addresses("From")) or []
    out.sender = senders[0] if senders else None
    out.to = field("To", lambda: addresses("To")) or []
    out.cc = field("Cc", lambda: addresses("Cc")) or []
    out.date = field("Date", lambda: _date(msg.get("Date")))
    field("body", lambda: _read_parts(msg, out))
    if msg.defects:
        problems.extend(sorted({type(d).__name__ for d in msg.defects}))
    out.parse_error = "; ".join(problems) or None
    return out


def _decoded(value: str) -> str:
    """A header value with its RFC 2047 encoded words decoded (unknown charsets replaced, never raising)."""
    if "=?" not in value:
        return value
    try:
        chunks = decode_header(value)
    except Exception:  # broken base64 inside a word: keep the raw text
        return value
    return "".join(c if isinstance(c, str) else _text(c, charset) for c, charset in chunks)


def _text(data: bytes, charset: str | None) -> str:
    """Bytes in ``charset``; an unknown or lying charset falls back to UTF-8 with replacements."""
    try:
        return data.decode(charset or "utf-8", "replace")
    except LookupError:
        return data.decode("utf-8", "replace")


def _date(value) -> datetime | None:
    if not value:
        return None
    when = parsedate_to_datetime(str(value).strip())
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def _read_parts(msg, out: RemoteMessage) -> None:
    """The first text/plain and text/html parts as the bodies; every other leaf as attachment metadata."""
    for part in msg.walk():
        if part.is_multipart():
            continue
        kind, filename = part.get_content_type(), part.get_filename() or ""
        payload = part.get_payload(decode=True) or b""
        inline = kind in ("text/plain", "text/html") and not filename and part.get_content_disposition() != "attachment"
        if inline and kind == "text/plain" and not out.text_body:
            out.text_body = _text(payload, part.get_content_charset())
        elif inline and kind == "text/html" and not out.html_body:
            out.html_body = _text(payload, part.get_content_charset())
        elif not inline:
            out.attachments.append(AttachmentInfo(_decoded(filename), kind, len(payload)))


class BccHandler:
    """aiosmtpd handler: accepts only live logging addresses, then logs the mail for their users."""

    def __init__(self, hub):
        self.hub = hub

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        try:
            user_id = await asyncio.get_running_loop().run_in_executor(None, user_for_address, self.hub, address)
        except Exception:
            log.exception("looking up a logging address failed")
            return "451 4.3.0 Temporary failure, please try again later"
        if user_id is None:
            return "550 5.1.1 No such logging address"
        envelope.rcpt_tos.append(address)
        if not hasattr(envelope, "hub_user_ids"):  # aiosmtpd makes a fresh envelope per transaction
            envelope.hub_user_ids = []
        envelope.hub_user_ids.append(user_id)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        user_ids = getattr(envelope, "hub_user_ids", [])
        if not user_ids:
            return "554 5.5.1 No valid recipients"
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        try:
            await asyncio.get_running_loop().run_in_executor(None, log_raw_mail, self.hub, raw, user_ids)
        except MalformedMail as exc:
            return f"554 5.6.0 {exc}"
        except Exception:
            log.exception("logging a received mail failed")
            return "451 4.3.0 Temporary failure, please try again later"
        return "250 2.0.0 Logged"


def start_bcc_server(hub, host: str = "127.0.0.1", port: int | None = None,
                     max_size: int = MAX_MESSAGE_BYTES) -> Controller:
    """Start the logging SMTP receiver in a background thread; ``controller.stop()`` stops it.

    :param port: defaults to ``hub.settings.smtp_port``.
    :param max_size: larger mail is refused with 552 (advertised through SIZE).
    """
    controller = Controller(
        BccHandler(hub), hostname=host, port=port or hub.settings.smtp_port,
        data_size_limit=max_size, decode_data=False, enable_SMTPUTF8=True,
        server_hostname=hub.settings.mail_domain, ident="crm-hub logging",
    )
    controller.start()
    return controller
