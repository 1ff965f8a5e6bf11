"""Processes a test starts and must see end: started in a session of their own (so a signal to the
group is what a terminal's Ctrl-C sends), marked by their instance folder, and checked for leftovers.

Every process a hub command starts (web, workers, scheduler, IMAP IDLE, the embedded Redis, the demo's
stand-ins) inherits ``HUB_INSTANCE_PATH``, so one left behind is found by that mark in
``/proc/<pid>/environ`` even after its parent is gone.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from hub.testing.waiting import wait_until  # noqa: F401 - the tests here import it from this module

#: the promise: Ctrl-C or SIGTERM ends everything within this many seconds
STOP_SECONDS = 10


def marked_processes(instance: Path) -> list[tuple[int, str]]:
    """(pid, command line) of every live process started for ``instance``: marked by its environment,
    or naming a file in it on its command line (the embedded Redis daemon)."""
    mark, inside = f"HUB_INSTANCE_PATH={instance}".encode(), f"{instance}/".encode()
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if mark not in (proc / "environ").read_bytes().split(b"\0") and \
                    inside not in (proc / "cmdline").read_bytes():
                continue
            state = next(line for line in (proc / "status").read_text().splitlines() if line.startswith("State:"))
            if "Z" in state.split()[1]:  # a zombie has ended; only its parent has not collected it yet
                continue
            found.append((int(proc.name), (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()))
        except (OSError, StopIteration):
            continue
    return found


def start(instance: Path, args: list[str], env: dict[str, str], **kwargs) -> subprocess.Popen:
    """Run ``args`` with its output in ``<instance>/../<name>.log`` (read with :func:`output_of`).

    Its own session: a signal to its process group is what a terminal's Ctrl-C sends.
    """
    with open(log_path(instance), "w") as log:
        return subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, **kwargs)


def log_path(instance: Path) -> Path:
    return instance.parent / f"{instance.name}.log"


def output_of(instance: Path) -> str:
    return log_path(instance).read_text(errors="replace")


def stop_and_collect(proc: subprocess.Popen, instance: Path) -> str:
    """Output of ``proc`` after it ended within STOP_SECONDS, and with nothing of it left running."""
    try:
        proc.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        left = marked_processes(instance)
        kill_all(proc, instance)
        raise AssertionError(f"still running {STOP_SECONDS} s after the signal: {left}") from None
    left = marked_processes(instance)
    kill_all(proc, instance)
    output = output_of(instance)
    assert left == [], f"left running after the hub stopped: {left}\n{output[-3000:]}"
    return output


def kill_all(proc: subprocess.Popen, instance: Path) -> None:
    """Clean up after a failed test: this test's processes only (found by their mark)."""
    for pid, _cmd in marked_processes(instance):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if proc.poll() is None:
        proc.kill()
        proc.wait()
