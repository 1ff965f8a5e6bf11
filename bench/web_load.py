"""Load benchmark: the public booking page and the availability API under concurrent clients, while
syncs run — then a burst of competing bookings for overlapping slots, checked for double bookings.

Set-up (all on loopback, all stopped at the end): a database of its own on the PostgreSQL server
(``--database-url``, default the machine's ``postgresql://postgres@127.0.0.1:5432/test``), an embedded
Redis (or ``--redis-url``), the Google sandbox with a host whose calendar holds ``--busy`` events and
``--sync-accounts`` more accounts to keep syncing, the web app served as ``hub serve --no-worker`` serves
it (gunicorn ``gthread`` in a child, 2 × 16 threads, plus its scheduler and IMAP IDLE children; with
``--server gunicorn`` a bare gunicorn of the same shape, with ``--server werkzeug`` the development
server for comparison), two ``hub worker`` processes, and a poller that changes every syncing
account's calendar and enqueues its sync every ``--sync-every`` seconds while the clients run.

1. **Load**: ``--clients`` concurrent clients (threads spread over a few processes, each with its own
   keep-alive connection) for ``--seconds``, each sending ``--rate`` requests per second (random gaps;
   latency counted from when a request was due) or, with ``--rate 0``, as fast as it gets answers
   (the capacity): 80 % ``GET /api/v1/meeting-types/<slug>/availability``
   for a random week of the horizon, 20 % ``GET /book/<slug>``. Prints p50 / p90 / p99 / max latency,
   requests per second and errors per endpoint. Goal: availability p99 under 100 ms at 50 clients.
2. **Bookings**: ``--rounds`` rounds of ``--contenders`` concurrent ``POST /api/v1/bookings`` for the same
   free slot and slots overlapping it (15 minutes apart, 30-minute meetings). Exactly one per round may
   win; at the end no two live bookings of the host may overlap, in the database nor in the host's
   Google calendar once the pushes are through.

Run: ``python bench/web_load.py`` (``--clients 50 --seconds 20``). Exit status 1 on errors or a double booking.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' helpers live in tests/

SLUG = "demo"
HOST = "host@example.com"
PROCESSES = 5  # client processes: one Python process cannot drive 50 connections without the GIL showing


# --- the clients (run in separate processes) -------------------------------------------------------------


def client_process(base: str, threads: int, seconds: float, rate: float, seed: int, out) -> None:
    """``threads`` clients until the deadline; puts [(endpoint, seconds, status)] on ``out``.

    With ``rate`` each client sends that many requests per second on average (random gaps, like
    people on the page) and latency counts from when the request was *due*, so a server falling
    behind shows in the figures; with 0 each client sends its next request as soon as it has an answer.
    """
    import requests

    deadline = time.monotonic() + seconds
    now = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)

    def one(n: int) -> list[tuple[str, float, int]]:
        rng = random.Random(seed * 1000 + n)
        results = []
        due = time.perf_counter() + (rng.expovariate(rate) if rate else 0)
        with requests.Session() as session:
            while time.monotonic() < deadline:
                if rng.random() < 0.8:
                    start = now + timedelta(days=rng.randrange(0, 50))
                    endpoint = "availability"
                    url = f"{base}/api/v1/meeting-types/{SLUG}/availability"
                    params = {"start": start.isoformat(), "end": (start + timedelta(days=7)).isoformat(),
                              "tz": "Europe/Berlin"}
                else:
                    endpoint, url, params = "booking page", f"{base}/book/{SLUG}", {"tz": "Europe/Berlin"}
                if rate:
                    time.sleep(max(0.0, due - time.perf_counter()))
                else:
                    due = time.perf_counter()
                try:
                    status = session.get(url, params=params, timeout=30).status_code
                except requests.RequestException:
                    status = 0
                results.append((endpoint, time.perf_counter() - due, status))
                due += rng.expovariate(rate) if rate else 0
        return results

    with ThreadPoolExecutor(threads) as pool:
        out.put([r for part in pool.map(one, range(threads)) for r in part])


def run_clients(base: str, clients: int, seconds: float, rate: float) -> list[tuple[str, float, int]]:
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    per = [clients // PROCESSES + (1 if i < clients % PROCESSES else 0) for i in range(PROCESSES)]
    procs = [context.Process(target=client_process, args=(base, n, seconds, rate, i, out))
             for i, n in enumerate(per) if n]
    for p in procs:
        p.start()
    results = [r for _ in procs for r in out.get(timeout=seconds + 120)]
    for p in procs:
        p.join(timeout=30)
    return results


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def load_report(results: list[tuple[str, float, int]], seconds: float) -> tuple[str, int]:
    lines = [f"{'endpoint':<14} {'requests':>8} {'req/s':>7} {'p50 ms':>7} {'p90 ms':>7} {'p99 ms':>7} {'max ms':>7} "
             f"{'errors':>6}"]
    errors = 0
    for endpoint in ("availability", "booking page"):
        mine = [r for r in results if r[0] == endpoint]
        if not mine:
            continue
        times = [r[1] * 1000 for r in mine]
        bad = sum(1 for r in mine if r[2] != 200)
        errors += bad
        lines.append(f"{endpoint:<14} {len(mine):>8} {len(mine) / seconds:>7.0f} {statistics.median(times):>7.1f} "
                     f"{percentile(times, 0.9):>7.1f} {percentile(times, 0.99):>7.1f} {max(times):>7.1f} {bad:>6}")
    return "\n".join(lines), errors


# --- the set-up ----------------------------------------------------------------------------------------


def serve_app(env: dict, port: int, kind: str, log: Path) -> subprocess.Popen:
    """The web app on 127.0.0.1:``port`` in a separate process."""
    gunicorn = shutil.which("gunicorn") or str(Path(sys.executable).parent / "gunicorn")
    if kind == "serve":  # the production server, exactly as one machine runs it
        from hub.testing.peers.base import free_port

        env = {**env, "HUB_SMTP_PORT": str(free_port())}  # its BCC receiver, off the machine's shared 2525
        args = [sys.executable, "-m", "hub.cli", "serve", "--no-worker", "--port", str(port)]
    elif kind == "gunicorn" and Path(gunicorn).exists():
        args = [gunicorn, "--bind", f"127.0.0.1:{port}", "--workers", "2", "--worker-class", "gthread",
                "--threads", "16", "--keep-alive", "30", "--log-level", "warning", "hub.app:create_app()"]
    else:
        kind = "werkzeug"
        code = ("from werkzeug.serving import run_simple; from hub.app import create_app; "
                f"run_simple('127.0.0.1', {port}, create_app(), threaded=True)")
        args = [sys.executable, "-c", code]
    print(f"serving the app with {kind}", flush=True)
    with open(log, "ab") as out:
        return subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def seed_host(hub, google, busy: int) -> int:
    """The host with a Google account full of events, its first sync done, and the meeting type."""
    from hub.models import MeetingType
    from tests.faults.accounts import add_user, connect_google
    from tests.faults.driving import drain_until_quiet

    google.state.add_user(HOST, "Hannah Host")
    rng = random.Random(7)
    base = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    for i in range(busy):
        start = base + timedelta(days=rng.randrange(0, 60), hours=rng.randrange(-6, 10))
        google.state.create_event(HOST, HOST, {"summary": f"busy {i}", "start": {"dateTime": start.isoformat()},
                                               "end": {"dateTime": (start + timedelta(minutes=45)).isoformat()}})
    host_id = add_user(hub, HOST)
    connect_google(hub, host_id, HOST)
    drain_until_quiet(hub)
    with hub.db.session() as s:
        s.add(MeetingType(user_id=host_id, name="Demo", slug=SLUG, duration_minutes=30, timezone="UTC",
                          weekly_hours={d: [["07:00", "19:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
                          min_notice_minutes=0, horizon_days=60, slot_step_minutes=15, want_video=False))
    return host_id


def seed_syncing(hub, google, count: int) -> list[str]:
    """More accounts, so the workers have syncs to run during the load."""
    from tests.faults.accounts import add_user, connect_google

    emails = []
    for n in range(count):
        email = f"sync{n}@example.com"
        google.state.add_user(email)
        connect_google(hub, add_user(hub, email), email)
        emails.append(email)
    return emails


def keep_syncing(google, emails: list[str], every: float, stop: threading.Event, counts: dict) -> None:
    """While the clients run: a change at every syncing account and a poll, every ``every`` seconds."""
    from hub import jobs

    while not stop.wait(every):
        stamp = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=3)
        for email in emails:
            google.state.create_event(email, email, {"summary": "change", "start": {"dateTime": stamp.isoformat()},
                                                     "end": {"dateTime": (stamp + timedelta(hours=1)).isoformat()}})
        counts["polls"] += 1
        counts["enqueued"] += jobs.poll_all()


# --- competing bookings ----------------------------------------------------------------------------------


def compete(base: str, rounds: int, contenders: int) -> tuple[int, int, int, int]:
    """Rounds of simultaneous overlapping bookings; returns (rounds played, won, refused, other answers).

    A round whose day offers no slot (a weekend) is not played."""
    import requests

    played = won = refused = other = 0
    now = datetime.now(timezone.utc)
    for r in range(rounds):
        day = now + timedelta(days=2 + 2 * r)
        slots = requests.get(f"{base}/api/v1/meeting-types/{SLUG}/availability",
                             params={"start": day.isoformat(), "end": (day + timedelta(days=1)).isoformat()},
                             timeout=30).json()["slots"]
        if not slots:
            continue
        played += 1
        first = datetime.fromisoformat(slots[len(slots) // 2]["start"])
        barrier = threading.Barrier(contenders)

        def attempt(i: int, first=first, r=r, barrier=barrier) -> int:
            start = first + timedelta(minutes=15 * (i % 2))  # the same slot, or one overlapping it
            body = {"slug": SLUG, "start": start.isoformat(), "guest_name": f"Guest {r}-{i}",
                    "guest_email": f"guest{r}.{i}@example.org"}
            barrier.wait()
            return requests.post(f"{base}/api/v1/bookings", json=body, timeout=60).status_code

        with ThreadPoolExecutor(contenders) as pool:
            answers = list(pool.map(attempt, range(contenders)))
        won += answers.count(201)
        refused += answers.count(409)
        strange = [a for a in answers if a not in (201, 409)]
        if strange:
            print(f"  round {r}: answers other than 201/409: {sorted(strange)}", flush=True)
        other += len(strange)
    return played, won, refused, other


def overlaps(intervals: list[tuple[datetime, datetime]]) -> int:
    ordered = sorted(intervals)
    return sum(1 for a, b in zip(ordered, ordered[1:]) if b[0] < a[1])


def double_bookings(hub, google, host_id: int) -> tuple[int, int]:
    """Overlapping live bookings in the database, and overlapping booked events in the host's calendar."""
    import sqlalchemy as sa

    from hub.models import Booking, BookingStatus
    from tests.faults.agreement import _utc

    with hub.db.session() as s:
        rows = s.execute(sa.select(Booking.start, Booking.end).where(
            Booking.host_user_id == host_id, Booking.status != BookingStatus.CANCELLED)).all()
    with google.state.lock:
        events = [e for e in google.state.calendars[HOST].events.values()
                  if e["status"] != "cancelled" and e.get("summary", "").startswith("Demo")]
    booked = [(_utc(e["start"]["dateTime"]), _utc(e["end"]["dateTime"])) for e in events]
    return overlaps([(r.start, r.end) for r in rows]), overlaps(booked)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--rate", type=float, default=1.0,
                        help="requests per second per client (0: each client sends again as soon as answered)")
    parser.add_argument("--busy", type=int, default=300, help="events in the host's calendar")
    parser.add_argument("--sync-accounts", type=int, default=20)
    parser.add_argument("--sync-every", type=float, default=5.0, help="seconds between polls of the syncing accounts")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--contenders", type=int, default=8)
    parser.add_argument("--server", choices=("serve", "gunicorn", "werkzeug"), default="serve")
    parser.add_argument("--worker-options", default="", help='options for the two `hub worker`s, e.g. "--fork --nice 0"')
    parser.add_argument("--database-url", default=os.environ.get("HUB_TEST_DATABASE_URL")
                        or "postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--redis-url", default=None)
    args = parser.parse_args()
    os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"  # the sandbox speaks http on loopback

    from bench.scale_out import database, redis
    from hub import crypto
    from hub.config import Settings
    from hub.core import Hub, set_process_hub
    from hub.testing.peers.base import free_port, wait_for_port
    from tests.faults.accounts import set_provider_config
    from tests.faults.driving import WorkerProcess, drain_until_quiet

    import hub_google.hooks
    from hub_google.sandbox import SandboxServer

    folder = Path(tempfile.mkdtemp(prefix="hub-load-"))
    db_url, drop_database = database(args.database_url)
    redis_url, stop_redis = redis(args.redis_url, folder)
    port = free_port()
    keys = crypto.format_keys([crypto.new_key()])
    settings = Settings.load({"instance_path": folder / "instance", "database_url": db_url, "redis_url": redis_url,
                              "keys": keys, "load_plugins": "", "allow_private_hosts": True,
                              "base_url": f"http://127.0.0.1:{port}"}, environ={})
    hub = Hub(settings, extra_plugins=[("google", hub_google.hooks)])
    set_process_hub(hub)
    env = {**os.environ, "HUB_DATABASE_URL": db_url, "HUB_REDIS_URL": redis_url, "HUB_KEYS": keys,
           "HUB_LOAD_PLUGINS": "google", "HUB_INSTANCE_PATH": str(folder / "instance"), "HUB_ALLOW_PRIVATE_HOSTS": "1",
           "HUB_BASE_URL": f"http://127.0.0.1:{port}", "HUB_SECRET_KEY": "load-bench",
           "HUB_RATE_LIMITS": "0"}  # 50 clients from one IP: the bench measures capacity, not the limiter
    server = None
    workers: list = []
    stop = threading.Event()
    try:
        with SandboxServer() as google:
            set_provider_config(hub, "google", google.provider_config())
            host_id = seed_host(hub, google, args.busy)
            emails = seed_syncing(hub, google, args.sync_accounts)
            drain_until_quiet(hub)
            server = serve_app(env, port, args.server, folder / "server.log")
            wait_for_port(port, timeout=60, proc=server)
            workers = [WorkerProcess(hub, "google", folder / f"worker{i}.log", options=tuple(args.worker_options.split()))
                       for i in range(2)]
            counts = {"polls": 0, "enqueued": 0}
            poller = threading.Thread(target=keep_syncing, args=(google, emails, args.sync_every, stop, counts),
                                      daemon=True)
            poller.start()
            base = f"http://127.0.0.1:{port}"
            pace = f"{args.rate:g} requests/s each" if args.rate else "as fast as answered"
            print(f"{args.clients} clients ({pace}) for {args.seconds:.0f}s against {base} while {len(emails)} accounts "
                  f"sync …", flush=True)
            run_clients(base, min(args.clients, 10), 2, 0)  # warm up: templates compiled, connections pooled
            results = run_clients(base, args.clients, args.seconds, args.rate)
            stop.set()
            poller.join(timeout=30)
            table, errors = load_report(results, args.seconds)
            print(table)
            print(f"syncs during the load: {counts['polls']} polls, {counts['enqueued']} account syncs enqueued")

            played, won, refused, other = compete(base, args.rounds, args.contenders)
            drain_until_quiet(hub)  # the pushes of the winners reach the host's calendar
            in_db, in_calendar = double_bookings(hub, google, host_id)
            print(f"competing bookings: {played} rounds × {args.contenders}: {won} booked, {refused} refused (409), "
                  f"{other} other answers; double bookings: {in_db} in the database, {in_calendar} in the calendar")
            return 1 if errors or other or in_db or in_calendar or won != played else 0
    finally:
        stop.set()
        for w in workers:
            w.stop()
        if server is not None:
            os.killpg(server.pid, 15)
            server.wait(timeout=30)
        hub.close()
        stop_redis()
        drop_database()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
