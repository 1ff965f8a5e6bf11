"""Private Redis and PostgreSQL servers that a test may stop and start again.

The machine's shared servers must never be stopped by a test, so the outage scenarios run their own:
``redis-server`` on a free loopback port (optionally with AOF persistence), and a PostgreSQL cluster
made with ``initdb`` in a temporary folder and run as the ``postgres`` user.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import redis

from hub.testing.peers.base import free_port, peer_missing, wait_for_port

REDIS_SERVER = "/usr/bin/redis-server"
PG_BIN = Path("/usr/lib/postgresql/15/bin")


class PrivateRedis:
    """A ``redis-server`` of our own; ``restart()`` loses every key unless ``aof`` is on.

    :param aof: append-only file with ``fsync always`` — what docs/deployment.md asks production for.
    """

    def __init__(self, directory: Path, aof: bool = False):
        if not Path(REDIS_SERVER).exists():
            peer_missing("redis-server is not installed (apt-get install redis-server)")
        self.directory = directory
        self.aof = aof
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> "PrivateRedis":
        args = [REDIS_SERVER, "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.directory),
                "--save", "", "--maxmemory-policy", "noeviction"]
        args += ["--appendonly", "yes", "--appendfsync", "always"] if self.aof else ["--appendonly", "no"]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port, proc=self.process)
        deadline = time.monotonic() + 10
        while True:  # the port opens before an AOF is loaded: wait until commands are served
            try:
                redis.Redis(port=self.port, socket_timeout=1).ping()
                return self
            except redis.BusyLoadingError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        """Stop like a crash would: SIGKILL, nothing saved beyond what the AOF already holds."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


class PrivateCluster:
    """A PostgreSQL cluster in a temporary folder, owned by the ``postgres`` user, on a free port."""

    def __init__(self):
        if os.geteuid() != 0 or not (PG_BIN / "initdb").exists():
            peer_missing("a private PostgreSQL cluster needs root and /usr/lib/postgresql/15/bin")
        self.directory = Path(tempfile.mkdtemp(prefix="hub-pg-"))
        shutil.chown(self.directory, "postgres", "postgres")
        self.data = self.directory / "data"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(["runuser", "-u", "postgres", "--", *args], capture_output=True, text=True, check=check,
                              timeout=120)

    def init(self) -> "PrivateCluster":
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "--auth=trust", "-U", "postgres", "--no-sync")
        return self

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.directory / "log"),
                  "-w", "start")
        wait_for_port(self.port)

    def stop(self, mode: str = "immediate") -> None:
        """``immediate`` is a crash: connections die at once, recovery runs at the next start."""
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)
