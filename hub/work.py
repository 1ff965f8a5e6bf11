"""Work requests: enqueue the job that does a piece of work, once, under its deterministic id.

Engines, the web app and the scheduler ask for work here; the job functions themselves live in
:mod:`hub.jobs`, the layer above, which engines never import. So a job is named by its dotted path
(``hub.jobs.sync_calendar``), which is also what RQ stores in Redis — a queued job survives a
restart only if that name stays put. ``tests/test_layers.py`` checks every name resolves.

Job ids are deterministic (``sync-cal-<account>-<calendar>``), so a second request for a sync
that is already queued is dropped, and one that arrives while it runs schedules one re-run.
"""

from __future__ import annotations

import time

from rq import Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from hub.core import Hub

#: the module holding the job functions (by name: see the module docstring)
JOBS = "hub.jobs."

#: backoff for transient provider errors (seconds); the last failure is written to the error log
TRANSIENT_RETRY = Retry(max=5, interval=[5, 30, 120, 600, 1800])
RERUN_KEY = "hub:rerun:{}"


def enqueue_unique(hub: Hub, queue: str, func: str, *args, job_id: str, delay: float | None = None):
    """Enqueue once; when the same job is already running, ask it to run once more when done."""
    job = hub.queues.enqueue(queue, func, *args, job_id=job_id, retry=TRANSIENT_RETRY, delay=delay)
    if job is None and _running(hub, job_id):  # a job still waiting will see the change anyway: no re-run
        hub.queues.connection.set(RERUN_KEY.format(job_id), 1, ex=3600)
    return job


def _running(hub: Hub, job_id: str) -> bool:
    try:
        return Job.fetch(job_id, connection=hub.queues.connection).get_status(refresh=False) == JobStatus.STARTED
    except NoSuchJobError:  # finished and expired between the enqueue and now
        return False


# the deterministic job ids: one job per piece of work, whoever asks for it (the reconciler too)
def calendar_sync_id(account_id: int, calendar_id: int) -> str:
    return f"sync-cal-{account_id}-{calendar_id}"


def mail_sync_id(account_id: int, folder: str, part: int | None = None) -> str:
    return f"sync-mail-{account_id}-{folder}" + ("" if part is None else f"-part{part}")


def account_sync_id(account_id: int) -> str:
    return f"sync-account-{account_id}"


def push_id(account_id: int) -> str:
    return f"push-{account_id}"


#: added to a job's id for its re-run after a provider's Retry-After
LATER = "-later"


def enqueue_calendar_sync(hub: Hub, account_id: int, calendar_id: int, full: bool = False):
    return enqueue_unique(hub, "sync", JOBS + "sync_calendar", account_id, calendar_id, full,
                          job_id=calendar_sync_id(account_id, calendar_id))


def enqueue_mail_sync(hub: Hub, account_id: int, folder: str, full: bool = False):
    return enqueue_unique(hub, "sync", JOBS + "sync_mail", account_id, folder, full, job_id=mail_sync_id(account_id, folder))


def enqueue_mail_part(hub: Hub, account_id: int, folder: str, part: int):
    return enqueue_unique(hub, "sync", JOBS + "sync_mail", account_id, folder, False, part,
                          job_id=mail_sync_id(account_id, folder, part))


def enqueue_account_sync(hub: Hub, account_id: int):
    return enqueue_unique(hub, "sync", JOBS + "sync_account", account_id, job_id=account_sync_id(account_id))


def enqueue_channel_renewal(hub: Hub, account_id: int, force_key: str | None = None):
    return enqueue_unique(hub, "default", JOBS + "renew_channels", account_id, force_key,
                          job_id=f"channels-{account_id}" + ("-forced" if force_key is not None else ""))


def enqueue_push(hub: Hub, account_id: int):
    return enqueue_unique(hub, "push", JOBS + "push_outbox", account_id, job_id=push_id(account_id))


def webhooks_id(endpoint_id: int) -> str:
    return f"webhooks-{endpoint_id}"


def enqueue_webhooks(hub: Hub, endpoint_id: int, delay: float | None = None):
    job_id = webhooks_id(endpoint_id) + (f"-at-{int(time.time() + delay)}" if delay else "")
    return enqueue_unique(hub, "default", JOBS + "deliver_webhooks", endpoint_id, job_id=job_id, delay=delay)


def enqueue_csv_import(hub: Hub, import_id: str, organization_id: int):
    return enqueue_unique(hub, "default", JOBS + "import_csv", import_id, organization_id,
                          job_id=f"csv-import-{import_id}")


def enqueue_booking_notice(hub: Hub, booking_id: int, version: int, who: str):
    """The e-mail to ``who`` ("guest", "host") about one version of a booking (see hub.scheduling.notifications)."""
    return enqueue_unique(hub, "default", JOBS + "send_booking_notice", booking_id, version, who,
                          job_id=booking_notice_id(booking_id, version, who))


def booking_notice_id(booking_id: int, version: int, who: str) -> str:
    return f"booking-notice-{booking_id}-v{version}-{who}"


def enqueue_booking_reminder(hub: Hub, booking_id: int, version: int, minutes: int, delay: float):
    """A reminder due in ``delay`` seconds, through RQ's scheduler; checked against the booking's version then."""
    return enqueue_unique(hub, "default", JOBS + "send_booking_reminder", booking_id, version, minutes,
                          job_id=f"booking-reminder-{booking_id}-v{version}-{minutes}", delay=delay)
