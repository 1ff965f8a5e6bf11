"""The database: engine, sessions, and schema upgrades through Alembic.

SQLite (one machine) and PostgreSQL (production) run the same models and the same migrations.
On SQLite we turn on WAL and foreign keys. A session that reads and then writes passes
``session(write_lock=True)``, which takes SQLite's write lock at ``BEGIN`` (``BEGIN IMMEDIATE``): a
deferred transaction that upgrades from reading to writing cannot wait for a busy writer — SQLite
answers "database is locked" at once to avoid a deadlock — while one that locks up front queues
(busy_timeout). Never open a write-locked session inside another session of the same thread. On
PostgreSQL the flag changes nothing; callers that must serialize lock rows (``FOR UPDATE``).

``session(durable=False)`` is for writes that are cheap to lose and redo, such as a page of synced
mail stored together with the sync's cursor: on SQLite its commit does not wait for the disk
(``PRAGMA synchronous=NORMAL``, which in WAL mode keeps the database consistent and may lose only
the last commits to a power cut or OS crash; the next sync then fetches those pages again).
On PostgreSQL the same trade is ``SET LOCAL synchronous_commit TO OFF`` for that transaction.
"""

from __future__ import annotations

import os
import weakref
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from hub.exceptions import ConfigError

MIGRATIONS = Path(__file__).parent / "migrations"


class Database:
    def __init__(self, url: str):
        self.url = url
        try:
            self.engine = make_engine(url)
        except (ArgumentError, NoSuchModuleError) as exc:
            raise ConfigError(
                "The database URL is not valid: "
                f"{sa.engine.make_url(url).render_as_string(hide_password=True) if '://' in url else url!r}.",
                fix="Use sqlite:///path/to/hub.db or postgresql+psycopg://user@host/db.",
            ) from exc
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        # a forked RQ work horse must open its own connections, never reuse its parent's (PostgreSQL
        # then fails with 'prepared statement "_pg3_0" already exists'): SQLAlchemy's fork recipe
        ref = weakref.ref(self)

        def dispose_in_child() -> None:
            database = ref()
            if database is not None:
                database.engine.dispose(close=False)

        os.register_at_fork(after_in_child=dispose_in_child)
        self.locking_sessionmaker = sessionmaker(
            self.engine.execution_options(hub_write_lock=True), expire_on_commit=False
        )
        self._relaxed_sessionmakers = {
            lock: sessionmaker(self.engine.execution_options(hub_write_lock=lock, hub_relaxed_commit=True),
                               expire_on_commit=False)
            for lock in (False, True)
        }

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def session(self, write_lock: bool = False, durable: bool = True) -> Iterator[Session]:
        """A session in a transaction: committed on success, rolled back on error.

        :param write_lock: on SQLite, hold the database write lock for the whole transaction
            (every read-then-write transaction that may run beside another writer).
        :param durable: ``False``: on SQLite the commit does not wait for the disk (see the module
            docstring) — only for writes the caller redoes when they are lost.
        """
        if not durable:
            maker = self._relaxed_sessionmakers[write_lock]
        else:
            maker = self.locking_sessionmaker if write_lock else self.sessionmaker
        with maker() as session:
            with session.begin():
                if not durable and not self.is_sqlite:  # SQLite's counterpart is set at BEGIN (on_begin)
                    session.execute(sa.text("SET LOCAL synchronous_commit TO OFF"))
                yield session

    def catch_up_statistics(self, query: sa.Select, rows: int, tables: list[str]) -> bool:
        """On PostgreSQL, ``ANALYZE tables`` when the planner expects fewer than half of ``rows`` rows
        from ``query``; SQLite plans without such statistics.

        A table filled faster than autovacuum follows (a first sync of 20,000 events takes seconds;
        autovacuum looks once a minute, and may be off) keeps statistics that say it is nearly empty,
        and the planner then reads every row of the calendar for each page's lookups instead of using
        the (calendar, remote id) index: 38 s instead of 14 s for that sync. An ANALYZE that would wait
        for a lock is skipped.

        :return: whether the statistics were refreshed.
        """
        if self.is_sqlite:
            return False
        with self.engine.connect() as conn, conn.begin():
            # EXPLAIN takes no bind parameters: the dialect renders the values as quoted literals
            statement = query.compile(self.engine, compile_kwargs={"literal_binds": True})
            [[plan]] = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {statement}").all()
            if plan[0]["Plan"]["Plan Rows"] * 2 >= rows:
                return False
            conn.exec_driver_sql("SET LOCAL lock_timeout = '1s'")
            try:
                conn.exec_driver_sql("ANALYZE " + ", ".join(tables))
            except OperationalError:  # autovacuum is at it: its statistics will do
                return False
        return True

    def check(self) -> None:
        """Connect once, turning a driver error into a ConfigError a person can act on."""
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except OperationalError as exc:
            raise ConfigError(
                f"Cannot connect to the database: {exc.orig}".strip(),
                fix="Check HUB_DATABASE_URL and that the database server is running.",
            ) from exc

    def upgrade(self) -> None:
        """Create or upgrade the schema to the newest migration."""
        from alembic import command

        self.check()
        cfg = alembic_config(self.url)
        with self.engine.connect() as conn:
            raw = conn.connection.dbapi_connection if self.is_sqlite else None
            if raw is not None:
                # SQLite alters a table by copying it and dropping the old one; with foreign keys on,
                # the drop cascades to every row pointing at it. The pragma only changes outside a
                # transaction, so before ours; the references are checked before it commits instead.
                raw.execute("PRAGMA foreign_keys=OFF")
            try:
                with conn.begin():
                    cfg.attributes["connection"] = conn
                    command.upgrade(cfg, "head")
                    if raw is not None:
                        broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
                        if broken:
                            raise ConfigError(f"The schema upgrade would leave {len(broken)} broken references "
                                              f"(first: {tuple(broken[0])}); nothing was changed.",
                                              fix="Report this with the database's migration history.")
            finally:
                if raw is not None:
                    raw.execute("PRAGMA foreign_keys=ON")

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config(url: str):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def make_engine(url: str) -> sa.Engine:
    sa_url = sa.engine.make_url(url)
    if sa_url.drivername == "postgresql":  # default to psycopg 3, the driver we ship
        sa_url = sa_url.set(drivername="postgresql+psycopg")
    if sa_url.get_backend_name() == "sqlite":
        if sa_url.database and sa_url.database != ":memory:":
            Path(sa_url.database).parent.mkdir(parents=True, exist_ok=True)
            # create the file 0600 before SQLite does (0644); its -wal and -shm files copy the mode
            if not Path(sa_url.database).exists():
                os.close(os.open(sa_url.database, os.O_CREAT | os.O_WRONLY, 0o600))
        engine = sa.create_engine(sa_url, connect_args={"timeout": 30})
        _sqlite_pragmas(engine)
        return engine
    return sa.create_engine(sa_url, pool_pre_ping=True)


#: ``PRAGMA synchronous`` for commits that need not wait for the disk
_SYNCHRONOUS_NORMAL = 1


def _sqlite_pragmas(engine: sa.Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_conn, record):
        # pysqlite's own transaction handling would defer BEGIN; we issue it ourselves below
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        (level,) = cur.execute("PRAGMA synchronous").fetchone()
        record.info["hub_synchronous"] = record.info["hub_synchronous_default"] = level
        cur.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn):
        options = conn.get_execution_options()
        # the level holds per connection until changed, and only outside a transaction: set it
        # here when this transaction wants another one than the connection's last
        info = conn.connection.info
        default = info["hub_synchronous_default"]
        synchronous = min(default, _SYNCHRONOUS_NORMAL) if options.get("hub_relaxed_commit") else default
        if info["hub_synchronous"] != synchronous:
            conn.exec_driver_sql(f"PRAGMA synchronous={int(synchronous)}")
            info["hub_synchronous"] = synchronous
        conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get("hub_write_lock") else "BEGIN")
