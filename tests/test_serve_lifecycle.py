"""`hub serve` and `python3 dev.py run` stop with everything they started, however they are stopped.

Each test starts the real command as a subprocess with its own instance folder and checks that no
process marked with that folder (:mod:`tests.processes`) is left.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from rq import Queue

from hub.testing.peers.base import free_port, wait_for_port
from tests.processes import STOP_SECONDS, kill_all, marked_processes, output_of, start, stop_and_collect, wait_until

ROOT = Path(__file__).resolve().parents[1]


def hub_env(instance: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update({"HUB_INSTANCE_PATH": str(instance), "HUB_LOAD_PLUGINS": "testplugin", "PYTHONUNBUFFERED": "1"})
    return env


def children_running(instance: Path, *commands: str):
    """Every one of ``commands`` (worker, scheduler, idle) runs as a `hub` child for ``instance``."""
    lines = [cmd for _pid, cmd in marked_processes(instance)]
    return all(any(f"hub.cli {c}" in line for line in lines) for c in commands)


def wait_until_serving(proc: subprocess.Popen, instance: Path, port: int) -> None:
    """Until `hub serve` said it serves and its children run (or kill it all and fail)."""
    try:
        wait_for_port(port, timeout=300, proc=proc)
        wait_until(lambda: f"serving on http://127.0.0.1:{port}/" in output_of(instance), 60, "the start banner")
        wait_until(lambda: children_running(instance, "worker", "scheduler", "idle"), 60, "the children")
    except BaseException:
        kill_all(proc, instance)
        raise


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def start_serve(instance: Path, port: int) -> subprocess.Popen:
    return start(instance, [sys.executable, "-m", "hub.cli", "serve", "--port", str(port)], hub_env(instance))


@pytest.mark.parametrize("how", ["SIGTERM to hub serve", "Ctrl-C (SIGINT to the process group)"])
def test_a_signal_stops_serve_and_every_child_without_restarts(tmp_path, how):
    port = free_port()
    proc = start_serve(tmp_path, port)
    wait_until_serving(proc, tmp_path, port)
    if how.startswith("SIGTERM"):
        proc.send_signal(signal.SIGTERM)
    else:
        os.killpg(proc.pid, signal.SIGINT)
    output = stop_and_collect(proc, tmp_path)
    assert "starting it again" not in output, output
    assert "Traceback" not in output, output
    assert proc.returncode == 0, output
    assert "workers: 1)" in output, output  # RQ workers only, not the scheduler and IDLE listener


def test_a_second_ctrl_c_does_not_break_the_shutdown(tmp_path):
    port = free_port()
    proc = start_serve(tmp_path, port)
    try:
        wait_until_serving(proc, tmp_path, port)
        os.killpg(proc.pid, signal.SIGINT)
        wait_until(lambda: "Stopping" in output_of(tmp_path), 10, "the shutdown to begin")
    except BaseException:
        kill_all(proc, tmp_path)
        raise
    os.killpg(proc.pid, signal.SIGINT)
    output = stop_and_collect(proc, tmp_path)
    assert "Traceback" not in output and "starting it again" not in output, output


def test_sigterm_while_a_worker_is_busy_still_stops_everything(tmp_path):
    """A worker finishing a long job (warm shutdown) does not keep the machine's hub alive."""
    port = free_port()
    proc = start_serve(tmp_path, port)
    try:
        wait_until_serving(proc, tmp_path, port)
        conn = redis.Redis(unix_socket_path=str(tmp_path / "redis.sock"))
        job = Queue("sync", connection=conn).enqueue(time.sleep, 600, job_timeout=900)
        wait_until(lambda: job.get_status(refresh=True) == "started", 60, "the worker to take the job")
        conn.close()
    except BaseException:
        kill_all(proc, tmp_path)
        raise
    proc.send_signal(signal.SIGTERM)
    output = stop_and_collect(proc, tmp_path)
    assert "Traceback" not in output and "TimeoutExpired" not in output, output


def test_children_end_when_serve_is_killed_outright(tmp_path):
    """SIGKILL leaves `hub serve` no chance to clean up: its children still end (the embedded Redis,
    a daemon the next start reuses, is not one of them; the test stops it)."""
    port = free_port()
    proc = start_serve(tmp_path, port)
    try:
        wait_until_serving(proc, tmp_path, port)
        proc.kill()
        proc.wait()
        hub_children = lambda: [p for p in marked_processes(tmp_path) if "hub.cli" in p[1]]  # noqa: E731
        wait_until(lambda: hub_children() == [], STOP_SECONDS, "the children to end")
    finally:
        kill_all(proc, tmp_path)  # the Redis daemon too


def test_a_killed_web_server_is_started_again_on_the_same_port(tmp_path):
    """The web server (gunicorn's arbiter, a child of `hub serve`) killed outright: its workers end,
    `hub serve` starts it again on the socket it holds, and the same address answers."""
    import requests

    port = free_port()
    proc = start_serve(tmp_path, port)
    try:
        wait_until_serving(proc, tmp_path, port)
        web = lambda: sorted(pid for pid, cmd in marked_processes(tmp_path) if "hub.cli web" in cmd)  # noqa: E731
        first = wait_until(lambda: (lambda found: found if len(found) == 3 else None)(web()), 60,
                           "gunicorn's arbiter and two workers")
        assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=30).headers["Server"] == "gunicorn"
        arbiter = next(pid for pid in first if parent_of(pid) == proc.pid)  # its workers are its children
        os.kill(arbiter, signal.SIGKILL)
        wait_until(lambda: len(web()) == 3 and not set(web()) & set(first), 60, "a new arbiter and new workers")
        assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=30).status_code == 200
    except BaseException:
        kill_all(proc, tmp_path)
        raise
    proc.send_signal(signal.SIGTERM)
    output = stop_and_collect(proc, tmp_path)
    assert output.count("starting it again") == 1 and "hub web" in output, output


def test_a_taken_port_stops_serve_before_it_starts_anything(tmp_path):
    port = free_port()
    with socket.create_server(("127.0.0.1", port)):
        proc = start_serve(tmp_path, port)
        try:
            proc.wait(timeout=60)
        finally:
            left = marked_processes(tmp_path)
            kill_all(proc, tmp_path)
    output = output_of(tmp_path)
    assert proc.returncode == 2, output
    assert f"Port {port} is in use" in output and "--port" in output, output
    assert "Traceback" not in output, output
    assert left == [], f"left running after `hub serve` gave up: {left}"


def test_dev_py_run_stops_on_ctrl_c(tmp_path):
    """README's `python3 dev.py run` (here serving ./instance, not the demo) ends on Ctrl-C."""
    port = free_port()
    env = hub_env(tmp_path)
    env["HUB_NO_DEMO"] = "1"
    proc = start(tmp_path, [sys.executable, str(ROOT / "dev.py"), "run", "--port", str(port)], env=env)
    wait_until_serving(proc, tmp_path, port)
    os.killpg(proc.pid, signal.SIGINT)
    output = stop_and_collect(proc, tmp_path)
    assert "Stopped." in output and "starting it again" not in output and "Traceback" not in output, output



def test_dev_py_run_real_leaves_the_demo_for_good(tmp_path):
    """The one step from the demo to real use: `run --real` creates the instance; later `run`s serve it
    (with what was entered there) instead of starting the demo again."""
    import sqlite3

    env = {k: v for k, v in hub_env(tmp_path).items() if k != "HUB_LOAD_PLUGINS"}
    port = free_port()
    proc = start(tmp_path, [sys.executable, str(ROOT / "dev.py"), "run", "--real", "--port", str(port)], env)
    wait_until_serving(proc, tmp_path, port)
    try:
        with sqlite3.connect(tmp_path / "hub.db") as db:  # what an administrator entered in real use
            db.execute("INSERT INTO provider_settings (name, enabled, updated_at) VALUES ('imap', 1, '2026-01-01')")
    except BaseException:
        kill_all(proc, tmp_path)
        raise
    os.killpg(proc.pid, signal.SIGINT)
    first = stop_and_collect(proc, tmp_path)
    assert "CRM hub demo" not in first and "Sign in as admin@example.com" in first, first

    port = free_port()
    proc = start(tmp_path, [sys.executable, str(ROOT / "dev.py"), "run", "--port", str(port)], env)
    wait_until_serving(proc, tmp_path, port)
    os.killpg(proc.pid, signal.SIGINT)
    second = stop_and_collect(proc, tmp_path)
    assert "CRM hub demo" not in second and "Sign in as admin@example.com" in second, second
    with sqlite3.connect(tmp_path / "hub.db") as db:
        assert db.execute("SELECT name FROM provider_settings").fetchall() == [("imap",)]
