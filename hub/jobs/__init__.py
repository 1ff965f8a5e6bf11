"""Orchestration: the RQ job functions (here) and what runs them — :mod:`hub.jobs.worker`,
:mod:`hub.jobs.schedule` (periodic work), :mod:`hub.jobs.reconciler` (stale and abandoned work),
:mod:`hub.jobs.push_channels` (provider push subscriptions), :mod:`hub.jobs.idle_listeners` (IMAP IDLE).

Job functions take ids and plain values — never ORM objects, never secrets.

Every per-account job runs through :func:`_run_for_account`, the one place where the shared rules
apply: skip accounts that must not sync, record success and failures on the account (status and
error log), retry transient errors with backoff (``RateLimited`` honours ``retry_after``).
Jobs are at-least-once (a killed worker's job runs again), so every engine step is idempotent.

Work is requested through :mod:`hub.work` (deterministic job ids, one re-run when asked while
running); these functions are what its job names point at, so they stay in this module's root.
"""

from __future__ import annotations

import logging
import random
from typing import Callable

from rq import get_current_job
from sqlalchemy import select

from hub.account_status import (
    can_sync,
    log_error,
    mark_failing,
    record_failure,
    record_success,
)
from hub.core import Hub, current_hub
from hub.exceptions import HubError, RateLimited
from hub.models import Account, AccountStatus, Calendar
from hub.types import CALENDAR_READ
from hub.work import (
    LATER,
    RERUN_KEY,
    enqueue_account_sync,
    enqueue_calendar_sync,
    enqueue_channel_renewal,
    enqueue_mail_part,
    enqueue_mail_sync,
    enqueue_webhooks,
)

log = logging.getLogger(__name__)

RATE_LIMIT_ATTEMPTS = 8
#: how stale a worker's view of admin-disabled providers may get
PROVIDER_REFRESH_SECONDS = 15


# --- jobs ----------------------------------------------------------------------------------------


def sync_account(account_id: int) -> str:
    """Refresh an account's calendar list, then fan out one job per synced calendar and mail folder."""

    def work(hub: Hub) -> None:
        from hub.sync import calendars as calendar_list

        with hub.db.session(write_lock=True) as s:
            account = s.get(Account, account_id)
            do_calendar, do_mail = account.calendar_enabled, account.mail_enabled
            provider = hub.plugins.provider(account.provider)
        if do_calendar and provider.can(CALENDAR_READ):
            calendar_list.refresh_calendars(hub, account_id)
            with hub.db.session(write_lock=True) as s:
                ids = s.scalars(select(Calendar.id).where(
                    Calendar.account_id == account_id, Calendar.sync_enabled.is_(True))).all()
            for calendar_id in ids:
                enqueue_calendar_sync(hub, account_id, calendar_id)
        if do_mail and provider.can("mail"):
            for folder in ("inbox", "sent"):
                enqueue_mail_sync(hub, account_id, folder)
        if provider.can("push"):
            enqueue_channel_renewal(hub, account_id)

    return _run_for_account(account_id, "sync", work)


def sync_calendar(account_id: int, calendar_id: int, full: bool = False) -> str:
    """Pull one calendar page by page (see :mod:`hub.sync.calendar_pull`)."""

    def work(hub: Hub):
        from hub.sync import calendar_pull, calendar_push

        return calendar_pull.sync_calendar(hub, account_id, calendar_id, full=full)

    return _run_for_account(account_id, "calendar", work)


def sync_mail(account_id: int, folder: str, full: bool = False, part: int | None = None) -> str:
    """Pull one mail folder — or one part of its split initial sync — page by page (see :mod:`hub.sync.mail`)."""

    def work(hub: Hub):
        from hub.sync import mail

        stats = mail.sync_folder(hub, account_id, folder, full=full, part=part)
        for pending in stats["parts"]:
            enqueue_mail_part(hub, account_id, folder, pending)
        if stats["again"]:
            enqueue_mail_sync(hub, account_id, folder)
        return stats

    return _run_for_account(account_id, "mail", work)


def push_outbox(account_id: int) -> str:
    """Push the account's pending outbox rows to its calendars (see :mod:`hub.sync.calendar_pull`)."""

    def work(hub: Hub):
        from hub.sync import calendar_pull, calendar_push

        return calendar_push.push_outbox(hub, account_id)

    return _run_for_account(account_id, "push", work)


def poll_all() -> int:
    """Periodic tick: enqueue a sync of every account that may sync. Returns how many."""
    hub = current_hub()
    with hub.db.session(write_lock=True) as s:
        accounts = s.scalars(select(Account).where(Account.status.in_([AccountStatus.ENABLED, AccountStatus.ERROR]),
                                                   Account.needs_reconnect.is_(False))).all()
        ids = [a.id for a in accounts if a.provider in hub.plugins.enabled_providers()]
    for account_id in ids:
        enqueue_account_sync(hub, account_id)
    return len(ids)


def renew_channels(account_id: int, force_key: str | None = None) -> str:
    """Create or renew the account's push channels (see :mod:`hub.jobs.push_channels`).

    ``force_key`` renews the channels on that key ("" = all) even if they look fresh.
    """

    def work(hub: Hub):
        from hub.jobs.push_channels import ensure_channels

        return ensure_channels(hub, account_id, force_keys=() if force_key is None else (force_key,))

    return _run_for_account(account_id, "push", work)


def renew_all_channels() -> int:
    """Periodic: enqueue channel renewal for every account whose provider pushes."""
    hub = current_hub()
    pushing = {name for name, info in hub.plugins.enabled_providers().items() if info.can("push")}
    with hub.db.session(write_lock=True) as s:
        ids = s.scalars(select(Account.id).where(Account.provider.in_(pushing), Account.status.in_(
            [AccountStatus.ENABLED, AccountStatus.ERROR]), Account.needs_reconnect.is_(False))).all()
    for account_id in ids:
        enqueue_channel_renewal(hub, account_id)
    return len(ids)


def reconcile() -> str:
    """Periodic: re-enqueue stale syncs and unacknowledged pushes, recover abandoned jobs (:mod:`hub.jobs.reconciler`)."""
    from hub.jobs.reconciler import reconcile as run

    return str(run(current_hub()))


def check_account(account_id: int) -> str:
    """A cheap live check of an account's credentials ("Test connection", and the core's own tests)."""

    def work(hub: Hub):
        handle = hub.account_handle(account_id)
        provider = hub.plugins.provider(handle.provider)
        if provider.can(CALENDAR_READ):
            hub.plugins.call("hub_list_calendars", account=handle)

    return _run_for_account(account_id, "connect", work)


# --- the shared rules ----------------------------------------------------------------------------


def _run_for_account(account_id: int, area: str, work: Callable[[Hub], object]) -> str:
    hub = current_hub()
    hub.refresh_disabled_providers(max_age=PROVIDER_REFRESH_SECONDS)  # an admin may have disabled it
    with hub.db.session(write_lock=True) as s:
        account = s.get(Account, account_id)
        if account is None or not can_sync(account):
            return "skipped"
        if account.provider not in hub.plugins.enabled_providers():
            return "skipped: provider disabled"
    try:
        work(hub)
    except Exception as exc:
        job = get_current_job()
        transient = isinstance(exc, HubError) and exc.transient
        if isinstance(exc, RateLimited) and exc.retry_after and job is not None:
            # honour the provider's Retry-After rather than our own backoff table
            attempt = int(job.meta.get("rate_limited", 0)) + 1
            if attempt <= RATE_LIMIT_ATTEMPTS:
                with hub.db.session(write_lock=True) as s:  # the user sees why it is slow; status unchanged
                    log_error(s, s.get(Account, account_id), exc, area)
                hub.queues.enqueue(job.origin, job.func_name, *job.args, job_id=job.id + LATER,
                                   delay=exc.retry_after + random.random(), meta={"rate_limited": attempt},
                                   **job.kwargs)
                return f"rate limited: retry in {exc.retry_after:.0f}s"
        elif transient and job is not None and (job.retries_left or 0) > 0:
            log.info("account %s %s: transient %s, retrying", account_id, area, type(exc).__name__)
            with hub.db.session(write_lock=True) as s:
                mark_failing(s.get(Account, account_id))
            raise
        if not isinstance(exc, HubError):
            log.exception("account %s %s failed", account_id, area)
        with hub.db.session(write_lock=True) as s:
            record_failure(s, s.get(Account, account_id), exc, area)
        return f"failed: {type(exc).__name__}"
    with hub.db.session(write_lock=True) as s:
        record_success(s, s.get(Account, account_id), area)
    _rerun_if_asked(hub)
    return "ok"


def _rerun_if_asked(hub: Hub) -> None:
    job = get_current_job()
    if job is None:
        return
    if hub.queues.connection.getdel(RERUN_KEY.format(job.id)):
        # our own job hash is still "started": enqueue under the same id after it finishes
        hub.queues.enqueue(job.origin, job.func_name, *job.args, job_id=None, **job.kwargs)


# --- webhooks to the host CRM (see hub.events) -----------------------------------------------------


def deliver_webhooks(endpoint_id: int) -> str:
    """Send an endpoint's due webhook deliveries; schedule this job again for the next retry."""
    from hub.events.delivery import deliver_endpoint

    hub = current_hub()
    wait = deliver_endpoint(hub, endpoint_id)
    if wait is not None:
        enqueue_webhooks(hub, endpoint_id, delay=max(wait, 0.0) or None)
    _rerun_if_asked(hub)
    return "waiting" if wait is not None else "done"


def deliver_due_webhooks() -> int:
    """Periodic: webhook deliveries that are due but have no job (a crash, a Redis restart) get one."""
    from hub.events.delivery import deliver_due

    return len(deliver_due(current_hub()))


def purge_events() -> int:
    """Periodic: drop events older than the retention setting (``HUB_EVENT_RETENTION_DAYS``)."""
    from hub.events.delivery import purge_old_events

    return purge_old_events(current_hub())


def import_csv(import_id: str, organization_id: int) -> str:
    """An administrator's CSV import (see :mod:`hub.crm.csv_import`); the rows wait in Redis, not in the job."""
    from hub.crm.csv_import import run_import

    progress = run_import(current_hub(), import_id, organization_id)
    return f"{progress['done']} rows: {progress['counts']}"
