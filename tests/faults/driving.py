"""Driving the hub's real jobs the way production does, with the clock moved instead of waited for.

* :func:`drain_until_quiet` runs queued jobs through a real RQ ``SimpleWorker`` (the production job
  functions, their ``Retry`` and ``Retry-After`` handling), then lets the RQ scheduler's waiting time
  pass (scheduled retries become due at once) — until no job is queued or scheduled;
* :func:`tick` is one poll interval passing: outbox backoffs run out, the periodic jobs run
  (``poll_all`` and the reconciler), and the resulting work is drained;
* :class:`WorkerProcess` runs ``python -m hub.cli worker`` as a separate process on the test's
  database and Redis, in its own process group so a SIGKILL takes its work horse along — a machine
  dying mid-job.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from rq import SimpleWorker
from rq.job import Job
from rq.registry import ScheduledJobRegistry

from hub import jobs
from hub.jobs.reconciler import reconcile
from hub.models import OutboxEntry, utcnow
from hub.testing.waiting import PATIENCE

QUEUES = ("sync", "push", "default")


def promote_scheduled(hub) -> int:
    """Make every scheduled job (RQ retries, ``Retry-After`` re-runs) due now; returns how many."""
    moved = 0
    conn = hub.queues.connection
    for name, queue in hub.queues.by_name.items():
        registry = ScheduledJobRegistry(name, connection=conn)
        for job_id in registry.get_job_ids():
            registry.remove(job_id)
            try:
                job = Job.fetch(job_id, connection=conn)
            except Exception:  # expired meanwhile
                continue
            queue.enqueue_job(job)
            moved += 1
    return moved


def pending_jobs(hub) -> int:
    """Jobs queued or scheduled on any of the hub's queues."""
    return sum(q.count + ScheduledJobRegistry(q.name, connection=hub.queues.connection).count
               for q in hub.queues.by_name.values())


def drain_until_quiet(hub, max_rounds: int = 100) -> int:
    """Run jobs (retries included) until nothing is queued or scheduled; returns how many rounds ran."""
    queues = [hub.queues.by_name[q] for q in QUEUES]
    for rounds in range(1, max_rounds + 1):
        if any(q.count for q in queues):
            SimpleWorker(queues, connection=hub.queues.connection).work(burst=True, logging_level="WARNING")
        if not promote_scheduled(hub) and not any(q.count for q in queues):
            return rounds
    raise AssertionError(f"the queues never went quiet in {max_rounds} rounds")


def let_backoffs_expire(hub) -> None:
    """Time passes: outbox entries waiting out a push backoff are due again."""
    with hub.db.session() as s:
        s.execute(sa.update(OutboxEntry).where(OutboxEntry.done_at.is_(None), OutboxEntry.next_attempt_at.is_not(None))
                  .values(next_attempt_at=utcnow() - timedelta(seconds=1)))


def tick(hub) -> None:
    """One poll interval: backoffs run out, the periodic jobs run, their work is drained."""
    let_backoffs_expire(hub)
    jobs.poll_all()
    reconcile(hub, now=utcnow() + timedelta(minutes=5))
    drain_until_quiet(hub)


def quiet(hub) -> bool:
    """Nothing queued, scheduled or running."""
    return pending_jobs(hub) == 0 and not any(q.started_job_registry.count for q in hub.queues.by_name.values())


def wait_for(condition, worker: "WorkerProcess", timeout: float = PATIENCE) -> None:
    """Until ``condition()`` holds three checks in a row (a job may sit between two queues for a moment)."""
    deadline = time.monotonic() + timeout
    settled = 0
    while settled < 3:
        assert time.monotonic() < deadline, "timed out; worker log:\n" + worker.output()[-3000:]
        settled = settled + 1 if condition() else 0
        time.sleep(0.2)


def failed_jobs(hub) -> list[str]:
    """Ids of jobs in the failed registries (a job that raised after its last retry)."""
    return [job_id for q in hub.queues.by_name.values() for job_id in q.failed_job_registry.get_job_ids()]


def descendants(pid: int) -> list[int]:
    """Pids of every process below ``pid`` (children, grandchildren …), read from /proc."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


class WorkerProcess:
    """``python -m hub.cli worker`` on the test Hub's database and Redis, in its own process group.

    :param simple: run RQ's own ``SimpleWorker`` instead (a comparison for the benchmark).
    :param fork: ``hub worker --fork``: a forked work horse per job.
    :param options: more ``hub worker`` options (``("--nice", "0")``).
    """

    def __init__(self, hub, plugins: str, log_path: Path, burst: bool = False, extra_env: dict | None = None,
                 simple: bool = False, fork: bool = False, options: tuple[str, ...] = ()):
        env = {**os.environ, "HUB_DATABASE_URL": hub.settings.database_url, "HUB_REDIS_URL": hub.queues.redis_url,
               "HUB_KEYS": hub.settings.keys, "HUB_LOAD_PLUGINS": plugins,
               "HUB_INSTANCE_PATH": str(hub.settings.instance_path), "HUB_ALLOW_PRIVATE_HOSTS": "1",
               "HUB_BASE_URL": hub.settings.base_url, "OAUTHLIB_INSECURE_TRANSPORT": "1", **(extra_env or {})}
        self.log_path = log_path
        self._log = open(log_path, "ab")
        args = [sys.executable, "-m", "hub.cli", "worker", *options] + (["--fork"] if fork else [])
        if simple:  # RQ's non-forking worker, for comparison (bench/scale_out.py --simple)
            args = [str(Path(sys.executable).parent / "rq"), "worker", "-w", "rq.worker.SimpleWorker",
                    "--url", hub.queues.redis_url, "--log-format", "%(asctime)s %(levelname)s %(name)s: %(message)s",
                    "--date-format", "%Y-%m-%d %H:%M:%S", "sync", "push", "default"]
        args += ["--burst"] if burst else []
        self.process = subprocess.Popen(args, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                        start_new_session=True)

    def kill(self) -> None:
        """SIGKILL the worker and everything it started at once, as a machine dying would.

        RQ puts its work horse into a process group of its own (so signals to the worker's group do
        not reach it): every descendant is found through /proc and killed by its pid.
        """
        if self.process.poll() is None:
            doomed = descendants(self.process.pid)
            os.killpg(self.process.pid, signal.SIGKILL)
            for pid in doomed:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.process.wait(timeout=10)
        self._log.close()

    def stop(self) -> None:
        """Ask for a warm shutdown (SIGTERM) and wait; kill if it does not stop."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
                return
        self._log.close()

    def wait(self, timeout: float) -> int:
        code = self.process.wait(timeout=timeout)
        self._log.close()
        return code

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")
