"""The two-way calendar sync engine. It sees providers only through the hooks.

Public API (called by the jobs in :mod:`hub.jobs`):

* :func:`sync_calendar` — pull one calendar's changes page by page;
* :func:`push_outbox` — push an account's pending outbox entries;
* :func:`apply_page` — apply one :class:`~hub.types.EventPage` inside a transaction (the pull's core,
  also used to load data in bulk, e.g. by ``bench/availability.py``), with the
  :class:`CalendarContext` from :func:`load_context`.

**Pull.** ``hub_fetch_events`` is called with the stored cursor until a page says ``done``. Each page
and the cursor that follows it are written in *one* transaction, so a crash resumes from the last
stored page and never applies a page twice. Events are upserted by (calendar, remote id). A full sync
(no cursor, ``full=True``, or after ``CursorExpired``) is a mark-and-sweep: it bumps the cursor row's
``generation``, every event it sees is stamped with it, and its last page removes the events it did
not see — so a resync neither duplicates nor loses meetings. Changed events get their busy blocks
recomputed (:mod:`hub.sync.busy`) and go through the import rules (:mod:`hub.sync.meetings`).
The window runs from the day the account was connected to ``settings.sync_window_days`` ahead; as
its end moves on, unchanged open-ended series are expanded further (at most daily).
Calendars shared with only free/busy access are read through ``hub_free_busy`` instead.

**Echoes.** Every event row keeps a hash of the fields the CRM owns (title, description, location,
times, recurrence, status, transparency, attendees and their answers). The push stores the hash of
what it wrote, so when the event comes back (carrying our marker), the hashes match and it is not a
change; only the etag is refreshed. Pulled changes never write to the outbox, so there is no loop.

**Push.** Outbox entries (written with the CRM change, in its transaction) are collapsed per meeting:
only the newest version is pushed, older entries and entries older than the meeting's version are
skipped. The operation is decided from the current state — an update when the meeting already has an
event on that calendar, else a create with the entry's stable ``client_id`` (the provider's
idempotency key, so a create retried after a crash never makes a second event), a delete for a
cancelled meeting. Results store remote id, etag, iCalUID and video link. A change that fails keeps
its entry pending with ``attempts``, ``last_error`` and a backoff in ``next_attempt_at``; the next
push job (or the next calendar sync, which enqueues one) retries it.

**Conflict policy** (a push answered ``WrongEtag``: someone changed the event since our last sync):
the engine pulls that calendar, which merges the two versions *field by field* — a field the CRM
edited since its last successful push (recorded in the pending entries' ``payload["fields"]``) keeps
the CRM's value, every other field takes the calendar's — and then pushes the merged meeting once
more with the fresh etag. A deletion beats an edit on either side: an event deleted in the calendar
cancels the meeting (when deletions propagate) and drops pending CRM edits; a meeting deleted in the
CRM is deleted in the calendar even if it was edited there. ``NotFound`` on an update counts as a
deletion in the calendar; ``AlreadyExists`` on a create (the event was made and deleted since) too.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.core import Hub
from hub.account_status import log_error
from hub.exceptions import (
    AlreadyExists, CursorExpired, HubError, NotFound, ProviderError, TooManyOccurrences, UnreadableItem, WrongEtag,
)
from hub.models import (
    Account, BusyBlock, Calendar, CalendarEvent, Meeting, OutboxEntry, SyncCursor, SyncDirection, User, utcnow,
)
from hub.sync import busy, matching, meetings
from hub.sync.calendars import calendar_zone
from hub.timezones import pinned
from hub.types import EventChange, EventPage, Participant, PushResult, RemoteEvent, Window

log = logging.getLogger(__name__)

#: a provider that never says ``done`` fails instead of looping forever
MAX_PAGES = 10_000
#: how often one sync restarts after CursorExpired before giving up
MAX_RESTARTS = 2
#: outbox rows pushed per hub_push_events call
PUSH_BATCH = 50
#: backoff of a failed change (seconds), by attempt
PUSH_BACKOFF = (30, 120, 600, 1800, 3600)


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
    ] + ([event.vtimezone] if event.vtimezone else [])
    return hashlib.sha256(json.dumps(content, separators=(",", ":")).encode()).hexdigest()


def _fill(row: CalendarEvent, event: RemoteEvent, digest: str, calendar_tz: str | None) -> None:
    row.ical_uid = event.ical_uid
    row.etag = event.etag
    row.content_hash = digest
    row.status = event.status
    row.summary = event.summary or ""
    row.all_day = bool(event.all_day)
    if event.all_day and not isinstance(event.start, datetime):
        row.start_date, row.end_date, row.start, row.end = event.start, event.end, None, None
    else:
        tz = busy.zone(event.timezone or calendar_tz)  # floating times are the calendar's
        row.start, row.end = busy.to_utc(event.start, tz), busy.to_utc(event.end, tz)
        row.start_date = row.end_date = None
    row.timezone = event.timezone
    row.transparent = bool(event.transparent)
    row.recurrence = list(event.recurrence) or None
    row.recurring_event_id = event.recurring_event_id
    row.original_start = _when(event.original_start)
    row.data = event_to_data(event)
    row.updated_at = event.updated


# --- pull -----------------------------------------------------------------------------------------------


def apply_page(s: Session, ctx: CalendarContext, page: EventPage) -> Counter:
    """Apply one page: upserts and deletions, busy blocks, meetings. The caller commits (with the cursor).

    :return: counts of what happened ("changed", "unchanged", "deleted", "imported" …).
    """
    stats: Counter = Counter()
    removed = set(page.deleted)
    incoming = [e for e in page.events if e.remote_id not in removed]
    rows = _rows(s, ctx.calendar_id, [e.remote_id for e in incoming] + list(removed))
    series: set[str] = set()
    changed: list[tuple[CalendarEvent, RemoteEvent]] = []
    for event in incoming:
        if event.status == "cancelled" and not event.recurring_event_id:
            removed.add(event.remote_id)  # a cancelled single event or series is a deletion
            continue
        row = rows.get(event.remote_id)
        digest = content_hash(event)
        if row is None:
            row = CalendarEvent(calendar_id=ctx.calendar_id, remote_id=event.remote_id)
            s.add(row)
            rows[event.remote_id] = row
        elif row.content_hash == digest:
            row.etag, row.seen_generation = event.etag, ctx.generation
            stats["unchanged"] += 1
            continue
        _fill(row, event, digest, ctx.timezone)
        row.seen_generation = ctx.generation
        series.add(event.recurring_event_id or event.remote_id)
        changed.append((row, event))
    s.flush()
    stats["deleted"] += _remove(s, ctx, [rows[r] for r in removed if r in rows], series, stats)
    stats += Counter()  # drop the zero
    recompute_busy(s, ctx, series)
    people = [p.email for _row, e in changed for p in ([e.organizer] if e.organizer else []) + list(e.attendees)]
    stats["changed"] += len(changed)
    with matching.page_cache(s, ctx.user_id, people):  # the page's addresses in a few queries, not per event
        stats += meetings.on_events(s, ctx, [(row, event) for row, event in changed if not event.recurring_event_id])
    return stats


def _rows(s: Session, calendar_id: int, remote_ids: list[str]) -> dict[str, CalendarEvent]:
    found: dict[str, CalendarEvent] = {}
    for i in range(0, len(remote_ids), 500):
        chunk = remote_ids[i:i + 500]
        found.update((r.remote_id, r) for r in s.scalars(sa.select(CalendarEvent).where(
            CalendarEvent.calendar_id == calendar_id, CalendarEvent.remote_id.in_(chunk))))
    return found


def _remove(s: Session, ctx: CalendarContext, doomed: list[CalendarEvent], series: set[str],
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
        outcome = meetings.on_event_removed(s, ctx, row)
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


def recompute_busy(s: Session, ctx: CalendarContext, series: Iterable[str]) -> None:
    """Recompute the busy blocks of the given series (master remote ids or single events)."""
    keys = sorted(set(series))
    for i in range(0, len(keys), 200):
        chunk = keys[i:i + 200]
        rows = s.scalars(sa.select(CalendarEvent).where(
            CalendarEvent.calendar_id == ctx.calendar_id,
            sa.or_(CalendarEvent.remote_id.in_(chunk), CalendarEvent.recurring_event_id.in_(chunk)))).all()
        groups: dict[str, list[CalendarEvent]] = defaultdict(list)
        for row in rows:
            groups[row.recurring_event_id or row.remote_id].append(row)
        new: dict[int, list[busy.Interval]] = {}
        for key, members in groups.items():
            master = next((r for r in members if r.remote_id == key), None)
            exceptions = [r for r in members if r is not master]
            intervals = busy.blocks(event_from_data(master.data) if master else None,
                                    [event_from_data(r.data) for r in exceptions], ctx.window.start,
                                    ctx.window.end, ctx.timezone, ctx.self_emails, ctx.max_occurrences)
            if intervals.problem:
                _log_unreadable(s, ctx.account_id, ctx.remote_id, [(master.remote_id, intervals.problem)])
            if intervals.capped:
                log_error(s, s.get(Account, ctx.account_id), TooManyOccurrences(
                    f"The recurring event “{master.summary}” ({master.remote_id}) repeats more than "
                    f"{ctx.max_occurrences} times in the sync window; only its first {ctx.max_occurrences} "
                    "occurrences block time."), "calendar")
            if master is not None:
                new[master.id] = intervals
            else:  # exceptions of a series we do not hold: each stands alone
                for r in exceptions:
                    new[r.id] = busy.blocks(None, [event_from_data(r.data)], ctx.window.start, ctx.window.end,
                                            ctx.timezone, ctx.self_emails)
        busy.replace_blocks(s, ctx.user_id, ctx.calendar_id, [r.id for r in rows], new)


def _sweep(s: Session, ctx: CalendarContext, stats: Counter) -> int:
    """End of a full sync: remove what it did not see."""
    series: set[str] = set()
    unseen = list(s.scalars(sa.select(CalendarEvent).where(
        CalendarEvent.calendar_id == ctx.calendar_id, CalendarEvent.seen_generation != ctx.generation)))
    count = _remove(s, ctx, unseen, series, stats)
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


def _lock_calendar(s: Session, calendar_id: int) -> None:
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
    return _pull(hub, account_id, calendar_id, full=full, enqueue_push=True)


def _pull(hub: Hub, account_id: int, calendar_id: int, full: bool = False, enqueue_push: bool = True) -> dict[str, int]:
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
    stats: Counter = Counter()
    restarts = 0
    for _ in range(MAX_PAGES):
        try:
            page = hub.plugins.call("hub_fetch_events", account=handle, calendar_id=ctx.remote_id, cursor=cursor,
                                    window=ctx.window)
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
        with hub.db.session(write_lock=True) as s:
            _lock_calendar(s, calendar_id)
            ctx = load_context(s, calendar_id, days, ctx.now, hub.settings.max_occurrences)
            stats.update(apply_page(s, ctx, page))
            if page.unreadable:
                _log_unreadable(s, account_id, ctx.remote_id, page.unreadable)
                stats["unreadable"] += len(page.unreadable)
            row = _cursor_row(s, account_id, ctx.remote_id)
            row.cursor = page.next_cursor
            row.progress_done += len(page.events)
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
            break
        cursor = page.next_cursor
    else:
        raise ProviderError(f"The calendar {ctx.remote_id} kept sending pages without end.")
    if enqueue_push and _push_due(hub, account_id):
        _enqueue_push(hub, account_id)
    result = dict(stats)
    hub.plugins.notify("hub_sync_finished", account_id=account_id, kind="calendar", key=ctx.remote_id, stats=result)
    return result


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
    from hub import jobs

    jobs.enqueue_push(hub, account_id)


def _push_due(hub: Hub, account_id: int, now: datetime | None = None) -> bool:
    now = now or utcnow()
    with hub.db.session(write_lock=True) as s:
        return bool(s.scalar(sa.select(OutboxEntry.id).where(*_due(account_id, now)).limit(1)))


def _due(account_id: int, now: datetime) -> list:
    return [OutboxEntry.account_id == account_id, OutboxEntry.done_at.is_(None),
            sa.or_(OutboxEntry.next_attempt_at.is_(None), OutboxEntry.next_attempt_at <= now)]


# --- push -----------------------------------------------------------------------------------------------


@dataclass
class _Planned:
    entry_id: int
    meeting_id: int | None
    calendar_id: int
    change: EventChange
    digest: str | None = None
    event: RemoteEvent | None = None


def push_outbox(hub: Hub, account_id: int, now: datetime | None = None) -> dict[str, int]:
    """Push the account's due outbox entries (see the module docstring for the policy).

    :param now: the time that decides which entries are due (tests move it forward).
    :return: counts: "pushed", "skipped", "failed", "conflicts" …
    :raises AuthExpired, RateLimited, ProviderUnavailable: the whole batch failed; the entries stay
        pending with the error recorded.
    """
    now = now or utcnow()
    stats: Counter = Counter()
    handle = None
    last_id = 0  # each entry is tried at most once per run; what stays pending waits for the next run
    while True:
        with hub.db.session(write_lock=True) as s:
            entries = s.scalars(sa.select(OutboxEntry).where(*_due(account_id, now), OutboxEntry.id > last_id)
                                .order_by(OutboxEntry.id).limit(PUSH_BATCH * 4)).all()
            if not entries:
                break
            last_id = entries[-1].id
            plans = _plan(s, entries, stats, now)
        handle = handle or hub.account_handle(account_id)
        by_calendar: dict[int, list[_Planned]] = defaultdict(list)
        for plan in plans:
            by_calendar[plan.calendar_id].append(plan)
        for calendar_id, batch in by_calendar.items():
            for i in range(0, len(batch), PUSH_BATCH):
                _push_batch(hub, handle, account_id, calendar_id, batch[i:i + PUSH_BATCH], stats, now, retry=True)
    return dict(stats)


def _plan(s: Session, entries: list[OutboxEntry], stats: Counter, now: datetime) -> list[_Planned]:
    """Collapse entries per meeting and decide each meeting's operation from the current state."""
    newest: dict[tuple[int | None, int], OutboxEntry] = {}
    for entry in entries:
        key = (entry.meeting_id, entry.calendar_id) if entry.meeting_id is not None else (None, entry.id)
        other = newest.get(key)
        if other is None or (entry.meeting_version, entry.id) > (other.meeting_version, other.id):
            if other is not None:
                _finish(other, now, "superseded")
                stats["superseded"] += 1
            newest[key] = entry
        else:
            _finish(entry, now, "superseded")
            stats["superseded"] += 1
    plans = []
    for entry in newest.values():
        plan = _plan_one(s, entry, now)
        if plan is None:
            stats["skipped"] += 1
        else:
            plans.append(plan)
    return plans


def _finish(entry: OutboxEntry, now: datetime, note: str | None = None) -> None:
    entry.done_at = now
    if note:
        entry.last_error = note


def _plan_one(s: Session, entry: OutboxEntry, now: datetime) -> _Planned | None:
    meeting = s.get(Meeting, entry.meeting_id) if entry.meeting_id is not None else None
    calendar = s.get(Calendar, entry.calendar_id)
    if meeting is not None and entry.meeting_version < meeting.version:
        _finish(entry, now, "stale: a newer version of the meeting exists")
        return None
    if calendar is None or calendar.sync_direction == SyncDirection.FROM_CALENDAR:
        _finish(entry, now, "the calendar does not take changes from the CRM")
        return None
    link = None
    if meeting is not None:
        link = s.scalar(sa.select(CalendarEvent).where(
            CalendarEvent.calendar_id == calendar.id, CalendarEvent.meeting_id == meeting.id,
            CalendarEvent.recurring_event_id.is_(None)).order_by(CalendarEvent.id).limit(1))
    if entry.op == "delete" or meeting is None or meeting.cancelled:
        if link is None or not calendar.propagate_deletions:
            _finish(entry, now)
            return None
        change = EventChange("delete", link.client_id or entry.client_id, remote_id=link.remote_id, etag=link.etag,
                             send_invites=entry.send_invites)
        return _Planned(entry.id, entry.meeting_id, calendar.id, change)
    client_id = (link.client_id if link is not None and link.client_id else entry.client_id)
    event = meetings.event_for_meeting(meeting, client_id, link.remote_id if link is not None else "")
    want_video = bool(meeting.want_video and not meeting.video_url)
    if link is not None:
        change = EventChange("update", client_id, event=event, remote_id=link.remote_id, etag=link.etag,
                             send_invites=entry.send_invites, want_video=want_video)
    else:
        change = EventChange("create", client_id, event=event, send_invites=entry.send_invites, want_video=want_video)
    return _Planned(entry.id, meeting.id, calendar.id, change, content_hash(event), event)


def _push_batch(hub: Hub, handle, account_id: int, calendar_id: int, batch: list[_Planned], stats: Counter,
                now: datetime, retry: bool) -> None:
    with hub.db.session(write_lock=True) as s:
        remote_id = s.get(Calendar, calendar_id).remote_id
    try:
        results: list[PushResult] = hub.plugins.call("hub_push_events", account=handle, calendar_id=remote_id,
                                                     changes=[p.change for p in batch])
    except HubError as exc:  # the whole batch failed: keep every entry pending, let the job layer retry
        with hub.db.session(write_lock=True) as s:
            for plan in batch:
                _failed(s.get(OutboxEntry, plan.entry_id), exc, now)
        raise
    except Exception:  # a plugin that fails to build one item must not wedge the account: isolate the item
        if len(batch) > 1:
            for plan in batch:
                _push_batch(hub, handle, account_id, calendar_id, [plan], stats, now, retry)
            return
        log.warning("push of outbox entry %s failed in the plugin", batch[0].entry_id, exc_info=True)
        with hub.db.session(write_lock=True) as s:
            _failed(s.get(OutboxEntry, batch[0].entry_id),
                    ProviderError("The provider could not write this meeting; it is retried later."), now)
        stats["failed"] += 1
        return
    if len(results) != len(batch):
        raise ProviderError(f"The provider answered {len(results)} results for {len(batch)} changes.")
    again: list[int] = []
    with hub.db.session(write_lock=True) as s:
        _lock_calendar(s, calendar_id)
        ctx = load_context(s, calendar_id, hub.settings.sync_window_days, now, hub.settings.max_occurrences)
        for plan, result in zip(batch, results):
            entry = s.get(OutboxEntry, plan.entry_id)
            if entry is None or entry.done_at is not None:
                continue
            error = result.error
            if error is None:
                _store_result(s, ctx, plan, result)
                _finish(entry, now)
                entry.last_error = None
                stats["pushed"] += 1
            elif isinstance(error, NotFound) and plan.change.op == "delete":
                _finish(entry, now)
                stats["pushed"] += 1
            elif isinstance(error, (NotFound, AlreadyExists)):
                # the event is gone from the calendar: the deletion rules decide what the CRM does
                _gone(s, ctx, plan, entry, now)
                stats["gone"] += 1
            elif isinstance(error, WrongEtag) and retry:
                again.append(plan.entry_id)
                stats["conflicts"] += 1
            else:
                _failed(entry, error, now)
                stats["failed"] += 1
    if again:
        _resolve_conflicts(hub, handle, account_id, calendar_id, again, stats, now)


def _failed(entry: OutboxEntry | None, error: Exception, now: datetime) -> None:
    if entry is None:
        return
    entry.attempts += 1
    entry.last_error = f"{type(error).__name__}: {error}"[:2000]
    entry.next_attempt_at = now + timedelta(seconds=PUSH_BACKOFF[min(entry.attempts, len(PUSH_BACKOFF)) - 1])


def _resolve_conflicts(hub: Hub, handle, account_id: int, calendar_id: int, entry_ids: list[int], stats: Counter,
                       now: datetime) -> None:
    """WrongEtag: pull the calendar (which merges field by field), then push the merged meetings once more."""
    try:
        _pull(hub, account_id, calendar_id, enqueue_push=False)
    except HubError as exc:
        with hub.db.session(write_lock=True) as s:
            for entry_id in entry_ids:
                _failed(s.get(OutboxEntry, entry_id), exc, now)
        return
    with hub.db.session(write_lock=True) as s:
        entries = [e for e in (s.get(OutboxEntry, i) for i in entry_ids) if e is not None and e.done_at is None]
        plans = [p for p in (_plan_one(s, e, now) for e in entries) if p is not None]
    if plans:
        _push_batch(hub, handle, account_id, calendar_id, plans, stats, now, retry=False)


def _gone(s: Session, ctx: CalendarContext, plan: _Planned, entry: OutboxEntry, now: datetime) -> None:
    """The provider says the event no longer exists: apply the deletion rules, or make it again."""
    link = s.scalar(sa.select(CalendarEvent).where(
        CalendarEvent.calendar_id == ctx.calendar_id, CalendarEvent.meeting_id == plan.meeting_id,
        CalendarEvent.recurring_event_id.is_(None)).limit(1)) if plan.meeting_id else None
    if link is not None:
        series: set[str] = set()
        _remove(s, ctx, [link], series)
        recompute_busy(s, ctx, series)
    elif plan.meeting_id is not None:  # a create whose event was made and deleted since
        meetings.deleted_in_calendar(s, ctx, plan.meeting_id)
    if entry.done_at is not None:  # the deletion cancelled the meeting and closed its entries
        return
    meeting = s.get(Meeting, plan.meeting_id) if plan.meeting_id else None
    if meeting is not None and not meeting.cancelled:
        # deletions do not reach the CRM here, so the CRM's meeting stands: make its event again,
        # under a new key (the old one belongs to the deleted event)
        entry.client_id = meetings.new_client_id()
        entry.attempts += 1
        entry.last_error = "The event was deleted in the calendar; it will be created again."
        return
    _finish(entry, now, "The event was deleted in the calendar.")


def _store_result(s: Session, ctx: CalendarContext, plan: _Planned, result: PushResult) -> None:
    """Record a successful push: the event row (etag, hash of what we wrote), busy time, meeting fields."""
    change = plan.change
    link = s.scalar(sa.select(CalendarEvent).where(
        CalendarEvent.calendar_id == ctx.calendar_id, CalendarEvent.meeting_id == plan.meeting_id,
        CalendarEvent.recurring_event_id.is_(None)).limit(1)) if plan.meeting_id else None
    if change.op == "delete":
        if link is not None:
            _remove(s, ctx, [link], set())
        return
    remote_id = result.remote_id or change.remote_id
    row = link if link is not None and link.remote_id == remote_id else _rows(s, ctx.calendar_id, [remote_id]).get(remote_id)
    if row is None:
        row = CalendarEvent(calendar_id=ctx.calendar_id, remote_id=remote_id)
        s.add(row)
    elif link is not None and link is not row:
        _remove(s, ctx, [link], set())
    event = plan.event.replace(remote_id=remote_id, etag=result.etag, ical_uid=result.ical_uid or plan.event.ical_uid,
                               video_url=result.video_url or plan.event.video_url)
    _fill(row, event, plan.digest, ctx.timezone)
    row.client_id = row.client_id or change.client_id
    row.meeting_id = plan.meeting_id
    row.seen_generation = ctx.generation
    s.flush()
    recompute_busy(s, ctx, [remote_id])
    meeting = s.get(Meeting, plan.meeting_id)
    if meeting is not None:
        meeting.ical_uid = meeting.ical_uid or event.ical_uid
        meeting.video_url = result.video_url or meeting.video_url
