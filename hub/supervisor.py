"""The children of ``hub serve`` (the web server, workers, scheduler, IMAP IDLE): started, started again
when one dies, and stopped with it — however it is stopped.

* The web server is gunicorn (a production server: pre-forked workers, no access log of query strings)
  in a child of its own, on the listening socket ``hub serve`` bound first and hands down; where
  gunicorn cannot run (Windows, or not installed) ``hub serve`` runs waitress in its own process instead.

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
#: set in the web child's environment: the number of the listening socket it inherited
LISTEN_FD_ENV = "HUB_LISTEN_FD"
_PR_SET_PDEATHSIG = 1


class Children:
    """``hub <command>`` child processes sharing this process's Redis."""

    def __init__(self, commands: list[str], redis_url: str, listen_fd: int | None = None):
        """``commands`` are ``hub`` subcommands with their options (``"web --workers 2"``); the ``web``
        child inherits ``listen_fd``, the socket it serves on (kept open here for its restarts)."""
        self.commands = commands
        self.listen_fd = listen_fd
        self.env = {**os.environ, "HUB_REDIS_URL": redis_url, PARENT_ENV: str(os.getpid())}
        if listen_fd is not None:
            self.env[LISTEN_FD_ENV] = str(listen_fd)
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
        args = command.split()
        fds = (self.listen_fd,) if args[0] == "web" and self.listen_fd is not None else ()
        return subprocess.Popen([sys.executable, "-m", "hub.cli", *args], env=self.env, process_group=0, pass_fds=fds)

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


def gunicorn_runs_here() -> bool:
    """Whether gunicorn can serve on this machine (it needs ``fork``: not on Windows)."""
    if sys.platform == "win32":
        return False
    try:
        import gunicorn.app.base  # noqa: F401
    except ImportError:
        return False
    return True


def run_gunicorn(make_app: Callable[[], object], listen_fd: int, workers: int, threads: int) -> None:
    """Serve the app made by ``make_app`` with gunicorn on the inherited socket ``listen_fd``, until
    SIGTERM (or the parent's death, see :func:`follow_parent`).

    Each worker process makes its own app after the fork (database pools and Redis connections are
    not shared across a fork). Worker threads suit the mix of quick pages and webhooks (docs/deployment.md).
    A gunicorn worker notices a dead arbiter within a second and ends too.
    """
    from gunicorn.app.base import BaseApplication

    class HubWeb(BaseApplication):
        def load_config(self):
            settings = {
                "bind": [f"fd://{listen_fd}"], "workers": workers, "worker_class": "gthread", "threads": threads,
                # the whole stop stays within the supervisor's grace period
                "graceful_timeout": int(max(GRACE_SECONDS - 2, 1)), "keepalive": 30,
                "accesslog": None, "errorlog": "-", "loglevel": "info",
            }
            if "control_socket_disable" in self.cfg.settings:  # gunicorn ≥ 25.1: its control socket has one
                settings["control_socket_disable"] = True      # path per user, which two hubs would share
            for key, value in settings.items():
                self.cfg.set(key, value)

        def load(self):
            return make_app()

    HubWeb().run()
