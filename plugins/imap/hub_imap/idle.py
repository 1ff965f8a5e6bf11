"""Push for IMAP: an IDLE listener holding one connection per watched mailbox.

The core runs one :class:`IdleListener` (``hub idle``, also inside ``hub serve``) with a function
that lists the enabled IMAP accounts and a callback that enqueues a mail sync. Each mailbox gets a
thread that logs in, EXAMINEs the folder and IDLEs (RFC 2177); when the server reports EXISTS,
EXPUNGE or VANISHED the callback runs with ``(account_id, folder)``. IDLE is re-issued every
:data:`REIDLE_SECONDS` (servers may drop an IDLE after 30 minutes); a failed connection is retried
with exponential backoff (:data:`MAX_BACKOFF` at most), and after a reconnect the callback runs
once, because mail may have arrived while nobody listened. Accounts whose server has no IDLE are
left to polling. Every :data:`REFRESH_SECONDS` the account list is read again: new accounts get
a watcher, removed or changed ones lose theirs.

Public API: :class:`IdleListener`.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from typing import Callable, Iterable

from hub.exceptions import AuthenticationFailed, HubError
from hub.types import AccountHandle

from hub_imap.config import MailboxConfig
from hub_imap.connection import ImapClient, close_imap, open_imap
from hub_imap.errors import translated
from hub_imap.folders import mailbox_for

log = logging.getLogger(__name__)

#: re-issue IDLE this often (RFC 2177: servers may log out an IDLE client after 30 minutes)
REIDLE_SECONDS = 25 * 60
#: longest wait between reconnection attempts
MAX_BACKOFF = 300.0
#: how often the list of accounts is read again
REFRESH_SECONDS = 60.0
#: how long one wait for server data lasts; bounds how fast ``stop()`` takes effect
POLL_SECONDS = 1.0

_CHANGES = {b"EXISTS", b"EXPUNGE", b"VANISHED"}

AccountsProvider = Callable[[], Iterable[AccountHandle]]
OnChange = Callable[[int, str], None]


class _ConnectionLost(Exception):
    """The server closed the connection while we were idling."""


class _Watcher(threading.Thread):
    """One mailbox of one account: connect, IDLE, report, reconnect."""

    def __init__(self, account: AccountHandle, config: MailboxConfig, folder: str, on_change: OnChange,
                 reidle_seconds: float, poll_seconds: float):
        super().__init__(name=f"imap-idle-{account.id}-{folder}", daemon=True)
        self.account = account
        self.config = config
        self.folder = folder
        self.on_change = on_change
        self.reidle_seconds = reidle_seconds
        self.poll_seconds = poll_seconds
        self.stopping = threading.Event()
        self.connected = threading.Event()
        #: set when the server has no IDLE: this mailbox is left to polling
        self.unsupported = False
        #: IDLE commands issued so far (the first of each connection and every re-IDLE)
        self.idles = 0
        self._client: ImapClient | None = None

    def stop(self) -> None:
        self.stopping.set()

    def run(self) -> None:
        failures = 0
        reconnecting = False
        while not self.stopping.is_set():
            try:
                self._listen(notify_first=reconnecting)
                failures = 0
            except _ConnectionLost:
                log.info("IDLE connection of account %s (%s) was closed; reconnecting", self.account.id, self.folder)
                failures = 0
            except HubError as exc:
                failures += 1
                if isinstance(exc, AuthenticationFailed):
                    failures = max(failures, 6)  # a wrong password does not fix itself quickly
                log.warning("IDLE for account %s (%s) failed: %s", self.account.id, self.folder, exc)
            except Exception:  # noqa: BLE001 - a listener thread must never die of one bad answer
                failures += 1
                log.exception("IDLE for account %s (%s) failed unexpectedly", self.account.id, self.folder)
            finally:
                self.connected.clear()
            if self.unsupported:
                return
            reconnecting = True
            if failures:
                delay = min(MAX_BACKOFF, 2 ** (failures - 1))
                self.stopping.wait(delay * random.uniform(0.8, 1.2))

    def _listen(self, notify_first: bool) -> None:
        client = open_imap(self.config, self.account.context, enable=())
        self._client = client
        try:
            with translated(self.config, self.config.imap, "IMAP"):
                if not client.has_capability("IDLE"):
                    log.info("%s has no IDLE; account %s is polled", self.config.imap.host, self.account.id)
                    self.unsupported = True
                    return
                client.select_folder(mailbox_for(client, self.folder, self.config.sent_folder), readonly=True)
                client.idle()
                self.idles += 1
                self.connected.set()
                if notify_first:
                    self._notify()
                self._idle_loop(client)
        finally:
            self._client = None
            self._finish(client)

    def _idle_loop(self, client: ImapClient) -> None:
        started = time.monotonic()
        quick_empty = 0
        while not self.stopping.is_set():
            asked = time.monotonic()
            responses = client.idle_check(timeout=self.poll_seconds)
            if responses:
                quick_empty = 0
            elif time.monotonic() - asked < self.poll_seconds / 10:
                # imapclient's idle_check returns [] at once on EOF instead of raising: a readable
                # socket with nothing in it, again and again, is a closed connection
                quick_empty += 1
                if quick_empty >= 3:
                    raise _ConnectionLost()
            if any(len(r) > 0 and r[0] == b"BYE" for r in responses):
                raise _ConnectionLost()
            if time.monotonic() - started > self.reidle_seconds:
                # what arrived while leaving IDLE comes back from idle_done, not from idle_check
                _text, late = client.idle_done()
                responses = [*responses, *late]
                client.idle()
                self.idles += 1
                started = time.monotonic()
            if any(len(r) > 1 and r[1] in _CHANGES for r in responses):
                self._notify()

    def _notify(self) -> None:
        # a stopped watcher may still be inside idle_check when news arrives (Cyrus's idled wakes it
        # at once): its account is no longer watched, so it must not report
        if self.stopping.is_set():
            return
        try:
            self.on_change(self.account.id, self.folder)
        except Exception:  # noqa: BLE001 - the callback's failure must not kill the listener
            log.exception("IDLE callback failed for account %s (%s)", self.account.id, self.folder)

    @staticmethod
    def _finish(client: ImapClient) -> None:
        try:
            client.idle_done()
        except Exception:  # noqa: BLE001 - not idling, or the connection is gone
            pass
        close_imap(client)


class IdleListener:
    """Watches every account's mailboxes with IMAP IDLE and calls ``on_change(account_id, folder)``.

    :param account_handles_provider: returns the accounts to watch (called at start and every
        ``refresh_seconds``); accounts it stops returning are no longer watched.
    :param on_change: called from a listener thread when a mailbox changed (new mail, expunge);
        the core passes "enqueue a mail sync for this account and folder".
    :param folders: the hub folders to watch per account.
    :param config_for: how an account's server settings are read (the iCloud plugin passes its own).
    """

    def __init__(
        self,
        account_handles_provider: AccountsProvider,
        on_change: OnChange,
        *,
        folders: tuple[str, ...] = ("inbox",),
        config_for: Callable[[AccountHandle], MailboxConfig] = MailboxConfig.for_account,
        refresh_seconds: float = REFRESH_SECONDS,
        reidle_seconds: float = REIDLE_SECONDS,
        poll_seconds: float = POLL_SECONDS,
    ):
        self.accounts = account_handles_provider
        self.on_change = on_change
        self.folders = folders
        self.config_for = config_for
        self.refresh_seconds = refresh_seconds
        self.reidle_seconds = reidle_seconds
        self.poll_seconds = poll_seconds
        self._watchers: dict[tuple[int, str], tuple[str, _Watcher]] = {}
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> "IdleListener":
        """Start watching (returns at once; the work happens in background threads)."""
        self._stopping.clear()
        self.refresh()
        self._thread = threading.Thread(target=self._supervise, name="imap-idle-supervisor", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop every watcher and wait (up to ``timeout`` seconds in all) for their connections to close."""
        self._stopping.set()
        watchers = [w for _, w in self._watchers.values()]
        self._watchers.clear()
        for watcher in watchers:
            watcher.stop()
        deadline = time.monotonic() + timeout
        for thread in [*watchers, *([self._thread] if self._thread else [])]:
            thread.join(max(0.0, deadline - time.monotonic()))

    def wait_until_listening(self, timeout: float = 10.0) -> bool:
        """Block until every current watcher is idling (for tests and health checks)."""
        deadline = time.monotonic() + timeout
        for _, watcher in list(self._watchers.values()):
            if watcher.unsupported:
                continue
            if not watcher.connected.wait(max(0.0, deadline - time.monotonic())):
                return False
        return True

    def idles(self) -> int:
        """IDLE commands the current watchers have issued (each connection's first and every re-IDLE)."""
        return sum(w.idles for _, w in list(self._watchers.values()))

    @property
    def watching(self) -> set[tuple[int, str]]:
        """(account id, folder) pairs whose connection is currently idling."""
        return {key for key, (_, w) in self._watchers.items() if w.connected.is_set()}

    def refresh(self) -> None:
        """Match the watchers to the current account list."""
        wanted: dict[tuple[int, str], tuple[str, AccountHandle, MailboxConfig]] = {}
        try:
            accounts = list(self.accounts())
        except Exception:  # noqa: BLE001 - e.g. the database is briefly away; keep what runs
            log.exception("could not list the accounts to watch with IDLE")
            return
        for account in accounts:
            try:
                config = self.config_for(account)
            except HubError as exc:
                log.warning("account %s cannot be watched: %s", account.id, exc)
                continue
            for folder in self.folders:
                wanted[(account.id, folder)] = (config.fingerprint(), account, config)
        for key in list(self._watchers):
            fingerprint, watcher = self._watchers[key]
            # a watcher whose server has no IDLE stays (finished) so it is not retried every minute
            if key not in wanted or wanted[key][0] != fingerprint:
                watcher.stop()
                del self._watchers[key]
        for key, (fingerprint, account, config) in wanted.items():
            if key not in self._watchers:
                watcher = _Watcher(account, config, key[1], self.on_change, self.reidle_seconds, self.poll_seconds)
                self._watchers[key] = (fingerprint, watcher)
                watcher.start()

    def _supervise(self) -> None:
        while not self._stopping.wait(self.refresh_seconds):
            self.refresh()
