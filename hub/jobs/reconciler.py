"""The stuck-sync reconciler: no failure mode may leave an account silently stale.

Redis holds only *intentions* (queued jobs); the database holds the truth (cursors, the outbox,
``last_synced_at``). Work can fall between the two: a worker killed mid-job leaves its job
"started" forever, a Redis that restarts without persistence forgets every queued job, a job that
used up its retries stops trying. :func:`reconcile` — run periodically by ``hub scheduler``
(:func:`hub.jobs.reconcile`) — re-derives the missing work from the database:

1. **abandoned jobs**: jobs whose worker stopped heartbeating are handed to RQ's own cleanup
   (retried when retries are left, else moved to the failed registry);
2. **stale syncs**: an account that may sync but has no cursor finished within
   :data:`OVERDUE_POLLS` poll intervals — a calendar or mail folder whose sync started long ago and
   never finished, or that never finished at all — gets that sync enqueued, unless a job for it is
   queued, scheduled or running;
3. **unacknowledged outbox rows**: pending rows (``done_at`` empty, due) older than
   :data:`OUTBOX_GRACE` whose account has no push job get one.
4. **lost booking e-mails**: a booking's confirmation, move or cancellation notice whose job Redis
   forgot is queued again (:func:`hub.scheduling.notifications.requeue_lost`; reminders are re-derived
   by their own job every 10 minutes, :func:`hub.scheduling.reminders.requeue_due`).

Everything enqueued uses the usual deterministic job ids, so several reconcilers (or a reconciler
and the poller) never double the work.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Callable

import sqlalchemy as sa
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry

from hub import work
from hub.account_status import SYNCING
from hub.core import Hub
from hub.models import Account, Calendar, OutboxEntry, SyncCursor, utcnow
from hub.scheduling import notifications

log = logging.getLogger(__name__)

#: a sync is overdue when nothing finished for this many poll intervals
OVERDUE_POLLS = 3
#: an outbox row younger than this is still being handled by the request that wrote it
OUTBOX_GRACE = timedelta(minutes=2)
#: how often the scheduler runs :func:`reconcile` (seconds)
INTERVAL = 300

PENDING = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED}


@dataclass
class Report:
    """What one reconciliation found and did."""

    #: job ids RQ's cleanup retried or failed because their worker died
    abandoned: list[str] = field(default_factory=list)
    #: sync job ids enqueued for stale calendars, folders and accounts
    syncs: list[str] = field(default_factory=list)
    #: accounts whose unacknowledged outbox rows got a push job
    pushes: list[int] = field(default_factory=list)
    #: booking notice job ids queued again
    notices: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (f"abandoned {len(self.abandoned)}, syncs {len(self.syncs)}, pushes {len(self.pushes)}, "
                f"notices {len(self.notices)}")


def reconcile(hub: Hub, now: datetime | None = None) -> Report:
    """Recover abandoned jobs, then re-enqueue stale syncs, unacknowledged pushes and lost booking e-mails.

    :param now: the current time (tests move it forward instead of waiting).
    """
    now = now or utcnow()
    report = Report(abandoned=recover_abandoned_jobs(hub, now))
    report.syncs = resume_stale_syncs(hub, now)
    report.pushes = push_unacknowledged(hub, now)
    report.notices = notifications.requeue_lost(hub, now)
    if report.abandoned or report.syncs or report.pushes or report.notices:
        log.warning("reconciler: %s", report)
    return report


def recover_abandoned_jobs(hub: Hub, now: datetime) -> list[str]:
    """Run RQ's cleanup of the started registries with ``now`` as the cutoff; returns the job ids.

    A running job's entry is pushed into the future by its worker's heartbeat (about every 30 s,
    90 s ahead), so only jobs whose worker died are past the cutoff.
    """
    found: list[str] = []
    for queue in hub.queues.by_name.values():
        registry = StartedJobRegistry(queue.name, connection=hub.queues.connection)
        expired = registry.get_expired_job_ids(now.timestamp())
        if expired:
            registry.cleanup(timestamp=now.timestamp())
            found += expired
    return found


def resume_stale_syncs(hub: Hub, now: datetime) -> list[str]:
    """Enqueue the syncs that should have finished by now and have no job; returns their job ids."""
    cutoff = now - timedelta(seconds=OVERDUE_POLLS * hub.settings.poll_seconds)
    enabled = set(hub.plugins.enabled_providers())
    with hub.db.session() as s:
        accounts = s.execute(sa.select(Account.id, Account.provider, Account.connected_at, Account.calendar_enabled,
                                       Account.mail_enabled).where(Account.status.in_(SYNCING),
                                                                   Account.needs_reconnect.is_(False))).all()
        accounts = [a for a in accounts if a.provider in enabled]
        ids = [a.id for a in accounts]
        cursors = {(c.account_id, c.kind, c.key): c for c in s.scalars(
            sa.select(SyncCursor).where(SyncCursor.account_id.in_(ids)))} if ids else {}
        calendars = s.execute(sa.select(Calendar.id, Calendar.account_id, Calendar.remote_id).where(
            Calendar.account_id.in_(ids), Calendar.sync_enabled.is_(True))).all() if ids else []
    by_account: dict[int, list] = {}
    for calendar in calendars:
        by_account.setdefault(calendar.account_id, []).append(calendar)

    def stale(key: tuple, since: datetime) -> bool:
        cursor = cursors.get(key)
        if cursor is not None and cursor.finished_at is not None:
            return cursor.finished_at < cutoff
        started = (cursor.started_at if cursor is not None else None) or since
        return started < cutoff

    enqueued: list[str] = []
    for account in accounts:
        if _pending(hub, work.account_sync_id(account.id)):
            continue  # its fan-out is on the way
        provider = hub.plugins.provider(account.provider)
        missing: list[tuple[str, Callable[[], object]]] = []  # (job id, what enqueues it)
        never_listed = (account.calendar_enabled and provider.can("calendar") and not by_account.get(account.id)
                        and not any(k[0] == account.id and k[1] == "calendar" for k in cursors))
        if never_listed:
            if account.connected_at < cutoff:  # its first sync never ran: start from the top (it fans out)
                missing.append((work.account_sync_id(account.id), partial(work.enqueue_account_sync, hub, account.id)))
        elif account.calendar_enabled and provider.can("calendar"):
            for calendar in by_account.get(account.id, []):
                if stale((account.id, "calendar", calendar.remote_id), account.connected_at):
                    missing.append((work.calendar_sync_id(account.id, calendar.id),
                                 partial(work.enqueue_calendar_sync, hub, account.id, calendar.id)))
        if account.mail_enabled and provider.can("mail") and not never_listed:
            for folder in ("inbox", "sent"):
                if stale((account.id, "mail", folder), account.connected_at):
                    missing.append((work.mail_sync_id(account.id, folder),
                                 partial(work.enqueue_mail_sync, hub, account.id, folder)))
        for job_id, enqueue in missing:
            if not _pending(hub, job_id):
                enqueue()
                enqueued.append(job_id)
    return enqueued


def push_unacknowledged(hub: Hub, now: datetime) -> list[int]:
    """Enqueue a push for accounts with due outbox rows that nobody is pushing; returns the accounts."""
    with hub.db.session() as s:
        account_ids = s.scalars(sa.select(OutboxEntry.account_id).join(Account, Account.id == OutboxEntry.account_id)
                                .where(OutboxEntry.done_at.is_(None), OutboxEntry.created_at < now - OUTBOX_GRACE,
                                       sa.or_(OutboxEntry.next_attempt_at.is_(None),
                                              OutboxEntry.next_attempt_at <= now),
                                       Account.status.in_(SYNCING), Account.needs_reconnect.is_(False))
                                .distinct()).all()
    pushed = []
    for account_id in sorted(account_ids):
        if _pending(hub, work.push_id(account_id)):
            continue
        work.enqueue_push(hub, account_id)
        pushed.append(account_id)
    return pushed


def _pending(hub: Hub, job_id: str) -> bool:
    """Whether a job with this id (or its rate-limited re-run, ``<id>-later``) is waiting or running."""
    for candidate in (job_id, job_id + work.LATER):
        try:
            job = Job.fetch(candidate, connection=hub.queues.connection)
        except NoSuchJobError:
            continue
        if job.get_status(refresh=False) in PENDING:
            return True
    return False
