"""Findings 8 and 9 on a real `hub serve`: a production WSGI server (gunicorn; waitress where gunicorn
cannot run — never the development server), no OAuth ``code``/``state`` in its output, and the instance
files private (0700 folder, 0600 files)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from hub.testing.peers.base import free_port, wait_for_port
from hub.testing.waiting import wait_until
from tests.processes import marked_processes

#: `hub serve --server X` → the server that answers (the default where gunicorn runs: gunicorn)
SERVERS = {"auto": "gunicorn", "waitress": "waitress"}


@pytest.mark.parametrize("choice", sorted(SERVERS))
def test_hub_serve_runs_a_production_server_and_keeps_its_files_private(tmp_path, choice):
    instance = tmp_path / "instance"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update({"HUB_INSTANCE_PATH": str(instance), "HUB_LOAD_PLUGINS": "testplugin"})
    proc = subprocess.Popen([sys.executable, "-m", "hub.cli", "serve", "--port", str(port), "--no-worker",
                             "--server", choice], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path)
    try:
        wait_for_port(port, timeout=60, proc=proc)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=60) as response:
            assert response.status == 200
            assert response.headers.get("Server", "").split("/")[0].lower() == SERVERS[choice]
        web = lambda: [cmd for _pid, cmd in marked_processes(instance) if "hub.cli web" in cmd]  # noqa: E731
        if SERVERS[choice] == "gunicorn":  # a child of its own: the arbiter and its two worker processes
            wait_until(lambda: len(web()) == 3, 60, "gunicorn's arbiter and two workers")
        else:
            assert web() == []
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/connect/testplugin/callback"
                                   "?code=SECRET-CODE-4711&state=SECRET-STATE-0815", timeout=10).close()
        except urllib.error.HTTPError:
            pass  # whatever the answer, the query string must not be written anywhere
    finally:
        proc.terminate()
        output = proc.communicate(timeout=30)[0]
    assert f"serving on http://127.0.0.1:{port}/ with {SERVERS[choice]}" in output, output
    assert "SECRET-CODE-4711" not in output and "SECRET-STATE-0815" not in output
    assert stat.S_IMODE(instance.stat().st_mode) == 0o700
    for name in ("hub.db", "secret_key", "keys"):
        assert stat.S_IMODE((instance / name).stat().st_mode) & 0o077 == 0, name
