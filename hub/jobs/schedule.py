"""Periodic work, run by ``hub scheduler`` (RQ's CronScheduler; ``hub serve`` starts one).

Several schedulers on several machines are harmless: every periodic job fans out into per-account
jobs with deterministic ids, so duplicates are dropped at enqueue time.
"""

from __future__ import annotations

from typing import Callable

from rq.cron import CronScheduler

from hub import jobs
from hub.core import Hub
from hub.jobs import reconciler
from hub.scheduling import reminders


def periodic_jobs(hub: Hub) -> list[tuple[Callable[..., object], str, int]]:
    """``(function, queue, interval seconds)`` for everything that runs on a timer."""
    return [
        (jobs.poll_all, "default", hub.settings.poll_seconds),
        (jobs.renew_all_channels, "default", 3600),
        (jobs.reconcile, "default", reconciler.INTERVAL),  # nothing stays stale after a crash or a Redis restart
        (jobs.deliver_due_webhooks, "default", 60),
        (jobs.purge_events, "default", 3600),
        (jobs.requeue_reminders, "default", reminders.REQUEUE_INTERVAL),
    ]


def build_scheduler(hub: Hub) -> CronScheduler:
    scheduler = CronScheduler(connection=hub.queues.connection, name=f"hub-{id(hub):x}")
    for func, queue, interval in periodic_jobs(hub):
        scheduler.register(func, queue, interval=interval, result_ttl=600, job_timeout=600)
    return scheduler
