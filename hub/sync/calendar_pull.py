"""The pull half of the two-way calendar sync (the push half: :mod:`hub.sync.calendar_push`).

Public API (called by the jobs in :mod:`hub.jobs`):

* :func:`sync_calendar` — pull one calendar's changes page by page;
* :func:`apply_page` — apply one :class:`~hub.types.EventPage` inside a transaction (the pull's core,
  also used to load data in bulk, e.g. by ``bench/availability.py``), with the
  :class:`CalendarContext` from :func:`load_context`.

**Pull.** ``hub_fetch_events`` is called with the stored cursor until a page says ``done``; the next
page is read (in another thread) while the last one is stored. Each page
and the cursor that follows it are written in *one* transaction, so a crash resumes from the last
stored page and never applies a page twice. Events are upserted by (calendar, remote id). A full sync
(no cursor, ``full=True``, or after ``CursorExpired``) is a mark-and-sweep: it bumps the cursor row's
``generation``, every event it sees is stamped with it, and its last page removes the events it did
not see — so a resync neither duplicates nor loses meetings. Changed events get their busy blocks
recomputed (:mod:`hub.sync.busy`) and go through the import rules (:mod:`hub.crm.meetings`).
The window runs from the day the account was connected to ``settings.sync_window_days`` ahead; as
its end moves on, unchanged open-ended series are expanded further (at most daily).
Calendars shared with only free/busy access are read through ``hub_free_busy`` instead.

**Echoes.** Every event row keeps a hash of the fields the CRM owns (title, description, location,
times, recurrence, status, transparency, attendees and their answers). The push stores the hash of
what it wrote, so when the event comes back (carrying our marker), the hashes match and it is not a
change; only the etag is refreshed. Pulled changes never write to the outbox, so there is no loop.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter, defaultdict
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import partial
from typing import AbstractSet, Any, Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session, load_only

from hub import work
from hub.account_status import log_error
from hub.core import Hub
from hub.crm import matching, meeting_import, meetings
from hub.exceptions import (
    CursorExpired,
    NotFound,
    ProviderError,
    TooManyOccurrences,
    UnreadableItem,
)
from hub.models import (
    Account,
    BusyBlock,
    Calendar,
    CalendarEvent,
    SyncCursor,
    SyncDirection,
    User,
    utcnow,
)
from hub.sync import busy, outbox
from hub.sync.calendars import calendar_zone
from hub.timezones import pinned
from hub.types import EventPage, Participant, RemoteEvent, Window

log = logging.getLogger(__name__)

#: a provider that never says ``done`` fails instead of looping forever
MAX_PAGES = 10_000
#: how often one sync restarts after CursorExpired before giving up
MAX_RESTARTS = 2


@dataclass
class CalendarContext:
    """What the page appliers need to know about the calendar being synced."""

    calendar_id: int
    account_id: int
    user_id: int
    remote_id: str
    #: the zone of the calendar's dates and floating times (:func:`hub.sync.calendars.calendar_zone`)
    timezone: str | None
    direction: SyncDirection
    propagate_deletions: bool
    import_meetings: bool
    appointment_type: str | None
    self_emails: frozenset[str]
    window: Window
    now: datetime
    generation: int = 0
    #: occurrences of one series expanded into busy blocks at most
    max_occurrences: int = busy.MAX_OCCURRENCES
    #: set when applying queued an outbox entry (the caller enqueues a push)
    push_needed: bool = False

    @property
    def pulls(self) -> bool:
        """Calendar changes flow into the CRM."""
        return self.direction in (SyncDirection.TWO_WAY, SyncDirection.FROM_CALENDAR)

    @property
    def pushes(self) -> bool:
        """CRM changes flow into the calendar."""
        return self.direction in (SyncDirection.TWO_WAY, SyncDirection.TO_CALENDAR)


def sync_window(connected_at: datetime, days_ahead: int, now: datetime | None = None) -> Window:
    """From the start of the connection day (UTC) to ``days_ahead`` days from now."""
    now = now or utcnow()
    first_day = datetime.combine(connected_at.astimezone(timezone.utc).date(), time.min, timezone.utc)
    return Window(start=min(first_day, now), end=now + timedelta(days=days_ahead))


def load_context(s: Session, calendar_id: int, days_ahead: int, now: datetime | None = None,
                 max_occurrences: int = busy.MAX_OCCURRENCES) -> CalendarContext:
    """Build the :class:`CalendarContext` of a calendar inside session ``s``."""
    now = now or utcnow()
    calendar = s.get(Calendar, calendar_id)
    if calendar is None:
        raise NotFound(f"Calendar {calendar_id} does not exist any more.")
    account = s.get(Account, calendar.account_id)
    generation = s.scalar(sa.select(SyncCursor.generation).where(
        SyncCursor.account_id == account.id, SyncCursor.kind == "calendar", SyncCursor.key == calendar.remote_id)) or 0
    return CalendarContext(
        calendar_id=calendar.id, account_id=account.id, user_id=account.user_id, remote_id=calendar.remote_id,
        timezone=calendar_zone(calendar, s.get(User, account.user_id)).name, direction=calendar.sync_direction,
        propagate_deletions=calendar.propagate_deletions, import_meetings=calendar.import_meetings,
        appointment_type=calendar.appointment_type,
        self_emails=frozenset(meetings.self_addresses(s, account.user_id)),
        window=sync_window(account.connected_at, days_ahead, now), now=now, generation=generation,
        max_occurrences=max_occurrences,
    )


# --- events as stored ---------------------------------------------------------------------------------


def _when(value: datetime | date | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):  # a naive (floating) time stays naive: it belongs to the calendar's zone
        return pinned(value).isoformat()
    return value.isoformat()


def _parse_when(value: str | None) -> datetime | date | None:
    if value is None:
        return None
    return date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)


def event_to_data(event: RemoteEvent) -> dict[str, Any]:
    """A RemoteEvent as JSON-able data (kept on the row for re-expansion)."""
    data = {k: v for k, v in vars(event).items() if k not in ("start", "end", "original_start", "updated",
                                                            "organizer", "attendees")}
    data.update(start=_when(event.start), end=_when(event.end), original_start=_when(event.original_start),
                updated=_when(event.updated), organizer=vars(event.organizer) if event.organizer else None,
                attendees=[vars(a) for a in event.attendees])
    return data


def event_from_data(data: dict[str, Any]) -> RemoteEvent:
    """The inverse of :func:`event_to_data`."""
    data = dict(data)
    for key in ("start", "end", "original_start", "updated"):
        data[key] = _parse_when(data.get(key))
    data["organizer"] = Participant(**data["organizer"]) if data.get("organizer") else None
    data["attendees"] = [Participant(**a) for a in data.get("attendees") or []]
    return RemoteEvent(**data)


def content_hash(event: RemoteEvent) -> str:
    """Hash of what the CRM owns in an event; equal hashes mean "no change" (and catch our own echoes)."""
    def instant(value):
        aware = isinstance(value, datetime) and value.tzinfo is not None
        return value.astimezone(timezone.utc).isoformat() if aware else _when(value)

    content = [
        event.summary or "", event.description or "", event.location or "", instant(event.start),
        instant(event.end), bool(event.all_day), sorted(event.recurrence or []), event.status, bool(event.transparent),
        sorted((a.email.lower(), a.response) for a in event.attendees),
        # a series' zone decides where its occurrences fall after a DST change
        event.timezone if event.recurrence else None,
        instant(event.original_start), event.recurring_event_id,
    ] + ([event.vtimezone] if event.vtimezone else []) + (
        # an exact DURATION ends a floating event off the wall clock; only added when set, so the
        # hashes of events stored before the field existed stay the same (no mass re-import)
        [event.duration_seconds] if event.duration_seconds is not None else [])
    return hashlib.sha256(json.dumps(content, separators=(",", ":")).encode()).hexdigest()


def row_values(event: RemoteEvent, digest: str, calendar_tz: str | None) -> dict[str, Any]:
    """The columns of an event's row that come from the event (``digest``: its :func:`content_hash`)."""
    values: dict[str, Any] = {
        "ical_uid": event.ical_uid, "etag": event.etag, "content_hash": digest, "status": event.status,
        "summary": event.summary or "", "all_day": bool(event.all_day)}
    if event.all_day and not isinstance(event.start, datetime):
        values.update(start_date=event.start, end_date=event.end, start=None, end=None)
    else:
        tz = busy.zone(event.timezone or calendar_tz)  # floating times are the calendar's
        values.update(start=busy.to_utc(event.start, tz), end=busy.to_utc(event.end, tz), start_date=None,
                      end_date=None)
    values.update(timezone=event.timezone, transparent=bool(event.transparent),
                  recurrence=list(event.recurrence) or None, recurring_event_id=event.recurring_event_id,
                  original_start=_when(event.original_start), data=event_to_data(event), updated_at=event.updated)
    return values


def fill_row(row: CalendarEvent, event: RemoteEvent, digest: str, calendar_tz: str | None) -> None:
    """Set an existing row's columns to :func:`row_values`."""
    for key, value in row_values(event, digest, calendar_tz).items():
        setattr(row, key, value)


# --- pull -----------------------------------------------------------------------------------------------


def apply_page(s: Session, ctx: CalendarContext, page: EventPage) -> Counter:
    """Apply one page: upserts and deletions, busy blocks, meetings. The caller commits (with the cursor).

    :return: counts of what happened ("changed", "unchanged", "deleted", "imported" …).
    """
    stats: Counter = Counter()
    removed = set(page.deleted)
    incoming = [e for e in page.events if e.remote_id not in removed]
    rows = rows_by_remote_id(s, ctx.calendar_id, [e.remote_id for e in incoming] + list(removed))
    series: set[str] = set()
    changed: list[tuple[str, RemoteEvent]] = []
    #: rows to insert, by remote id: one executemany instead of an ORM object (and its flush) for each
    new: dict[str, dict[str, Any]] = {}
    for event in incoming:
        if event.status == "cancelled" and not event.recurring_event_id:
            removed.add(event.remote_id)  # a cancelled single event or series is a deletion
            continue
        row = rows.get(event.remote_id)
        pending = new.get(event.remote_id)  # (the same event twice in one page)
        digest = content_hash(event)
        if (row.content_hash if row is not None else pending and pending["content_hash"]) == digest:
            if row is not None:
                row.etag, row.seen_generation = event.etag, ctx.generation
            else:
                pending["etag"] = event.etag
            stats["unchanged"] += 1
            continue
        if row is not None:
            fill_row(row, event, digest, ctx.timezone)
            row.seen_generation = ctx.generation
        else:
            new[event.remote_id] = {"calendar_id": ctx.calendar_id, "remote_id": event.remote_id, "meeting_id": None,
                                    "client_id": None, "seen_generation": ctx.generation,
                                    **row_values(event, digest, ctx.timezone)}
        series.add(event.recurring_event_id or event.remote_id)
        changed.append((event.remote_id, event))
    s.flush()
    written = {remote_id: rows[remote_id].data for remote_id, _e in changed if remote_id in rows}
    inserted: set[int] = set()
    if new:
        # the ORM leaves a None out of its INSERT and starts a new executemany whenever the next row's set of
        # columns differs: rows of one shape together make a statement per shape (timed, all-day, series …),
        # not one per run of them (on PostgreSQL each is a round trip); the sort is stable, ids keep page order
        s.execute(sa.insert(CalendarEvent), sorted(
            new.values(), key=lambda values: sorted(key for key, value in values.items() if value is None)))
        written.update((remote_id, values["data"]) for remote_id, values in new.items())
        # read back for the meeting rules, only what they read of a new row (reading JSON and times is what
        # costs; anything else is loaded when touched)
        rows.update(rows_by_remote_id(s, ctx.calendar_id, list(new), load_only(
            CalendarEvent.calendar_id, CalendarEvent.remote_id, CalendarEvent.meeting_id, CalendarEvent.client_id,
            CalendarEvent.recurring_event_id)))
        inserted.update(rows[remote_id].id for remote_id in new)
    stats["deleted"] += remove_rows(s, ctx, [rows[r] for r in removed if r in rows], series, stats)
    stats += Counter()  # drop the zero
    recompute_busy(s, ctx, series, written, inserted)
    people = [p.email for _row, e in changed for p in ([e.organizer] if e.organizer else []) + list(e.attendees)]
    stats["changed"] += len(changed)
    with matching.page_cache(s, ctx.user_id, people):  # the page's addresses in a few queries, not per event
        stats += meeting_import.on_events(s, ctx, [(rows[remote_id], event) for remote_id, event in changed
                                                   if not event.recurring_event_id])
    return stats


def rows_by_remote_id(s: Session, calendar_id: int, remote_ids: list[str], *options) -> dict[str, CalendarEvent]:
    found: dict[str, CalendarEvent] = {}
    for i in range(0, len(remote_ids), 500):
        chunk = remote_ids[i:i + 500]
        found.update((r.remote_id, r) for r in s.scalars(sa.select(CalendarEvent).options(*options).where(
            CalendarEvent.calendar_id == calendar_id, CalendarEvent.remote_id.in_(chunk))))
    return found


def remove_rows(s: Session, ctx: CalendarContext, doomed: list[CalendarEvent], series: set[str],
            stats: Counter | None = None) -> int:
    """Delete event rows (a master takes its exceptions along), applying the deletion rules to meetings."""
    if not doomed:
        return 0
    masters = [r.remote_id for r in doomed if not r.recurring_event_id]
    if masters:
        doomed = doomed + list(s.scalars(sa.select(CalendarEvent).where(
            CalendarEvent.calendar_id == ctx.calendar_id, CalendarEvent.recurring_event_id.in_(masters))))
    unique = {r.id: r for r in doomed}
    for row in unique.values():
        outcome = meeting_import.on_event_removed(s, ctx, row)
        if outcome and stats is not None:
            stats[outcome] += 1
        if row.recurring_event_id and row.recurring_event_id not in masters:
            series.add(row.recurring_event_id)  # the series lost an exception: its busy time changes
    ids = list(unique)
    for i in range(0, len(ids), 500):
        s.execute(sa.delete(BusyBlock).where(BusyBlock.event_id.in_(ids[i:i + 500])))
        s.execute(sa.delete(CalendarEvent).where(CalendarEvent.id.in_(ids[i:i + 500])))
    for row in unique.values():
        s.expunge(row)
    series.difference_update(masters)
    return len(unique)


def recompute_busy(s: Session, ctx: CalendarContext, series: Iterable[str],
                   known: dict[str, dict[str, Any]] | None = None, inserted: AbstractSet[int] = frozenset()) -> None:
    """Recompute the busy blocks of the given series (master remote ids or single events).

    :param known: the stored ``data`` of rows the caller just wrote, by remote id (not read back).
    :param inserted: ids of rows the caller just inserted: they have no blocks to delete yet.
    """
    keys = sorted(set(series))
    known = known or {}
    columns = (CalendarEvent.id, CalendarEvent.remote_id, CalendarEvent.recurring_event_id)
    for i in range(0, len(keys), 200):
        chunk = keys[i:i + 200]
        # a UNION of two index searches: with an OR, SQLite's planner scans the calendar's rows instead
        rows = s.execute(sa.union(
            sa.select(*columns).where(CalendarEvent.calendar_id == ctx.calendar_id, CalendarEvent.remote_id.in_(chunk)),
            sa.select(*columns).where(CalendarEvent.calendar_id == ctx.calendar_id,
                                      CalendarEvent.recurring_event_id.in_(chunk)))).all()
        data = {row.id: known[row.remote_id] for row in rows if row.remote_id in known}
        unknown = [row.id for row in rows if row.id not in data]
        for first in range(0, len(unknown), 500):
            data.update((row_id, row_data) for row_id, row_data in s.execute(sa.select(
                CalendarEvent.id, CalendarEvent.data).where(CalendarEvent.id.in_(unknown[first:first + 500]))))
        groups: dict[str, list] = defaultdict(list)
        for row in rows:
            groups[row.recurring_event_id or row.remote_id].append(row)
        new: dict[int, list[busy.Interval]] = {}
        for key, members in groups.items():
            master = next((r for r in members if r.remote_id == key), None)
            exceptions = [r for r in members if r is not master]
            event = event_from_data(data[master.id]) if master else None
            intervals = busy.blocks(event, [event_from_data(data[r.id]) for r in exceptions], ctx.window.start,
                                    ctx.window.end, ctx.timezone, ctx.self_emails, ctx.max_occurrences)
            if intervals.problem:
                _log_unreadable(s, ctx.account_id, ctx.remote_id, [(master.remote_id, intervals.problem)])
            if intervals.capped:
                log_error(s, s.get(Account, ctx.account_id), TooManyOccurrences(
                    f"The recurring event “{event.summary or ''}” ({master.remote_id}) repeats more than "
                    f"{ctx.max_occurrences} times in the sync window; only its first {ctx.max_occurrences} "
                    "occurrences block time."), "calendar")
            if master is not None:
                new[master.id] = intervals
            else:  # exceptions of a series we do not hold: each stands alone
                for r in exceptions:
                    new[r.id] = busy.blocks(None, [event_from_data(data[r.id])], ctx.window.start, ctx.window.end,
                                            ctx.timezone, ctx.self_emails)
        busy.replace_blocks(s, ctx.user_id, ctx.calendar_id, [r.id for r in rows if r.id not in inserted], new)


def _sweep(s: Session, ctx: CalendarContext, stats: Counter) -> int:
    """End of a full sync: remove what it did not see."""
    series: set[str] = set()
    unseen = list(s.scalars(sa.select(CalendarEvent).where(
        CalendarEvent.calendar_id == ctx.calendar_id, CalendarEvent.seen_generation != ctx.generation)))
    count = remove_rows(s, ctx, unseen, series, stats)
    recompute_busy(s, ctx, series)
    return count


def _extend_series(s: Session, ctx: CalendarContext, calendar: Calendar, expanded: bool) -> None:
    """Keep recurring series expanded up to the window's end as it moves forward (at most daily).

    Changed series are expanded when they change; an unchanged open-ended series ("every Monday")
    would otherwise stop blocking time where the window ended on the day it last changed.

    :param expanded: a full sync just expanded every series to the current window.
    """
    until = calendar.busy_expanded_until
    if until is not None and until >= ctx.window.end - timedelta(days=1):
        return
    if not expanded:
        rows = s.execute(sa.select(CalendarEvent.remote_id, CalendarEvent.recurrence).where(
            CalendarEvent.calendar_id == ctx.calendar_id, CalendarEvent.recurring_event_id.is_(None)))
        recompute_busy(s, ctx, [remote_id for remote_id, rule in rows if rule])
    calendar.busy_expanded_until = ctx.window.end


def lock_calendar(s: Session, calendar_id: int) -> None:
    """Take the calendar's row lock: a pull's page and a push's results can both insert the same new
    event, and on PostgreSQL the second would fail on the unique key (SQLite's write lock already
    serializes them). ``FOR NO KEY UPDATE``: rows referencing the calendar may still be written by
    others (their foreign-key check takes ``FOR KEY SHARE``, which ``FOR UPDATE`` would block)."""
    s.execute(sa.select(Calendar.id).where(Calendar.id == calendar_id).with_for_update(key_share=True))


def _cursor_row(s: Session, account_id: int, key: str) -> SyncCursor:
    row = s.scalar(sa.select(SyncCursor).where(
        SyncCursor.account_id == account_id, SyncCursor.kind == "calendar", SyncCursor.key == key))
    if row is None:
        row = SyncCursor(account_id=account_id, kind="calendar", key=key, generation=0, full_pass=False,
                         initial_done=False, progress_done=0)
        s.add(row)
        s.flush()
    return row


def _start_full_pass(s: Session, account_id: int, key: str, now: datetime) -> None:
    row = _cursor_row(s, account_id, key)
    row.generation += 1
    row.full_pass = True
    row.cursor = None
    row.started_at = now
    row.progress_done = 0


def sync_calendar(hub: Hub, account_id: int, calendar_id: int, full: bool = False) -> dict[str, int]:
    """Pull one calendar page by page (see the module docstring).

    :param full: drop the cursor and resync the whole window (mark and sweep).
    :return: counts of what changed.
    :raises AuthExpired, RateLimited, ProviderUnavailable: for the job layer; non-transient failures
        also mark the calendar unreadable, so availability fails closed.
    """
    return pull(hub, account_id, calendar_id, full=full, enqueue_push=True)


def pull(hub: Hub, account_id: int, calendar_id: int, full: bool = False, enqueue_push: bool = True) -> dict[str, int]:
    handle = hub.account_handle(account_id)
    days = hub.settings.sync_window_days
    with hub.db.session(write_lock=True) as s:
        calendar = s.get(Calendar, calendar_id)
        if calendar is None:  # left the calendar list after the job was queued: nothing to do
            return {}
        access_role = calendar.access_role
        ctx = load_context(s, calendar_id, days, max_occurrences=hub.settings.max_occurrences)
        cursor_row = _cursor_row(s, account_id, ctx.remote_id)
        if full or cursor_row.cursor is None:
            # A listing that starts from scratch is a new pass, even when an earlier one died before its
            # first page committed: rows pushed before this listing began carry the old generation, so
            # its sweep removes them unless the listing shows them (else an event deleted in between
            # would stay in the hub for good).
            _start_full_pass(s, account_id, ctx.remote_id, ctx.now)
        cursor = cursor_row.cursor
    if access_role == "freeBusyReader":
        return _pull_free_busy(hub, handle, ctx)
    with _PageReader(hub, handle, ctx.remote_id, ctx.window) as pages:
        stats = _pull_pages(hub, account_id, calendar_id, ctx, cursor, pages, enqueue_push)
    if enqueue_push and outbox.push_due(hub, account_id):
        _enqueue_push(hub, account_id)
    result = dict(stats)
    hub.plugins.notify("hub_sync_finished", account_id=account_id, kind="calendar", key=ctx.remote_id, stats=result)
    return result


class _PageReader:
    """Calls ``hub_fetch_events``; :meth:`read_ahead` starts on the next page in a thread of its own while
    the caller stores the last one. The provider waits on the network and the hub on the database, so
    an initial sync of many pages takes about the longer of the two rather than their sum. There is never
    more than one call at a time, and leaving the block waits for a call still under way (its page is
    dropped; the stored cursor asks for it again), so no call outlives the sync."""

    def __init__(self, hub: Hub, handle, calendar_key: str, window: Window):
        self._call = partial(hub.plugins.call, "hub_fetch_events", account=handle, calendar_id=calendar_key,
                             window=window)
        self._executor: ThreadPoolExecutor | None = None
        self._ahead: tuple[str | None, Future] | None = None

    def read(self, cursor: str | None) -> EventPage:
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            if ahead[0] == cursor:
                return ahead[1].result()
            wait([ahead[1]])  # a page read ahead for another cursor is dropped, but never overlaps this call
        return self._call(cursor=cursor)

    def read_ahead(self, cursor: str | None) -> None:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="calendar-page")
        self._ahead = (cursor, self._executor.submit(self._call, cursor=cursor))

    def __enter__(self) -> "_PageReader":
        return self

    def __exit__(self, *exc_info) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)


def _pull_pages(hub: Hub, account_id: int, calendar_id: int, ctx: CalendarContext, cursor: str | None,
                pages: _PageReader, enqueue_push: bool) -> Counter:
    days = hub.settings.sync_window_days
    stats: Counter = Counter()
    restarts = 0
    for _ in range(MAX_PAGES):
        try:
            page = pages.read(cursor)
        except CursorExpired:
            restarts += 1
            if restarts > MAX_RESTARTS:
                raise
            log.info("calendar %s: cursor expired, full resync", calendar_id)
            with hub.db.session(write_lock=True) as s:
                _start_full_pass(s, account_id, ctx.remote_id, utcnow())
            cursor = None
            stats["resyncs"] += 1
            continue
        except ProviderError as exc:
            if not exc.transient:
                _mark_unreadable(hub, calendar_id)
            raise
        if not page.done:
            pages.read_ahead(page.next_cursor)
        with hub.db.session(write_lock=True) as s:
            lock_calendar(s, calendar_id)
            ctx = load_context(s, calendar_id, days, ctx.now, hub.settings.max_occurrences)
            stats.update(apply_page(s, ctx, page))
            if page.unreadable:
                _log_unreadable(s, account_id, ctx.remote_id, page.unreadable)
                stats["unreadable"] += len(page.unreadable)
            row = _cursor_row(s, account_id, ctx.remote_id)
            row.cursor = page.next_cursor
            row.progress_done += len(page.events)
            pass_rows = row.progress_done if row.full_pass else 0
            if page.done:
                full_pass = row.full_pass
                if full_pass:
                    swept = _sweep(s, ctx, stats)
                    if swept:
                        stats["deleted"] += swept
                    row.full_pass = False
                    row.initial_done = True
                row.finished_at = utcnow()
                _extend_series(s, ctx, s.get(Calendar, calendar_id), expanded=full_pass)
                s.get(Calendar, calendar_id).unreadable_since = None
            push_needed = ctx.push_needed
        if push_needed and enqueue_push:
            _enqueue_push(hub, account_id)
        if page.done:
            return stats
        if pass_rows >= 1000:  # a large full sync under way: the next pages' lookups must use the indexes
            hub.db.catch_up_statistics(sa.select(CalendarEvent.id).where(CalendarEvent.calendar_id == calendar_id),
                                       pass_rows, [CalendarEvent.__tablename__, BusyBlock.__tablename__])
        cursor = page.next_cursor
    raise ProviderError(f"The calendar {ctx.remote_id} kept sending pages without end.")


def _log_unreadable(s: Session, account_id: int, calendar_key: str, items: list[tuple[str, str]]) -> None:
    """Skipped items go to the account's error log (the status stays as it is: the rest synced)."""
    account = s.get(Account, account_id) if items else None
    for remote_id, reason in items[:20]:  # a calendar full of junk must not flood the log
        log_error(s, account, UnreadableItem(
            f"An event in calendar {calendar_key} could not be read and was skipped ({remote_id}): {reason}"), "calendar")


def _pull_free_busy(hub: Hub, handle, ctx: CalendarContext) -> dict[str, int]:
    """A free/busy-only calendar: its busy time straight from ``hub_free_busy`` (no events to read)."""
    try:
        answer = hub.plugins.call("hub_free_busy", account=handle, calendar_ids=[ctx.remote_id],
                                  start=ctx.window.start, end=ctx.window.end)
    except ProviderError as exc:
        if not exc.transient:
            _mark_unreadable(hub, ctx.calendar_id)
        raise
    if ctx.remote_id in answer.errors:
        _mark_unreadable(hub, ctx.calendar_id)
        return {"unreadable": 1}
    intervals = [(b.start, b.end) for b in answer.busy.get(ctx.remote_id, [])]
    with hub.db.session(write_lock=True) as s:
        s.execute(sa.delete(BusyBlock).where(BusyBlock.calendar_id == ctx.calendar_id))
        if intervals:
            s.execute(sa.insert(BusyBlock), busy.block_rows(ctx.user_id, ctx.calendar_id, None, intervals))
        calendar = s.get(Calendar, ctx.calendar_id)
        calendar.unreadable_since = None
        row = _cursor_row(s, ctx.account_id, ctx.remote_id)
        row.full_pass, row.initial_done, row.finished_at = False, True, utcnow()
    return {"busy": len(intervals)}


def _mark_unreadable(hub: Hub, calendar_id: int) -> None:
    with hub.db.session(write_lock=True) as s:
        calendar = s.get(Calendar, calendar_id)
        if calendar is not None and calendar.unreadable_since is None:
            calendar.unreadable_since = utcnow()


def _enqueue_push(hub: Hub, account_id: int) -> None:
    work.enqueue_push(hub, account_id)
