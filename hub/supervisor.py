"""The children of ``hub serve`` (workers, scheduler, IMAP IDLE): started, started again when one dies,
and stopped with it — however it is stopped.

* Each child runs in a process group of its own, so a terminal's Ctrl-C reaches only ``hub serve``,
  which then stops them; a child never sees the Ctrl-C first, exits, and is "restarted" mid-shutdown.
* :meth:`Children.stop` asks each child to stop (SIGTERM), waits a few seconds, then kills what is
  left (a worker in the middle of a long job; its job is recovered by the reconciler).
* On Linux each child also asks the kernel for SIGTERM when its parent dies (``PR_SET_PDEATHSIG``),
  so not even a SIGKILLed ``hub serve`` leaves children behind. Neither subprocess nor a well-kept
  library offers that; it is one ``prctl`` call.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Callable, Iterator

from hub.exceptions import ConfigError

log = logging.getLogger(__name__)

#: how long children get to stop on SIGTERM before they are killed (the whole stop stays under 10 s)
GRACE_SECONDS = 5.0
#: set in a child's environment: the pid of the `hub serve` it must not outlive
PARENT_ENV = "HUB_SUPERVISOR_PID"
_PR_SET_PDEATHSIG = 1


class Children:
    """``hub <command>`` child processes sharing this process's Redis."""

    def __init__(self, commands: list[str], redis_url: str):
        self.commands = commands
        self.env = {**os.environ, "HUB_REDIS_URL": redis_url, PARENT_ENV: str(os.getpid())}
        self.procs: list[subprocess.Popen] = []
        self.stopping = threading.Event()
        self._lock = threading.Lock()  # a restart and the stop never interleave

    def __len__(self) -> int:
        return len(self.commands)

    def start(self, restart_every: float = 2.0) -> "Children":
        self.procs = [self._spawn(command) for command in self.commands]
        threading.Thread(target=self._restart_dead, args=(restart_every,), daemon=True, name="supervisor").start()
        return self

    def _spawn(self, command: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "hub.cli", command], env=self.env, process_group=0)

    def _restart_dead(self, every: float) -> None:
        """Start again any child that exited (a crash, the OOM killer): one dead worker must not stop
        every sync on the machine. Its unfinished job is recovered by the reconciler."""
        while not self.stopping.wait(every):
            for i, proc in enumerate(self.procs):
                with self._lock:
                    if proc.poll() is None or self.stopping.is_set():
                        continue
                    log.warning("hub %s (pid %s) exited with %s; starting it again",
                                self.commands[i], proc.pid, proc.returncode)
                    self.procs[i] = self._spawn(self.commands[i])

    def stop(self, grace: float = GRACE_SECONDS) -> None:
        """SIGTERM to every child, SIGKILL to those still running after ``grace`` seconds; returns when
        all have ended."""
        with self._lock:
            self.stopping.set()
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + grace
        for command, proc in zip(self.commands, self.procs):
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("hub %s (pid %s) did not stop within %.0f s; killing it", command, proc.pid, grace)
                proc.kill()
                proc.wait()


def follow_parent() -> None:
    """In a child of ``hub serve``: end when the parent ends, even if it was killed outright."""
    parent = os.environ.pop(PARENT_ENV, None)
    if parent is None:
        return
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != int(parent):  # the parent died before the line above took effect
        sys.exit(0)


@contextlib.contextmanager
def stop_signals() -> Iterator[Callable[[], None]]:
    """Within the block, the first SIGINT or SIGTERM raises KeyboardInterrupt (one shutdown path for
    Ctrl-C and ``kill``). The block calls the function it gets when its shutdown begins: from then on
    these signals are ignored, so a second Ctrl-C cannot cut the shutdown short."""

    def first(signum, frame):
        shutting_down()
        raise KeyboardInterrupt

    def again(signum, frame):
        log.info("Already stopping (%s ignored).", signal.Signals(signum).name)

    def shutting_down() -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, again)

    previous = {sig: signal.signal(sig, first) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield shutting_down
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def listen(host: str, port: int) -> socket.socket:
    """The web server's listening socket, or a clear error when the port is taken."""
    try:
        return socket.create_server((host, port), backlog=128)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(f"Port {port} is in use by another program.",
                              fix=f"Stop that program, or start the hub on another port (--port {port + 1}).") from None
        raise
