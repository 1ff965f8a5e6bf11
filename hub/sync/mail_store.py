"""Storing a batch of cleaned messages: rows, participants, threads, and their timeline entries.

Public API: :func:`store_messages`, used by the sync engine (:mod:`hub.sync.mail`, one page at a
time), the BCC receiver (:mod:`hub.bcc`) and CRM sending (:mod:`hub.sending`).

The algorithm, with a fixed number of statements per batch whatever its size:

1. drop copies already stored under the same (account, folder, remote id) — re-running a page is a no-op;
2. keep at most ``allowed`` new messages (the daily cap); the caller then leaves its cursor behind them;
3. match every address of the batch at once (:func:`hub.crm.matching.match_addresses`);
4. find or create the threads (provider thread id, else the References/In-Reply-To root) with
   ``INSERT … ON CONFLICT DO NOTHING``, so two folders syncing at once cannot collide;
5. bulk-insert messages (``RETURNING`` their ids), join the threads one conversation was split
   into (:func:`_join_split_threads`), insert participants;
6. log on timelines only the first copy of each mail: the same Message-ID already stored for this
   user (another account, the other folder, the BCC address) is one logical message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from hub.crm.matching import AddressMatches, match_addresses
from hub.crm.timeline import MailToLog, log_messages
from hub.models import MailMessage, MailParticipant, MailThread, utcnow
from hub.sync.mail_rows import CleanMessage

PARAM_CHUNK = 500


@dataclass
class StoreResult:
    stored: int = 0
    duplicates: int = 0
    logged: int = 0
    #: new messages that did not fit under the daily cap (left for a later day)
    held_back: int = 0
    #: remote id → new row id
    row_ids: dict[str, int] = field(default_factory=dict)
    parse_errors: int = 0


def store_messages(session: Session, *, user_id: int, account_id: int | None, folder: str,
                   messages: list[CleanMessage], source: str = "sync", allowed: int | None = None,
                   matches: AddressMatches | None = None, seen_at: datetime | None = None) -> StoreResult:
    """Store ``messages`` for ``user_id`` in the caller's transaction; idempotent.

    :param account_id: the synced account, or ``None`` for mail that came through the BCC address.
    :param folder: "inbox", "sent", "bcc" …; outgoing when the sender is the user or this is "sent".
    :param source: "sync", "bcc" or "crm" (sent from the CRM).
    :param allowed: how many new messages may be stored (the daily cap); ``None`` = all.
    :param matches: address matches already made by the caller (the BCC receiver), else made here.
    :param seen_at: during an initial sync, the pass's mark (its start time) stamped on the rows of
        this batch — old ones too — so the sync can tell afterwards what the provider no longer has.
    """
    result = StoreResult()
    unique: dict[str, CleanMessage] = {}
    for message in messages:
        unique.setdefault(message.remote_id, message)
    existing = _existing_remote_ids(session, user_id, account_id, folder, list(unique))
    if seen_at is not None and existing:
        for chunk in _chunks(sorted(existing)):
            session.execute(sa.update(MailMessage.__table__).where(
                MailMessage.__table__.c.account_id.is_not_distinct_from(account_id),
                MailMessage.__table__.c.folder == folder, MailMessage.__table__.c.remote_id.in_(chunk),
            ).values(last_seen_at=seen_at))
    new = [m for rid, m in unique.items() if rid not in existing]
    result.duplicates = len(messages) - len(new)
    if allowed is not None and len(new) > allowed:
        result.held_back = len(new) - allowed
        new = new[:allowed]
    if not new:
        return result

    if matches is None:
        matches = match_addresses(session, user_id, {a for m in new for a in m.addresses})
    threads = _threads(session, user_id, new)
    already_logged = _known_message_ids(session, user_id, {m.message_id for m in new if m.message_id})
    now = utcnow()
    rows = [{
        "account_id": account_id, "user_id": user_id, "folder": m.folder, "remote_id": m.remote_id,
        "message_id": m.message_id, "thread_id": threads.get(m.thread_key), "subject": m.subject,
        "direction": _direction(m, folder, matches), "from_email": m.from_email, "from_name": m.from_name,
        "date": m.date, "text_body": m.text_body, "html_body": m.html_body, "attachments": m.attachments,
        "size": m.size, "parse_error": m.parse_error, "recipient_count": m.recipient_count,
        "source": source, "created_at": now,
        "last_seen_at": seen_at or now,
    } for m in new]
    table = MailMessage.__table__
    insert = _dialect_insert(session, table).on_conflict_do_nothing()
    for chunk in _chunks(rows):
        for row_id, remote_id in session.execute(insert.returning(table.c.id, table.c.remote_id), chunk):
            result.row_ids[remote_id] = row_id
    _join_split_threads(session, user_id, [m for m in new if m.remote_id in result.row_ids], threads)
    participants = [
        {"message_id": result.row_ids[m.remote_id], "role": role, "email": email, "name": name}
        for m in new if m.remote_id in result.row_ids for role, email, name in m.participants
    ]
    for chunk in _chunks(participants):
        session.execute(sa.insert(MailParticipant.__table__), chunk)

    to_log, seen = [], set(already_logged)
    for m in new:
        if m.remote_id not in result.row_ids or (m.message_id and m.message_id in seen):
            continue
        if m.message_id:
            seen.add(m.message_id)
        to_log.append(MailToLog(result.row_ids[m.remote_id], m.date, m.addresses))
    result.logged = log_messages(session, user_id, to_log, matches)
    result.stored = len(result.row_ids)
    result.parse_errors = sum(1 for m in new if m.parse_error)
    return result


def _direction(message: CleanMessage, folder: str, matches: AddressMatches) -> str:
    sender = matches.get(message.from_email) if message.from_email else None
    return "out" if folder == "sent" or (sender is not None and sender.kind == "self") else "in"


def _existing_remote_ids(session: Session, user_id: int, account_id: int | None, folder: str,
                         remote_ids: list[str]) -> set[str]:
    # An account's rows all belong to its user, so the unique (account, folder, remote id) key says
    # it all; naming the user too made SQLite search the user's index and read every row of the
    # user's mail (7 ms a page at 10,000 messages). BCC mail (no account) needs the user.
    owner = ((MailMessage.user_id == user_id, MailMessage.account_id.is_(None)) if account_id is None
             else (MailMessage.account_id == account_id,))
    found: set[str] = set()
    for chunk in _chunks(remote_ids):
        found.update(session.scalars(sa.select(MailMessage.remote_id).where(
            *owner, MailMessage.folder == folder, MailMessage.remote_id.in_(chunk))))
    return found


def _known_message_ids(session: Session, user_id: int, message_ids: set[str]) -> set[str]:
    """Message-IDs this user already has a stored copy of (logged, or judged not to be, back then)."""
    found: set[str] = set()
    for chunk in _chunks(sorted(message_ids)):
        found.update(session.scalars(sa.select(MailMessage.message_id).where(
            MailMessage.user_id == user_id, MailMessage.message_id.in_(chunk))))
    return found


def _threads(session: Session, user_id: int, messages: list[CleanMessage]) -> dict[str, int]:
    """thread key → thread row id, creating missing threads and moving their last-message time on."""
    latest: dict[str, tuple[datetime | None, str]] = {}
    for m in messages:
        at, _subject = latest.get(m.thread_key, (None, m.subject))
        if m.date and (at is None or m.date > at):
            at = m.date
        latest[m.thread_key] = (at, _subject)
    table = MailThread.__table__
    insert = _dialect_insert(session, table).on_conflict_do_nothing()
    rows = [{"user_id": user_id, "thread_key": key, "subject": subject, "last_message_at": at}
            for key, (at, subject) in latest.items()]
    for chunk in _chunks(rows):
        session.execute(insert, chunk)
    ids: dict[str, int] = {}
    for chunk in _chunks(list(latest)):
        ids.update((key, tid) for tid, key in session.execute(
            sa.select(MailThread.id, MailThread.thread_key).where(
                MailThread.user_id == user_id, MailThread.thread_key.in_(chunk))))
    moved = [{"tid": ids[key], "at": at} for key, (at, _s) in latest.items() if at is not None and key in ids]
    if moved:
        session.execute(
            sa.update(table).where(table.c.id == sa.bindparam("tid"),
                                   sa.or_(table.c.last_message_at.is_(None), table.c.last_message_at < sa.bindparam("at")))
            .values(last_message_at=sa.bindparam("at")),
            moved,
        )
    return ids


def _join_split_threads(session: Session, user_id: int, new: list[CleanMessage], threads: dict[str, int]) -> int:
    """Merge threads that are one conversation, linked through the batch's References/In-Reply-To.

    A thread's key is the provider's thread id or the References root, which splits a conversation
    when a mail client sent In-Reply-To without References, when a reply is stored before the
    message it answers, or when two accounts' providers name one thread differently. So, with the
    batch's messages already inserted: a new message joins the threads of the stored messages it
    answers, and threads keyed by a new message's own Message-ID (replies stored earlier) join its
    thread. Two queries per chunk, whatever the batch's size.
    Returns how many threads were merged away.
    """
    own = {m.remote_id: threads.get(m.thread_key) for m in new}
    parent_ids = sorted({p for m in new for p in m.parents})
    answered: dict[str, set[int]] = {}
    for chunk in _chunks(parent_ids):
        for message_id, thread_id in session.execute(sa.select(MailMessage.message_id, MailMessage.thread_id).where(
                MailMessage.user_id == user_id, MailMessage.message_id.in_(chunk), MailMessage.thread_id.is_not(None))):
            answered.setdefault(message_id, set()).add(thread_id)
    replies: dict[str, int] = {}
    for chunk in _chunks(sorted({m.message_id for m in new if m.message_id})):
        replies.update(session.execute(sa.select(MailThread.thread_key, MailThread.id).where(
            MailThread.user_id == user_id, MailThread.thread_key.in_(chunk))).all())

    root: dict[int, int] = {}

    def find(t: int) -> int:
        while root.get(t, t) != t:
            t = root[t]
        return t

    def merge(child: int, parent: int) -> None:
        # the answering side joins the answered side: its key is nearer the conversation's root,
        # so the messages still to come (the root itself, say) find the surviving thread by key
        child, parent = find(child), find(parent)
        if child != parent:
            root[child] = parent

    for m in new:
        mine = own.get(m.remote_id)
        if mine is None:
            continue
        for parent in m.parents:
            for other in answered.get(parent, ()):
                merge(mine, other)
        if m.message_id in replies:
            merge(replies[m.message_id], mine)
    moves = [{"old": t, "new": find(t)} for t in root if find(t) != t]
    if not moves:
        return 0
    messages, table = MailMessage.__table__, MailThread.__table__
    session.execute(sa.update(messages).where(messages.c.thread_id == sa.bindparam("old"))
                    .values(thread_id=sa.bindparam("new")).execution_options(synchronize_session=False), moves)
    latest = sa.select(sa.func.max(messages.c.date)).where(messages.c.thread_id == table.c.id).scalar_subquery()
    targets = sorted({m["new"] for m in moves})
    session.execute(sa.update(table).where(table.c.id.in_(targets)).values(last_message_at=latest))
    # a concurrent sync may have filed a message under an old thread meanwhile: keep those
    has_mail = sa.select(messages.c.id).where(messages.c.thread_id == table.c.id).exists()
    session.execute(sa.delete(table).where(table.c.id.in_([m["old"] for m in moves]), ~has_mail))
    return len(moves)


def _dialect_insert(session: Session, table: sa.Table):
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def _chunks(values: list) -> list[list]:
    return [values[i:i + PARAM_CHUNK] for i in range(0, len(values), PARAM_CHUNK)]
