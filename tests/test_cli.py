"""The `hub` command as an operator meets it: init, plugins, serve, rotate-keys, and clear errors."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request

import sqlalchemy as sa

from hub.testing.peers.base import free_port, wait_for_port
from hub.testing.waiting import wait_until


def hub_cmd(args, instance, env_extra=None, timeout=120):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update({"HUB_INSTANCE_PATH": str(instance), "HUB_LOAD_PLUGINS": "testplugin", **(env_extra or {})})
    return subprocess.run([sys.executable, "-m", "hub.cli", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_init_creates_database_keys_and_admin(tmp_path):
    result = hub_cmd(["init", "--admin-email", "Admin@Corp.test", "--admin-password", "pw"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "keys").exists() and oct((tmp_path / "keys").stat().st_mode)[-3:] == "600"
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT role FROM users WHERE email='admin@corp.test'")).scalar_one() == "admin"
    again = hub_cmd(["init"], tmp_path)  # upgrading an up-to-date database is a no-op
    assert again.returncode == 0, again.stderr


def test_plugins_lists_name_distribution_version_and_capabilities(tmp_path):
    result = hub_cmd(["plugins"], tmp_path)
    assert result.returncode == 0, result.stderr
    line = next(row for row in result.stdout.splitlines() if row.startswith("testplugin"))
    assert "crm-hub-testplugin" in line and "0.0.1" in line and "enabled" in line and "calendar" in line


def test_plugins_prints_a_header_row(tmp_path):
    result = hub_cmd(["plugins"], tmp_path)
    assert result.returncode == 0, result.stderr
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["NAME", "DISTRIBUTION", "VERSION", "STATUS", "CAPABILITIES"]
    [row] = [r for r in rows if r.startswith("testplugin ")]
    assert header.index("VERSION") == row.index("0.0.1"), "the columns line up under the header"
    assert header.index("STATUS") == row.index("enabled")


def test_plugins_makes_no_instance_folder(tmp_path):
    """Listing plugins only reads: no ./instance, keys or database appear where it is run."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env["HUB_LOAD_PLUGINS"] = "testplugin"
    result = subprocess.run([sys.executable, "-m", "hub.cli", "plugins"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "testplugin" in result.stdout
    assert list(tmp_path.iterdir()) == [], "hub plugins wrote files"


def test_plugins_shows_providers_an_administrator_disabled(tmp_path):
    assert hub_cmd(["init"], tmp_path).returncode == 0
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO provider_settings (name, enabled, config, updated_at) "
                             "VALUES ('testplugin', 0, NULL, '2026-01-01 00:00:00')"))
    result = hub_cmd(["plugins"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert next(row for row in result.stdout.splitlines() if row.startswith("testplugin")).split()[3] == "disabled"


def test_bad_database_url_is_a_clear_error(tmp_path):
    result = hub_cmd(["init"], tmp_path, {"HUB_DATABASE_URL": "nosuchdb://x"})
    assert result.returncode == 2
    assert "database URL is not valid" in result.stderr and "Traceback" not in result.stderr


def test_unreachable_database_is_a_clear_error(tmp_path):
    port = free_port()
    result = hub_cmd(["init"], tmp_path, {"HUB_DATABASE_URL": f"postgresql://nobody@127.0.0.1:{port}/x"})
    assert result.returncode == 2
    assert "Cannot connect to the database" in result.stderr and "Traceback" not in result.stderr


def test_unreachable_redis_is_a_clear_error(tmp_path):
    assert hub_cmd(["init"], tmp_path).returncode == 0
    result = hub_cmd(["worker", "--burst"], tmp_path, {"HUB_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"})
    assert result.returncode == 2
    assert "Cannot reach Redis" in result.stderr and "HUB_REDIS_URL" in result.stderr


def test_missing_key_is_a_clear_error(tmp_path):
    result = hub_cmd(["worker", "--burst"], tmp_path)  # no `hub init`, no HUB_KEYS
    assert result.returncode == 2
    assert "No encryption key" in result.stderr and "hub init" in result.stderr


def test_rotate_keys_replaces_the_key_and_keeps_secrets_readable(tmp_path):
    assert hub_cmd(["init"], tmp_path).returncode == 0
    old_key = (tmp_path / "keys").read_text()
    from hub import crypto

    ring = crypto.KeyRing(crypto.parse_keys(old_key.strip()))
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO provider_settings (name, enabled, config, updated_at) "
                             "VALUES ('google', 1, :c, '2026-01-01 00:00:00')"),
                     {"c": ring.encrypt_json({"client_secret": "s3"})})
    result = hub_cmd(["rotate-keys"], tmp_path)
    assert result.returncode == 0, result.stderr
    new_ring = crypto.KeyRing(crypto.parse_keys((tmp_path / "keys").read_text().strip()))
    assert new_ring.current.id != ring.current.id and len(new_ring.keys) == 1
    with engine.connect() as conn:
        token = bytes(conn.execute(sa.text("SELECT config FROM provider_settings")).scalar_one())
    assert new_ring.decrypt_json(token) == {"client_secret": "s3"}


def test_serve_answers_with_sqlite_and_embedded_redis(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update({"HUB_INSTANCE_PATH": str(tmp_path), "HUB_LOAD_PLUGINS": "testplugin"})
    proc = subprocess.Popen([sys.executable, "-m", "hub.cli", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_port(port, timeout=60, proc=proc)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
            assert response.status == 200 and b'"status":"ok"' in response.read().replace(b" ", b"")
        assert (tmp_path / "hub.db").exists() and (tmp_path / "redis.sock").exists()
    finally:
        proc.terminate()
        output = proc.communicate(timeout=30)[0]
    assert "serving on" in output
    wait_until(lambda: not (tmp_path / "redis.sock").exists(), what="the embedded Redis to stop with serve")


def _workers_of(pid: int) -> list[int]:
    """Pids of the `hub worker` children of process ``pid``."""
    from pathlib import Path

    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
            cmdline = (status.parent / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if fields.get("PPid", "").strip() == str(pid) and b"worker" in cmdline and b"hub.cli" in cmdline:
            found.append(int(status.parent.name))
    return found


def test_serve_starts_a_killed_worker_again(tmp_path):
    """One dead worker (OOM killer, crash) must not stop every sync on a one-machine install."""
    import signal

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update({"HUB_INSTANCE_PATH": str(tmp_path), "HUB_LOAD_PLUGINS": "testplugin"})
    proc = subprocess.Popen([sys.executable, "-m", "hub.cli", "serve", "--port", str(port), "--workers", "1"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_port(port, timeout=60, proc=proc)
        # the children start once the web server listens
        [first] = wait_until(lambda: _workers_of(proc.pid), what="serve's worker")
        os.kill(first, signal.SIGKILL)
        wait_until(lambda: [p for p in _workers_of(proc.pid) if p != first], what="a new worker after the kill")
    finally:
        proc.terminate()
        output = proc.communicate(timeout=30)[0]
    assert "hub worker" in output and "starting it again" in output
