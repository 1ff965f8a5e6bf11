"""The ``hub`` command: init, serve, worker, plugins, sync, rotate-keys, new-provider, docs.

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
from hub.exceptions import ConfigError, HubError


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
    from hub.supervisor import follow_parent

    follow_parent()  # a child of `hub serve` ends with it
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@main.command()
@click.option("--admin-email", help="Create (or update) this administrator.")
@click.option("--admin-password", help="Their password (prompted when --admin-email is given without it).")
@friendly_errors
def init(admin_email: str | None, admin_password: str | None) -> None:
    """Create or upgrade the database, make keys, and optionally the first administrator."""
    from werkzeug.security import generate_password_hash

    from hub.models import Role, User

    hub = build_hub(create_keys=True)
    hub.db.upgrade()
    click.echo(f"Database ready: {hub.db.engine.url.render_as_string(hide_password=True)}")
    with hub.db.session() as s:
        from hub.models import Plan

        if s.query(Plan).count() == 0:  # docs/product-rules.md#plans-and-limits: 100 a day
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
@click.option("--workers", "worker_count", default=1, show_default=True, type=int,
              help="RQ worker processes to run alongside.")
@click.option("--no-worker", is_flag=True, help="Serve the web app only.")
@click.option("--web-workers", default=2, show_default=True, type=int,
              help="gunicorn worker processes for the web app (16 threads each).")
@click.option("--server", type=click.Choice(["auto", "gunicorn", "waitress"]), default="auto", show_default=True,
              help="The web server: gunicorn, or waitress where gunicorn cannot run (Windows).")
@friendly_errors
def serve(host: str, port: int, worker_count: int, no_worker: bool, web_workers: int, server: str) -> None:
    """Run the web app (gunicorn; waitress where it cannot run), RQ workers and the scheduler together
    (one machine)."""
    from hub.supervisor import serve_all

    serve_all(build_hub(create_keys=True), host, port, worker_count=worker_count, no_worker=no_worker,
              web_workers=web_workers, server=server, say=click.echo)


@main.command(hidden=True)
@click.option("--workers", "web_workers", default=2, show_default=True, type=int)
@click.option("--threads", default=16, show_default=True, type=int)
@friendly_errors
def web(web_workers: int, threads: int) -> None:
    """The web app under gunicorn, on the listening socket `hub serve` hands down (one of its children)."""
    from hub.app import create_app
    from hub.supervisor import LISTEN_FD_ENV, run_gunicorn

    if LISTEN_FD_ENV not in os.environ:
        raise ConfigError("`hub web` runs as a child of `hub serve`.",
                          fix="Run `hub serve`, or gunicorn yourself (docs/deployment.md).")
    run_gunicorn(lambda: create_app(hub=build_hub()), int(os.environ[LISTEN_FD_ENV]), web_workers, threads)


def _stop_on_signal(signum, frame):
    raise KeyboardInterrupt  # one clean shutdown path for Ctrl-C and SIGTERM


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
    killed worker's job is recovered as with forking (heartbeats: :mod:`hub.jobs.worker`).
    """
    from rq import Worker

    from hub.jobs.worker import InProcessWorker

    if niceness:
        os.nice(niceness)  # syncs can wait a few ms; a guest on the booking page should not
    hub = build_hub()
    hub.db.check()
    hub.refresh_disabled_providers()
    # import the job code once here, not in every job (~0.25 s per job in a forked work horse)
    for module in ("hub.jobs", "hub.jobs.push_channels", "hub.jobs.reconciler",
                   "hub.sync.calendar_pull", "hub.sync.calendar_push", "hub.sync.mail"):
        importlib.import_module(module)
    names = [q.strip() for q in queues.split(",") if q.strip()]
    worker_class = Worker if fork else InProcessWorker
    w = worker_class([hub.queues.by_name[n] for n in names], connection=hub.queues.connection)
    w.work(burst=burst, with_scheduler=True, logging_level="INFO", max_jobs=max_jobs)


@main.command()
@friendly_errors
def scheduler() -> None:
    """Run the periodic jobs (polling, push-channel renewal). One is enough; more are harmless."""
    from hub.jobs.schedule import build_scheduler

    hub = build_hub()
    build_scheduler(hub).start()


@main.command()
@friendly_errors
def idle() -> None:
    """Hold push connections (IMAP IDLE) for every account whose provider offers them."""
    from hub.jobs.idle_listeners import start_listeners, stop_listeners

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
    """List installed provider plugins: name, distribution, version, enabled, capabilities.

    Only reads: no instance folder, keys or database are made (the disabled providers are read
    from the database when there is one).
    """
    from hub.plugins import PluginManager

    settings = Settings.load()
    manager = PluginManager()
    manager.load(settings.load_plugins)
    manager.apply_disabled(_disabled_providers(settings))
    rows = manager.records()
    if not rows:
        click.echo("No provider plugins installed.")
        return
    line = "{:<12} {:<22} {:<9} {:<9} {}"
    click.echo(line.format("NAME", "DISTRIBUTION", "VERSION", "STATUS", "CAPABILITIES"))
    for r in rows:
        caps = ", ".join(sorted({c for p in r.providers for c in p.capabilities})) or "-"
        click.echo(line.format(r.name, r.distribution or "-", r.version or "-",
                               "enabled" if r.enabled else "disabled", caps))


def _disabled_providers(settings: Settings) -> list[str]:
    """Providers an administrator disabled; none while no database exists (nothing is created)."""
    import sqlalchemy as sa

    from hub.database import Database
    from hub.models import ProviderSetting

    url = sa.engine.make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and not (url.database and Path(url.database).is_file()):
        return []  # opening a SQLite file that is not there would create it (and its folder is missing)
    db = Database(settings.database_url)
    try:
        with db.session() as s:
            return list(s.scalars(sa.select(ProviderSetting.name).where(ProviderSetting.enabled.is_(False))))
    except sa.exc.SQLAlchemyError:  # before `hub init`: no schema yet, so nothing is disabled
        return []
    finally:
        db.engine.dispose()


@main.command()
@click.option("--check", is_flag=True, help="Only compare: exit with 1 when docs/hooks.md is out of date.")
@click.option("--path", type=click.Path(path_type=Path), default=None,
              help="The page to write or check (default: docs/hooks.md of this checkout).")
def docs(check: bool, path: Path | None) -> None:
    """Render docs/hooks.md from the hookspec docstrings (hub/hookspecs/)."""
    from hub import hookdocs

    if path is None and not hookdocs.HOOKS_MD.parent.is_dir():
        raise click.UsageError("This hub is not a source checkout (no docs/ folder): pass --path.")
    path = path or hookdocs.HOOKS_MD
    if check:
        if not hookdocs.is_current(path):
            click.echo(f"{path} is out of date with hub/hookspecs/: run `hub docs`.", err=True)
            sys.exit(1)
        click.echo(f"{path} is up to date.")
        return
    changed = hookdocs.write(path)
    click.echo(f"{'Wrote' if changed else 'Unchanged:'} {path}")


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
@click.option("--read-only", is_flag=True,
              help="A calendar provider the hub only reads (CALENDAR_READ), with a placeholder service.")
@click.option("--mail-only", is_flag=True, help="A mail provider (MAIL), with a placeholder mailbox.")
@click.option("--dest", type=click.Path(path_type=Path), default=Path("."), show_default=True)
@click.option("--label", default=None, help="The name people see (NAME capitalised by default).")
@friendly_errors
def new_provider(name: str, read_only: bool, mail_only: bool, dest: Path, label: str | None) -> None:
    """Scaffold a provider plugin package (setup.cfg, hooks, conformance tests) that passes its suite."""
    from hub.scaffold import create_provider

    if read_only and mail_only:
        raise click.UsageError("Choose --read-only or --mail-only, not both.")
    kind = "read-only" if read_only else "mail-only" if mail_only else "default"
    path = create_provider(name, dest, label=label, kind=kind)
    click.echo(f"Created {path}. Next: pip install -e {path}[test] && pytest {path}")


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

    try:
        run_demo(host=host, port=port, instance=instance, workers=worker_count)
    except KeyboardInterrupt:  # Ctrl-C while it was still starting: everything started is stopped
        click.echo("Stopped.")


if __name__ == "__main__":
    main()
