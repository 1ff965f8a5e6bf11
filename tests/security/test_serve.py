"""Findings 8 and 9 on a real `hub serve`: a production WSGI server (not the development server),
no OAuth ``code``/``state`` in its output, and the instance files private (0700 folder, 0600 files)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import urllib.error
import urllib.request

from hub.testing.peers.base import free_port, wait_for_port


def test_hub_serve_runs_a_production_server_and_keeps_its_files_private(tmp_path):
    instance = tmp_path / "instance"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update({"HUB_INSTANCE_PATH": str(instance), "HUB_LOAD_PLUGINS": "testplugin"})
    proc = subprocess.Popen([sys.executable, "-m", "hub.cli", "serve", "--port", str(port), "--no-worker"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path)
    try:
        wait_for_port(port, timeout=60, proc=proc)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
            assert response.status == 200
            assert "werkzeug" not in response.headers.get("Server", "").lower()
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/connect/testplugin/callback"
                                   "?code=SECRET-CODE-4711&state=SECRET-STATE-0815", timeout=10).close()
        except urllib.error.HTTPError:
            pass  # whatever the answer, the query string must not be written anywhere
    finally:
        proc.terminate()
        output = proc.communicate(timeout=30)[0]
    assert "serving on" in output
    assert "SECRET-CODE-4711" not in output and "SECRET-STATE-0815" not in output
    assert stat.S_IMODE(instance.stat().st_mode) == 0o700
    for name in ("hub.db", "secret_key", "keys"):
        assert stat.S_IMODE((instance / name).stat().st_mode) & 0o077 == 0, name
