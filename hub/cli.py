"""The ``hub`` command: init, serve, worker, plugins, sync, rotate-keys, new-provider.

Errors the person can fix (a bad database URL, Redis unreachable, a missing key) print as
``Error: <message>`` plus the fix, with exit code 2 — never a traceback.
"""

from __future__ import annotations

import functools
import importlib
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path

import click

from hub.config import Settings
from hub.exceptions import HubError


def friendly_errors(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except HubError as exc:
            click.secho(f"Error: {exc.message}", fg="red", err=True)
            if exc.fix:
                click.echo(f"  {exc.fix}", err=True)
            sys.exit(2)

    return wrapper


def build_hub(create_keys: bool = False):
    from hub.core import Hub, set_process_hub

    hub = Hub(Settings.load(), create_keys=create_keys)
    set_process_hub(hub)
    return hub


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log more.")
def main(verbose: bool) -> None:
    """CRM integration hub."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@main.command()
@click.option("--admin-email", help="Create (or update) this administrator.")
@click.option("--admin-password", help="Their password (prompted when --admin-email is given without it).")
@friendly_errors
def init(admin_email: str | None, admin_password: str | None) -> None:
    """Create or upgrade the database, make keys, and optionally the first administrator."""
    from hub.models import Role, User
    from werkzeug.security import generate_password_hash

    hub = build_hub(create_keys=True)
    hub.db.upgrade()
    click.echo(f"Database ready: {hub.db.engine.url.render_as_string(hide_password=True)}")
    with hub.db.session() as s:
        from hub.models import Plan

        if s.query(Plan).count() == 0:  # PRODUCT.md §2: the free plan syncs 100 emails a day
            s.add(Plan(name="free", daily_mail_cap=100))
    if admin_email:
        if not admin_password:
            admin_password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        with hub.db.session() as s:
            user = s.query(User).filter_by(email=admin_email.lower()).one_or_none() or User(email=admin_email.lower())
            user.role = Role.ADMIN
            user.password_hash = generate_password_hash(admin_password)
            s.add(user)
        click.echo(f"Administrator {admin_email} ready.")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", "worker_count", default=1, show_default=True, type=int, help="RQ worker processes to run alongside.")
@click.option("--no-worker", is_flag=True, help="Serve the web app only.")
@friendly_errors
def serve(host: str, port: int, worker_count: int, no_worker: bool) -> None:
    """Run the web app, RQ workers and the scheduler together (one machine)."""
    from waitress import create_server

    from hub.app import create_app

    hub = build_hub(create_keys=True)
    hub.db.upgrade()
    app = create_app(hub=hub)
    commands = ([] if no_worker else ["worker"] * worker_count) + ["scheduler", "idle"]
    procs = [_spawn(command, hub.queues.redis_url) for command in commands]
    stopping, respawning = threading.Event(), threading.Lock()
    threading.Thread(target=_supervise, args=(commands, procs, hub.queues.redis_url, stopping, respawning),
                     daemon=True, name="supervisor").start()
    smtp = _start_bcc_receiver(hub)
    server = create_server(app, host=host, port=port, threads=16)  # a production server, no access log of queries
    signal.signal(signal.SIGTERM, _stop_on_signal)
    click.echo(f"CRM hub serving on http://{host}:{port}/ (Redis: {hub.queues.redis_url}, workers: {len(procs)})")
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        with respawning:
            stopping.set()
        if smtp is not None:
            smtp.stop()
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=10)
        hub.close()


def _start_bcc_receiver(hub):
    """The BCC logging address's SMTP receiver, when its port is free (one per machine is enough)."""
    from hub.bcc import start_bcc_server

    try:
        return start_bcc_server(hub, host="127.0.0.1")
    except OSError as exc:
        logging.getLogger(__name__).warning("BCC receiver not started on port %s: %s", hub.settings.smtp_port, exc)
        return None


def _supervise(commands: list[str], procs: list, redis_url: str, stopping: threading.Event,
               respawning: threading.Lock) -> None:
    """Start again any child of `hub serve` that exited (a crash, the OOM killer): one dead worker
    must not stop every sync on the machine. Its unfinished job is recovered by the reconciler."""
    while not stopping.wait(2.0):
        for i, proc in enumerate(procs):
            with respawning:
                if proc.poll() is None or stopping.is_set():
                    continue
                logging.getLogger(__name__).warning("hub %s (pid %s) exited with %s; starting it again",
                                                    commands[i], proc.pid, proc.returncode)
                procs[i] = _spawn(commands[i], redis_url)


def _stop_on_signal(signum, frame):
    raise KeyboardInterrupt  # one clean shutdown path for Ctrl-C and SIGTERM


def _spawn(command: str, redis_url: str):
    """Run another `hub` command as a child sharing this process's Redis (embedded or not)."""
    import subprocess

    env = {**os.environ, "HUB_REDIS_URL": redis_url}
    return subprocess.Popen([sys.executable, "-m", "hub.cli", command], env=env)


@main.command()
@click.option("--burst", is_flag=True, help="Exit when the queues are empty.")
@click.option("--queues", default="sync,push,default", show_default=True)
@click.option("--fork/--no-fork", default=False, show_default=True,
              help="Run each job in a freshly forked process (RQ's default: isolation, at ~50 ms and new "
                   "database and IMAP connections per job).")
@click.option("--max-jobs", type=int, default=None,
              help="Exit after this many jobs, for a supervisor (systemd) to start a fresh process.")
@click.option("--nice", "niceness", type=click.IntRange(0, 19), default=10, show_default=True,
              help="Lower the worker's CPU priority, so web requests on the same machine answer first.")
@friendly_errors
def worker(burst: bool, queues: str, fork: bool, max_jobs: int | None, niceness: int) -> None:
    """Run one RQ worker on the hub's queues (run as many as you like, on any machine).

    Jobs run in the worker's own process by default: its database pool and the providers'
    connections (IMAP sessions) are reused from job to job, which makes a no-op sync several
    times cheaper than in a forked work horse. A job's time limit still holds (SIGALRM), and a
    killed worker's job is recovered as with forking (heartbeats: :mod:`hub.worker`).
    """
    from rq import Worker

    from hub.worker import InProcessWorker

    if niceness:
        os.nice(niceness)  # syncs can wait a few ms; a guest on the booking page should not
    hub = build_hub()
    hub.db.check()
    hub.refresh_disabled_providers()
    # import the job code once here, not in every job (~0.25 s per job in a forked work horse)
    for module in ("hub.jobs", "hub.push_channels", "hub.reconciler", "hub.sync.calendar", "hub.sync.mail"):
        importlib.import_module(module)
    names = [q.strip() for q in queues.split(",") if q.strip()]
    worker_class = Worker if fork else InProcessWorker
    w = worker_class([hub.queues.by_name[n] for n in names], connection=hub.queues.connection)
    w.work(burst=burst, with_scheduler=True, logging_level="INFO", max_jobs=max_jobs)


@main.command()
@friendly_errors
def scheduler() -> None:
    """Run the periodic jobs (polling, push-channel renewal). One is enough; more are harmless."""
    from hub.schedule import build_scheduler

    hub = build_hub()
    build_scheduler(hub).start()


@main.command()
@friendly_errors
def idle() -> None:
    """Hold push connections (IMAP IDLE) for every account whose provider offers them."""
    from hub.listeners import start_listeners, stop_listeners

    hub = build_hub()
    hub.refresh_disabled_providers()
    listeners = start_listeners(hub)
    signal.signal(signal.SIGTERM, _stop_on_signal)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        stop_listeners(listeners)


@main.command()
@click.option("--host", default="0.0.0.0", show_default=True)
@click.option("--port", type=int, help="Defaults to HUB_SMTP_PORT (2525).")
@friendly_errors
def smtp(host: str, port: int | None) -> None:
    """Receive mail for the BCC logging addresses (log+<token>@HUB_MAIL_DOMAIN)."""
    from hub.bcc import start_bcc_server

    hub = build_hub()
    controller = start_bcc_server(hub, host=host, port=port)
    click.echo(f"Logging SMTP receiver on {host}:{controller.port} for *@{hub.settings.mail_domain}")
    signal.signal(signal.SIGTERM, _stop_on_signal)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


@main.command()
@friendly_errors
def plugins() -> None:
    """List installed provider plugins: name, distribution, version, capabilities, enabled."""
    hub = build_hub(create_keys=True)
    hub.refresh_disabled_providers()
    rows = hub.plugins.records()
    if not rows:
        click.echo("No provider plugins installed.")
    for r in rows:
        caps = ", ".join(sorted({c for p in r.providers for c in p.capabilities})) or "-"
        click.echo(f"{r.name:<12} {r.distribution or '-':<22} {r.version or '-':<9} "
                   f"{'enabled' if r.enabled else 'disabled':<9} {caps}")


@main.command()
@click.argument("account_id", type=int)
@friendly_errors
def sync(account_id: int) -> None:
    """Sync one account now, in this process, showing progress."""
    from sqlalchemy import select

    from hub import jobs
    from hub.models import Account, Calendar, SyncCursor

    hub = build_hub()
    with hub.db.session() as s:
        account = s.get(Account, account_id)
        if account is None:
            raise click.ClickException(f"No account {account_id}.")
        click.echo(f"Syncing {account.email} ({account.provider})…")
    click.echo(f"  account: {jobs.sync_account(account_id)}")
    with hub.db.session() as s:
        calendars = s.execute(select(Calendar.id, Calendar.name).where(
            Calendar.account_id == account_id, Calendar.sync_enabled.is_(True))).all()
    for calendar_id, name in calendars:
        click.echo(f"  calendar {name}: {jobs.sync_calendar(account_id, calendar_id)}")
    for folder in ("inbox", "sent"):
        done = threading.Event()
        progress = threading.Thread(target=_show_progress, args=(hub, account_id, folder, done), daemon=True)
        progress.start()
        outcome = jobs.sync_mail(account_id, folder)
        done.set()
        progress.join()
        with hub.db.session() as s:
            cur = s.scalar(select(SyncCursor).where(SyncCursor.account_id == account_id,
                                                    SyncCursor.kind == "mail", SyncCursor.key == folder))
        count = f" ({cur.progress_done:,} messages)" if cur else ""
        click.echo(f"\r  mail {folder}: {outcome}{count}          ")


def _show_progress(hub, account_id: int, folder: str, done: threading.Event) -> None:
    from sqlalchemy import select

    from hub.models import SyncCursor

    while not done.wait(0.5):
        with hub.db.session() as s:
            cur = s.scalar(select(SyncCursor).where(SyncCursor.account_id == account_id,
                                                    SyncCursor.kind == "mail", SyncCursor.key == folder))
        if cur and cur.progress_total:
            click.echo(f"\r  mail {folder}: {cur.progress_done:,} of {cur.progress_total:,} messages", nl=False)


@main.command("rotate-keys")
@friendly_errors
def rotate_keys() -> None:
    """Add a new encryption key and re-encrypt every stored secret with it."""
    from hub import crypto
    from hub.key_rotation import reencrypt_all

    hub = build_hub()
    keys = hub.settings.resolve_keys()
    if not hub.settings.keys:
        keys = [crypto.new_key()] + keys
        crypto.keyring.configure(keys)
    counts = reencrypt_all(hub)
    if not hub.settings.keys:
        hub.settings.write_keys(keys[:1])  # old keys are no longer needed once nothing uses them
    click.echo(f"Re-encrypted {sum(counts.values())} secrets with key {keys[0].id}: {counts}")


@main.command("new-provider")
@click.argument("name")
@click.option("--dest", type=click.Path(path_type=Path), default=Path("."), show_default=True)
@friendly_errors
def new_provider(name: str, dest: Path) -> None:
    """Scaffold a provider plugin package (setup.cfg, hooks, conformance tests)."""
    from hub.scaffold import create_provider

    path = create_provider(name, dest)
    click.echo(f"Created {path}. Next: pip install -e {path} && pytest {path}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--instance", type=click.Path(path_type=Path), default=None,
              help="Folder for the demo's data (default ./hub-demo); it is emptied first.")
@click.option("--workers", "worker_count", default=2, show_default=True, type=int)
@friendly_errors
def demo(host: str, port: int, instance: Path | None, worker_count: int) -> None:
    """Run the whole product offline: provider sandboxes, IMAP, CalDAV, SMTP, demo users and data."""
    from hub.demo import run_demo

    run_demo(host=host, port=port, instance=instance, workers=worker_count)


if __name__ == "__main__":
    main()
