"""The push half of the two-way calendar sync: CRM changes from the outbox to the calendars.

Public API (called by the jobs in :mod:`hub.jobs`): :func:`push_outbox`.

**Push.** Outbox entries (written with the CRM change, in its transaction) are collapsed per meeting:
only the newest version is pushed, older entries and entries older than the meeting's version are
skipped. The operation is decided from the current state — an update when the meeting already has an
event on that calendar, else a create with the entry's stable ``client_id`` (the provider's
idempotency key, so a create retried after a crash never makes a second event), a delete for a
cancelled meeting. Results store remote id, etag, iCalUID and video link. A change that fails keeps
its entry pending with ``attempts``, ``last_error`` and a backoff in ``next_attempt_at``; the next
push job (or the next calendar sync, which enqueues one) retries it.

**A create retried after an edit.** Every provider answers a create under a client id it has seen with
the event the earlier attempt made — as that attempt wrote it. When an older version of the meeting may
have reached the provider under the same client id (its entry's ``tried_at`` is set: the answer was lost,
the worker killed), the answer may show that older version, so the engine stores the event's id and
etag without claiming its content and pushes the meeting once more as an update.

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

import logging
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.core import Hub
from hub.crm import meeting_import, meetings
from hub.exceptions import (
    AlreadyExists,
    HubError,
    NotFound,
    ProviderError,
    WrongEtag,
)
from hub.models import (
    Calendar,
    CalendarEvent,
    Meeting,
    OutboxEntry,
    SyncDirection,
    utcnow,
)
from hub.sync import outbox
from hub.sync.calendar_pull import (
    CalendarContext,
    content_hash,
    fill_row,
    load_context,
    lock_calendar,
    pull,
    recompute_busy,
    remove_rows,
    rows_by_remote_id,
)
from hub.types import EventChange, PushResult, RemoteEvent

log = logging.getLogger(__name__)

#: outbox rows pushed per hub_push_events call
PUSH_BATCH = 50
#: backoff of a failed change (seconds), by attempt
PUSH_BACKOFF = (30, 120, 600, 1800, 3600)


# --- push -----------------------------------------------------------------------------------------------


@dataclass
class _Planned:
    entry_id: int
    meeting_id: int | None
    calendar_id: int
    change: EventChange
    digest: str | None = None
    event: RemoteEvent | None = None
    #: a create whose client id an older version of the meeting may already have made at the provider:
    #: the answer may be that older event (see the module docstring)
    answer_may_be_older: bool = False


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
            entries = s.scalars(sa.select(OutboxEntry).where(*outbox.due(account_id, now), OutboxEntry.id > last_id)
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


def _plan(s: Session, entries: Sequence[OutboxEntry], stats: Counter, now: datetime) -> list[_Planned]:
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
            entry.tried_at = now  # committed before the provider is asked: from here it may hold the change
    _mark_replays(s, [p for p in plans if p.change.op == "create"], {e.id: e for e in entries})
    return plans


def _mark_replays(s: Session, creates: list[_Planned], entries: dict[int, OutboxEntry]) -> None:
    """Flag the creates whose client id an older version of their meeting was tried under."""
    if not creates:
        return
    oldest_tried: dict[tuple[int, str], int] = {}
    client_ids = sorted({p.change.client_id for p in creates})
    for first in range(0, len(client_ids), 500):
        for calendar_id, client_id, version in s.execute(
                sa.select(OutboxEntry.calendar_id, OutboxEntry.client_id, sa.func.min(OutboxEntry.meeting_version))
                .where(OutboxEntry.client_id.in_(client_ids[first:first + 500]), OutboxEntry.tried_at.is_not(None))
                .group_by(OutboxEntry.calendar_id, OutboxEntry.client_id)):
            oldest_tried[(calendar_id, client_id)] = version
    for plan in creates:
        tried = oldest_tried.get((plan.calendar_id, plan.change.client_id))
        plan.answer_may_be_older = tried is not None and tried < entries[plan.entry_id].meeting_version


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
    follow_up: list[int] = []
    with hub.db.session(write_lock=True) as s:
        lock_calendar(s, calendar_id)
        ctx = load_context(s, calendar_id, hub.settings.sync_window_days, now, hub.settings.max_occurrences)
        for plan, result in zip(batch, results):
            entry = s.get(OutboxEntry, plan.entry_id)
            if entry is None or entry.done_at is not None:
                continue
            error = result.error
            if error is None and plan.answer_may_be_older:
                # the event's id and etag, not its content (digest None: the next pull reads it); the
                # entry stays pending and is pushed once more as an update, below
                _store_result(s, ctx, replace(plan, digest=None), result)
                follow_up.append(plan.entry_id)
                stats["replayed"] += 1
            elif error is None:
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
    if follow_up:
        _push_again(hub, handle, account_id, calendar_id, follow_up, stats, now, retry)
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
        pull(hub, account_id, calendar_id, enqueue_push=False)
    except HubError as exc:
        with hub.db.session(write_lock=True) as s:
            for entry_id in entry_ids:
                _failed(s.get(OutboxEntry, entry_id), exc, now)
        return
    _push_again(hub, handle, account_id, calendar_id, entry_ids, stats, now, retry=False)


def _push_again(hub: Hub, handle, account_id: int, calendar_id: int, entry_ids: list[int], stats: Counter,
                now: datetime, retry: bool) -> None:
    """Plan the still-pending ``entry_ids`` afresh (their events now linked) and push them."""
    with hub.db.session(write_lock=True) as s:
        entries = [e for e in (s.get(OutboxEntry, i) for i in entry_ids) if e is not None and e.done_at is None]
        plans = [p for p in (_plan_one(s, e, now) for e in entries) if p is not None]
    if plans:
        _push_batch(hub, handle, account_id, calendar_id, plans, stats, now, retry=retry)


def _gone(s: Session, ctx: CalendarContext, plan: _Planned, entry: OutboxEntry, now: datetime) -> None:
    """The provider says the event no longer exists: apply the deletion rules, or make it again."""
    link = s.scalar(sa.select(CalendarEvent).where(
        CalendarEvent.calendar_id == ctx.calendar_id, CalendarEvent.meeting_id == plan.meeting_id,
        CalendarEvent.recurring_event_id.is_(None)).limit(1)) if plan.meeting_id else None
    if link is not None:
        series: set[str] = set()
        remove_rows(s, ctx, [link], series)
        recompute_busy(s, ctx, series)
    elif plan.meeting_id is not None:  # a create whose event was made and deleted since
        meeting_import.deleted_in_calendar(s, ctx, plan.meeting_id)
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
            remove_rows(s, ctx, [link], set())
        return
    remote_id = result.remote_id or change.remote_id
    row = link if link is not None and link.remote_id == remote_id else None
    if row is None:
        row = rows_by_remote_id(s, ctx.calendar_id, [remote_id]).get(remote_id)
    if row is None:
        row = CalendarEvent(calendar_id=ctx.calendar_id, remote_id=remote_id)
        s.add(row)
    elif link is not None and link is not row:
        remove_rows(s, ctx, [link], set())
    event = plan.event.replace(remote_id=remote_id, etag=result.etag, ical_uid=result.ical_uid or plan.event.ical_uid,
                               video_url=result.video_url or plan.event.video_url)
    fill_row(row, event, plan.digest, ctx.timezone)
    row.client_id = row.client_id or change.client_id
    row.meeting_id = plan.meeting_id
    row.seen_generation = ctx.generation
    s.flush()
    recompute_busy(s, ctx, [remote_id])
    meeting = s.get(Meeting, plan.meeting_id)
    if meeting is not None:
        meeting.ical_uid = meeting.ical_uid or event.ical_uid
        meeting.video_url = result.video_url or meeting.video_url
