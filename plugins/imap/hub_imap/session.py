"""Reusing one IMAP connection across the pages of a sync job.

The sync job calls ``hub_sync_mail`` page after page in the same worker process; logging in for
every page would cost a TCP + TLS handshake and a LOGIN each time (≈22 ms on loopback, far more
over the internet). :func:`imap_session` lends out a connection cached per account and takes it
back afterwards; :func:`release` closes an account's connections (disconnect). A connection unused for
:data:`IDLE_SECONDS` is closed the next time anyone asks, and one that fails is never put back.
Hooks are called from one thread at a time per account, but the pool itself is thread-safe.

A reused connection may have been closed, or its selected mailbox deleted, since it was put back
(Cyrus ends the sessions of a mailbox restored under them): :func:`with_session` then runs the work
once more on a fresh connection.

Public API: :func:`with_session`, :func:`imap_session`, :func:`release`, :func:`close_all`.
"""

from __future__ import annotations

import atexit
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator, TypeVar

from hub.exceptions import HubError
from hub.types import ProviderContext

from hub_imap.config import MailboxConfig
from hub_imap.connection import ImapClient, close_imap, open_imap

T = TypeVar("T")

#: a cached connection older than this (unused) is closed instead of reused
IDLE_SECONDS = 60.0
#: past this many idle seconds a cached connection is checked with NOOP before reuse (one round
#: trip; a dead one then costs a fresh login instead of a failed sync)
CHECK_AFTER_SECONDS = 1.0


class _Pool:
    def __init__(self):
        self._lock = threading.Lock()
        self._idle: dict[tuple[int, str], tuple[ImapClient, float]] = {}
        self._timer: threading.Timer | None = None

    def take(self, key: tuple[int, str]) -> tuple[ImapClient, float] | None:
        with self._lock:
            expired = self._expired_locked()
            entry = self._idle.pop(key, None)
        for client in expired:
            close_imap(client)
        return entry

    def put(self, key: tuple[int, str], client: ImapClient) -> None:
        with self._lock:
            old = self._idle.pop(key, None)
            self._idle[key] = (client, time.monotonic())
            if self._timer is None:
                # close what a crashed or abandoned sync left behind, even if nobody asks again
                self._timer = threading.Timer(IDLE_SECONDS + 1, self.reap)
                self._timer.daemon = True
                self._timer.start()
        if old is not None:
            close_imap(old[0])

    def reap(self) -> None:
        with self._lock:
            self._timer = None
            expired = self._expired_locked()
            if self._idle:
                self._timer = threading.Timer(IDLE_SECONDS + 1, self.reap)
                self._timer.daemon = True
                self._timer.start()
        for client in expired:
            close_imap(client)

    def drop(self, account_id: int) -> None:
        with self._lock:
            gone = [self._idle.pop(k)[0] for k in list(self._idle) if k[0] == account_id]
        for client in gone:
            close_imap(client)

    def clear(self) -> None:
        with self._lock:
            gone = [client for client, _ in self._idle.values()]
            self._idle.clear()
        for client in gone:
            close_imap(client)

    def _expired_locked(self) -> list[ImapClient]:
        now = time.monotonic()
        stale = [k for k, (_, since) in self._idle.items() if now - since > IDLE_SECONDS]
        return [self._idle.pop(k)[0] for k in stale]


_POOL = _Pool()
atexit.register(_POOL.clear)


def _alive(client: ImapClient, idle_for: float) -> bool:
    if idle_for < CHECK_AFTER_SECONDS:
        return True
    try:
        client.noop()
        return True
    except Exception:  # noqa: BLE001 - any failure means "open a new one"
        close_imap(client)
        return False


@contextmanager
def imap_session(account_id: int, config: MailboxConfig, context: ProviderContext,
                 reuse: bool = True) -> Iterator[ImapClient]:
    """A logged-in connection for ``account_id``: the cached one when it is still good (and ``reuse``),
    else a new one.

    It goes back to the cache when the block ends normally; on any error it is closed, so a
    half-broken connection is never reused.
    """
    key = (account_id, config.fingerprint())
    cached = _POOL.take(key)
    if cached is not None and not reuse:
        close_imap(cached[0])
        cached = None
    client = cached[0] if cached and _alive(cached[0], time.monotonic() - cached[1]) else None
    if client is None:
        client = open_imap(config, context)
    client.reused = client is (cached[0] if cached else None)
    try:
        yield client
    except BaseException:
        close_imap(client)
        raise
    _POOL.put(key, client)


def with_session(account_id: int, config: MailboxConfig, context: ProviderContext,
                 work: Callable[[ImapClient], T]) -> T:
    """``work(client)`` on the account's connection; when a reused connection fails with a library
    error (not a hub answer such as an expired cursor), once more on a fresh one. ``work`` must be
    safe to repeat (reading a page is)."""
    lent: list[ImapClient] = []
    try:
        with imap_session(account_id, config, context) as client:
            lent.append(client)
            return work(client)
    except HubError:
        raise
    except Exception:
        if not (lent and lent[0].reused):
            raise
    with imap_session(account_id, config, context, reuse=False) as client:
        return work(client)


def release(account_id: int) -> None:
    """Close the cached connections of ``account_id`` (end of a sync, disconnect)."""
    _POOL.drop(account_id)


def close_all() -> None:
    """Close every cached connection (process shutdown, tests)."""
    _POOL.clear()
