"""The worker class `hub worker` runs by default: jobs in the worker's own process, with heartbeats.

RQ's default ``Worker`` forks a work horse per job: isolation, but every job then pays the fork,
fresh database connections and a fresh login at the provider (IMAP), ~50 ms and more — more than a
no-op sync itself. RQ's ``SimpleWorker`` runs jobs in-process but sends no heartbeat while a job
runs, so a job of a killed worker would look alive until its whole timeout (30 min) had passed.
:class:`InProcessWorker` is a SimpleWorker that keeps heartbeating from a thread, as a forking
worker's monitor loop does: a killed worker's job expires within ~90 s and the reconciler
(:mod:`hub.jobs.reconciler`) hands it to RQ's cleanup. No library does this combination; it is small.
"""

from __future__ import annotations

import logging
import threading

from rq import SimpleWorker
from rq.worker import BaseWorker, WorkerStatus

log = logging.getLogger(__name__)


class InProcessWorker(SimpleWorker):
    """Runs each job in this process; renews the job's heartbeat every ``job_monitoring_interval``."""

    def get_heartbeat_ttl(self, job, working_time: float = 0.0) -> int:
        # the forking worker's rule (interval + 60 s), not SimpleWorker's (the whole job timeout)
        return BaseWorker.get_heartbeat_ttl(self, job, working_time)

    def execute_job(self, job, queue) -> None:
        execution = self.prepare_execution(job)
        done = threading.Event()

        def beat() -> None:
            while not done.wait(self.job_monitoring_interval):
                try:
                    self.maintain_heartbeats(job, execution)  # only refreshes entries that still exist
                except Exception:  # noqa: BLE001 - a missed beat is retried; the job must go on
                    log.warning("heartbeat of job %s failed", job.id, exc_info=True)

        thread = threading.Thread(target=beat, name=f"heartbeat-{job.id}", daemon=True)
        thread.start()
        try:
            self.perform_job(job, queue, execution)
        finally:
            done.set()
            thread.join(timeout=10)
        self.set_state(WorkerStatus.IDLE)
