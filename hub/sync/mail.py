"""The mail sync engine: pull a folder page by page through ``hub_sync_mail`` and log it in the CRM.

Public API: :func:`sync_folder` (called by :func:`hub.jobs.sync_mail`) and :func:`folder_progress`.

Algorithm (one folder of one account):

1. Read the folder's :class:`~hub.models.SyncCursor` (``kind="mail"``, ``key=folder``); ``full=True``
   drops it. Without a cursor this is an initial sync of the last ``settings.mail_initial_days``,
   counted from when it started, so a sync resumed later asks for the same window.
2. Ask the provider for a page of at most ``min(PAGE_SIZE, what the daily cap still allows)``.
3. In ONE transaction: remove ``page.deleted``, store the messages
   (:func:`hub.sync.mail_store.store_messages`: idempotent on (account, folder, remote id), one
   logical message per Message-ID across the user's accounts, threads, timeline logging), count
   them against the cap, and save the page's cursor and progress ("3,200 of 10,000"). A crash
   between pages resumes from the last stored page and never stores one twice. The commit does
   not wait for the disk (``durable=False``): a page a power cut takes goes with its cursor.
4. When the cap cuts a page, store what fits, keep the old cursor (the rest is deferred to the
   next day, not dropped) and stop. Re-reading that page later skips what is already stored.
5. ``CursorExpired`` → start over without a cursor once; step 3's idempotency means the full
   resync adds only what is missing. When an initial (re)sync completes, stored mail of the window
   it did not see again is removed (deleted meanwhile, or re-keyed by a new IMAP UIDVALIDITY), its
   timeline entries moving to the fresh copy of the same Message-ID.
6. Stop on ``page.done`` — or when a provider keeps answering "not done" without moving.

Partitions: before a large initial sync without a daily cap, the provider may cut the folder into
parts (``hub_mail_partitions``); each part is then paged through by a job of its own
(``sync_folder(..., part=i)``, steps 2–3 with the part's cursor in a ``mail-part`` row), so a big
INBOX keeps every worker busy instead of one. The folder's progress adds up all parts. The part
that finishes last (the folder row locked) installs the provider's ``after`` cursor as the folder's,
completes the initial sync (step 5's sweep) and asks for one more folder sync for mail that arrived
meanwhile. A part whose cursor expires restarts the whole folder. While parts are pending, a folder
sync only names them again (a lost part job is re-enqueued; job ids keep it unique).

On PostgreSQL and without a daily cap, the next page is requested (in a helper thread) while the
current one is being stored, so the provider's network time overlaps the database work.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from hub.crm.timeline import remove_messages
from hub.exceptions import ConfigError, CursorExpired
from hub.models import Account, MailMessage, SyncCursor
from hub.sync import limits
from hub.sync.mail_rows import clean_message, text
from hub.sync.mail_store import store_messages
from hub.types import MailPage

log = logging.getLogger(__name__)

#: messages asked for per page: large enough to amortize a transaction (bench/mail_sync.py: 500 took
#: ~6 % less CPU than 250 and a worker ~8 MB more memory), small enough to keep one page's memory
#: and lock time short (Gmail's list pages stop at 500 anyway)
PAGE_SIZE = 500
#: how many parts a large folder's initial sync is cut into (providers that can page by partition)
PARTITIONS = 4
#: the SyncCursor kind of one part of a split initial sync (key ``<folder>/<n>``; ``<folder>/after``)
PART_KIND = "mail-part"


def sync_folder(hub, account_id: int, folder: str, full: bool = False, now: datetime | None = None,
                part: int | None = None, split: bool = True) -> dict[str, Any]:
    """Sync one mail folder of one account until the provider says it is done (or the cap is hit).

    :param hub: the :class:`hub.core.Hub`.
    :param full: forget the cursor and sync the initial window again (duplicates are skipped).
    :param now: the current time (tests pass a fixed clock for the daily cap).
    :param part: sync only this part of a split initial sync (see the module docstring).
    :param split: whether a large initial sync may be split into parts.
    :return: counts — ``fetched``, ``stored``, ``duplicates``, ``deleted``, ``logged``, ``parse_errors``,
        ``pages``, ``deferred`` (cap reached, mail waiting), ``restarted`` (cursor expired), ``skipped``;
        ``parts``: the parts that still need a job; ``again``: the folder needs one more sync;
        ``provider_seconds``, ``store_seconds`` and, of that, ``lock_seconds`` waiting for the write lock.
    :raises CursorExpired: when even a fresh start is refused; provider errors as raised by the plugin.
    """
    stats: dict[str, Any] = {"fetched": 0, "stored": 0, "duplicates": 0, "deleted": 0, "logged": 0, "parse_errors": 0,
             "pages": 0, "deferred": False, "restarted": False, "skipped": None, "parts": [], "again": False,
             "provider_seconds": 0.0, "store_seconds": 0.0, "lock_seconds": 0.0}
    if part is not None:
        return _sync_part(hub, account_id, folder, part, stats, now)
    with hub.db.session() as s:
        account = s.get(Account, account_id)
        if account is None:
            raise ConfigError(f"Account {account_id} does not exist.")
        if not account.mail_enabled:
            stats["skipped"] = "mail sync is disabled for this account"
            return stats
        user_id = account.user_id
        state = s.scalars(_cursor_query(account_id, folder)).one_or_none()
        remaining = limits.remaining_today(s, user_id, now)
        pending = _pending_parts(s, account_id, folder)
        handle = hub.account_handle(account_id, s)  # same transaction: a no-op sync is mostly fixed costs
    if pending and not full:
        stats["skipped"], stats["parts"] = "the initial sync runs in parts", pending
        return stats
    if state is None or full or (state.cursor is None and not state.started_at):
        # a write after a read would fail on a busy SQLite: take the write lock up front
        with hub.db.session(write_lock=True) as s:
            state = _cursor_row(s, account_id, folder)
            if full or (state.cursor is None and not state.started_at):
                _restart(state, now)
                _drop_parts(s, account_id, folder)
    cursor, started_at, initial_done = state.cursor, state.started_at, state.initial_done
    since = started_at - timedelta(days=hub.settings.mail_initial_days)
    if split and cursor is None and not initial_done and remaining is None and not state.progress_done:
        # no answer (a small folder, a provider that cannot split) is the usual path
        parts = hub.plugins.maybe_call("hub_mail_partitions", account=handle, folder=folder, since=since,
                                       parts=PARTITIONS)
        if parts is not None:
            with hub.db.session(write_lock=True) as s:
                state = _cursor_row(s, account_id, folder)
                state.progress_total = parts.total
                s.add_all([SyncCursor(account_id=account_id, kind=PART_KIND, key=f"{folder}/{i}", cursor=text(c, 1_000_000),
                                      initial_done=False, progress_done=0) for i, c in enumerate(parts.parts)])
                s.add(SyncCursor(account_id=account_id, kind=PART_KIND, key=f"{folder}/after",
                                 cursor=text(parts.after, 1_000_000), initial_done=True, progress_done=0))
            stats["parts"] = list(range(len(parts.parts)))
            return stats

    def fetch(at: str | None, limit: int) -> MailPage:
        return hub.plugins.call("hub_sync_mail", account=handle, folder=folder, cursor=at, limit=limit,
                                since=since)

    # While a page is stored, the next one is already on its way (a thread: the provider waits on its
    # socket, PostgreSQL on its own). Not without a cap: the next page's size depends on this one. Not on
    # SQLite: its single write lock would be held longer while the thread competes for the GIL, and
    # the other folders' syncs wait for it (measured: 6.0 s plain vs 6.6 s prefetching, 6,000 messages).
    prefetch = not hub.db.is_sqlite
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"mail-{account_id}-{folder}") as prefetcher:
        ahead: tuple[str | None, Future] | None = None
        while True:
            if remaining == 0:  # today's cap is used up: what is left waits for tomorrow
                stats["deferred"] = True
                if stats["pages"]:  # the last page said more is waiting: note it on today's usage
                    with hub.db.session(write_lock=True) as s:
                        limits.record(s, user_id, 0, deferred=True, now=now)
                break
            clock = time.perf_counter()
            try:
                if ahead is not None and ahead[0] == cursor:
                    page = ahead[1].result()
                else:
                    page = fetch(cursor, PAGE_SIZE if remaining is None else min(PAGE_SIZE, remaining))
            except CursorExpired:
                if stats["restarted"]:
                    raise
                log.info("account %s folder %s: cursor expired, full resync", account_id, folder)
                stats["restarted"] = True
                with hub.db.session(write_lock=True) as s:
                    state = _cursor_row(s, account_id, folder)
                    _restart(state, now)
                    cursor, initial_done = None, False
                    since = state.started_at - timedelta(days=hub.settings.mail_initial_days)
                continue
            finally:
                ahead = None
                stats["provider_seconds"] += time.perf_counter() - clock
            stats["pages"] += 1
            stats["fetched"] += len(page.messages)
            unchanged = not page.messages and not page.deleted and page.next_cursor == cursor
            if prefetch and remaining is None and not page.done and not unchanged:
                ahead = (page.next_cursor, prefetcher.submit(fetch, page.next_cursor, PAGE_SIZE))
            if not (unchanged and initial_done):  # a no-op page of an incremental sync writes nothing
                clock = time.perf_counter()
                cut, initial_done = _store_page(hub, account_id, user_id, folder, page, stats, now)
                stats["store_seconds"] += time.perf_counter() - clock
                if cut:
                    stats["deferred"] = True
                    break
            cursor = page.next_cursor
            if page.done or unchanged:
                if unchanged and not page.done:
                    log.warning("account %s folder %s: provider returned an empty page without progress",
                                account_id, folder)
                break
            if remaining is not None:
                with hub.db.session() as s:
                    remaining = limits.remaining_today(s, user_id, now)
    counts = {k: v for k, v in stats.items() if isinstance(v, int) and not isinstance(v, bool)}
    hub.plugins.notify("hub_sync_finished", account_id=account_id, kind="mail", key=folder, stats=counts)
    return stats


def _store_page(hub, account_id: int, user_id: int, folder: str, page: MailPage, stats: dict[str, Any],
                now: datetime | None, part: int | None = None) -> tuple[bool, bool]:
    """Store one page and its cursor (the folder's, or the part's) in one transaction.

    :return: (the cap cut the page short, the initial sync is complete).
    """
    cleaned = [clean_message(m, folder) for m in page.messages]
    deleted = [text(d, 1024) for d in (page.deleted or [])]
    if part is not None:
        return _store_part_page(hub, account_id, user_id, folder, part, page, cleaned, stats, now)
    with hub.db.session(write_lock=True, durable=False) as s:  # lost with its cursor: fetched again
        _take_lock(s, stats)
        allowed = limits.reserve(s, user_id, now)
        state = _cursor_row(s, account_id, folder)
        initial = not state.initial_done
        if deleted:
            stats["deleted"] += _delete_remote(s, account_id, folder, deleted)
        result = store_messages(s, user_id=user_id, account_id=account_id, folder=folder, messages=cleaned,
                                allowed=allowed, seen_at=state.started_at if initial else None)
        cut = result.held_back > 0
        limits.record(s, user_id, result.stored, deferred=cut, now=now)
        if not cut:  # a cut page is read again from the same cursor: nothing after the cap is skipped
            state.cursor = text(page.next_cursor, 1_000_000) or None
        if initial:
            state.progress_done += len(cleaned) - result.held_back
            if page.total_estimate is not None:
                # never shrink: some providers estimate what is left rather than the whole
                state.progress_total = max(page.total_estimate, state.progress_total or 0, state.progress_done)
            if page.done and not cut:
                state.initial_done = True
                state.progress_total = state.progress_done
                if state.started_at is not None:
                    since = state.started_at - timedelta(days=hub.settings.mail_initial_days)
                    stats["deleted"] += _drop_unseen(s, account_id, folder, state.started_at, since)
        if page.done and not cut:
            state.finished_at = now or datetime.now(timezone.utc)
    for key in ("stored", "duplicates", "logged", "parse_errors"):
        stats[key] += getattr(result, key)
    return cut, state.initial_done


def _sync_part(hub, account_id: int, folder: str, part: int, stats: dict[str, Any],
               now: datetime | None) -> dict[str, Any]:
    """Page through one part of a split initial sync (see the module docstring)."""
    with hub.db.session() as s:
        account = s.get(Account, account_id)
        if account is None:
            raise ConfigError(f"Account {account_id} does not exist.")
        user_id = account.user_id
        row = s.scalars(_cursor_query(account_id, f"{folder}/{part}", PART_KIND)).one_or_none()
        state = s.scalars(_cursor_query(account_id, folder)).one_or_none()
        if row is None or row.initial_done or state is None or state.started_at is None:
            stats["skipped"] = "this part is done"
            return stats
        cursor, since = row.cursor, state.started_at - timedelta(days=hub.settings.mail_initial_days)
        handle = hub.account_handle(account_id, s)
    while True:
        clock = time.perf_counter()
        try:
            page = hub.plugins.call("hub_sync_mail", account=handle, folder=folder, cursor=cursor, limit=PAGE_SIZE,
                                    since=since)
        except CursorExpired:
            log.info("account %s folder %s part %s: cursor expired, the folder is synced again", account_id, folder, part)
            with hub.db.session(write_lock=True) as s:
                _restart(_cursor_row(s, account_id, folder), now)
                _drop_parts(s, account_id, folder)
            stats["restarted"] = stats["again"] = True
            return stats
        finally:
            stats["provider_seconds"] += time.perf_counter() - clock
        stats["pages"] += 1
        stats["fetched"] += len(page.messages)
        clock = time.perf_counter()
        cut, finished = _store_page(hub, account_id, user_id, folder, page, stats, now, part=part)
        stats["store_seconds"] += time.perf_counter() - clock
        if cut:
            stats["deferred"] = True
            return stats
        if finished:
            stats["again"] = True  # mail that arrived while the parts ran
        if page.done or (not page.messages and page.next_cursor == cursor):
            return stats
        cursor = page.next_cursor


def _store_part_page(hub, account_id: int, user_id: int, folder: str, part: int, page: MailPage, cleaned: list,
                     stats: dict[str, Any], now: datetime | None) -> tuple[bool, bool]:
    """One page of a part: messages, the part's cursor, the folder's progress — and, on the page that
    ends the last part, the folder's completion."""
    with hub.db.session(write_lock=True, durable=False) as s:  # lost with its cursor: fetched again
        _take_lock(s, stats)
        allowed = limits.reserve(s, user_id, now)
        row = s.scalars(_cursor_query(account_id, f"{folder}/{part}", PART_KIND)).one()
        state = _cursor_row(s, account_id, folder, lock=page.done)
        result = store_messages(s, user_id=user_id, account_id=account_id, folder=folder, messages=cleaned,
                                allowed=allowed, seen_at=state.started_at)
        cut = result.held_back > 0
        limits.record(s, user_id, result.stored, deferred=cut, now=now)
        # an SQL increment: parts on other workers add to the same row at the same time
        s.execute(sa.update(SyncCursor).where(SyncCursor.id == state.id).values(
            progress_done=SyncCursor.progress_done + len(cleaned) - result.held_back))
        finished = False
        if not cut:
            row.cursor = text(page.next_cursor, 1_000_000) or None
            row.initial_done = page.done
            s.flush()
            if page.done and not _pending_parts(s, account_id, folder):
                after = s.scalars(_cursor_query(account_id, f"{folder}/after", PART_KIND)).one()
                s.refresh(state)
                state.cursor, state.initial_done = after.cursor, True
                state.progress_total = state.progress_done
                state.finished_at = now or datetime.now(timezone.utc)
                since = state.started_at - timedelta(days=hub.settings.mail_initial_days)
                stats["deleted"] += _drop_unseen(s, account_id, folder, state.started_at, since)
                _drop_parts(s, account_id, folder)
                finished = True
    for key in ("stored", "duplicates", "logged", "parse_errors"):
        stats[key] += getattr(result, key)
    return cut, finished


def _take_lock(s: Session, stats: dict[str, Any]) -> None:
    """Begin the page's transaction now, counting the wait in ``lock_seconds``: on SQLite the
    workers' pages queue for its one writer, and that wait is part of ``store_seconds``."""
    clock = time.perf_counter()
    s.connection()
    stats["lock_seconds"] += time.perf_counter() - clock


def _pending_parts(s: Session, account_id: int, folder: str) -> list[int]:
    """The parts of ``folder``'s split initial sync not finished yet."""
    keys = s.scalars(sa.select(SyncCursor.key).where(
        SyncCursor.account_id == account_id, SyncCursor.kind == PART_KIND, SyncCursor.key.like(f"{folder}/%"),
        SyncCursor.initial_done.is_(False))).all()
    return sorted(int(k.rsplit("/", 1)[1]) for k in keys)


def _drop_parts(s: Session, account_id: int, folder: str) -> None:
    s.execute(sa.delete(SyncCursor).where(SyncCursor.account_id == account_id, SyncCursor.kind == PART_KIND,
                                          SyncCursor.key.like(f"{folder}/%")))


def _delete_remote(s: Session, account_id: int, folder: str, remote_ids: list[str]) -> int:
    """Remove messages the provider says are gone from this folder (and from timelines)."""
    doomed: list[int] = []
    for i in range(0, len(remote_ids), 500):
        doomed += s.scalars(sa.select(MailMessage.id).where(
            MailMessage.account_id == account_id, MailMessage.folder == folder,
            MailMessage.remote_id.in_(remote_ids[i:i + 500]))).all()
    return remove_messages(s, doomed)


def _drop_unseen(s: Session, account_id: int, folder: str, started_at: datetime, since: datetime) -> int:
    """After a full (re)sync: remove what it should have seen again but did not — mail deleted while
    the cursor was lost, or kept under ids the provider no longer uses (a new IMAP UIDVALIDITY).
    Timeline entries move to the fresh copy of the same Message-ID. Mail older than the window stays,
    unless this pass stored it again under a new id (same Message-ID, or the same content when it has
    none): a Date header that is missing, absurd (1900) or unreadable says nothing about the window.

    Rows seen by this pass carry its ``started_at`` as their mark: an equality test, so workers on
    machines with slightly different clocks cannot mistake fresh rows for stale ones."""
    mine = (MailMessage.account_id == account_id, MailMessage.folder == folder, MailMessage.source == "sync")
    unseen = sa.or_(MailMessage.last_seen_at.is_(None), MailMessage.last_seen_at != started_at)
    stale = list(s.scalars(sa.select(MailMessage.id).where(*mine, unseen, MailMessage.date >= since)))
    outside = s.execute(sa.select(MailMessage.id, MailMessage.message_id, *_CONTENT).where(
        *mine, unseen, sa.or_(MailMessage.date.is_(None), MailMessage.date < since))).all()
    if outside:
        fresh = (*mine, MailMessage.last_seen_at == started_at)
        wanted = sorted({row.message_id for row in outside if row.message_id})
        seen_ids: set[str] = set()
        for i in range(0, len(wanted), 500):
            seen_ids.update(s.scalars(sa.select(MailMessage.message_id).where(
                *fresh, MailMessage.message_id.in_(wanted[i:i + 500]))))
        seen_content = {tuple(row) for row in s.execute(sa.select(*_CONTENT).where(
            *fresh, MailMessage.message_id.is_(None)))} if any(not r.message_id for r in outside) else set()
        stale += [row.id for row in outside if row.message_id in seen_ids
                  or (not row.message_id and tuple(row)[2:] in seen_content)]
    return remove_messages(s, stale)


#: what identifies a mail without a Message-ID across a re-keying of the folder
_CONTENT = (MailMessage.from_email, MailMessage.subject, MailMessage.size, MailMessage.text_body)


def _cursor_query(account_id: int, folder: str, kind: str = "mail"):
    return sa.select(SyncCursor).where(
        SyncCursor.account_id == account_id, SyncCursor.kind == kind, SyncCursor.key == folder,
    ).execution_options(populate_existing=True)


def _cursor_row(s: Session, account_id: int, folder: str, lock: bool = False) -> SyncCursor:
    """The folder's cursor row, created when missing (safe against a concurrent creation); ``lock``
    holds it (FOR UPDATE) until the transaction ends."""
    query = _cursor_query(account_id, folder)
    if lock and s.get_bind().dialect.name != "sqlite":  # SQLite's write lock already serializes
        query = query.with_for_update()
    row = s.scalars(query).one_or_none()
    if row is None:
        dialect = s.get_bind().dialect.name
        insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(SyncCursor)
        s.execute(insert.values(account_id=account_id, kind="mail", key=folder, progress_done=0,
                                initial_done=False).on_conflict_do_nothing())
        row = s.scalars(query).one()
    return row


def _restart(state: SyncCursor, now: datetime | None) -> None:
    state.cursor = None
    state.initial_done = False
    state.started_at = now or datetime.now(timezone.utc)
    state.finished_at = None
    state.progress_done = 0
    state.progress_total = None


def folder_progress(hub, account_id: int) -> dict[str, tuple[int, int | None, bool]]:
    """Initial-sync progress per mail folder: ``{folder: (done, total or None, finished)}``."""
    with hub.db.session() as s:
        rows = s.scalars(sa.select(SyncCursor).where(SyncCursor.account_id == account_id,
                                                     SyncCursor.kind == "mail")).all()
        return {r.key: (r.progress_done, r.progress_total, r.initial_done) for r in rows}
