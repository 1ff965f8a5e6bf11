#!/usr/bin/env python3
"""One-command entry points for a fresh machine with only Python 3.11+ and pip.

    python3 dev.py run     # install into .venv; with no provider configured yet: `hub demo` (sandboxes,
                           # local peers, seeded users); else SQLite + embedded Redis + `hub serve`
    python3 dev.py test    # install with test extras into .venv and run the whole test suite

Everything lands in ./.venv and ./instance; nothing is installed system-wide. Extra arguments after
``test`` go to pytest (``python3 dev.py test -k booking``); after ``run`` to ``hub demo`` or ``hub serve``
(``python3 dev.py run --port 8000``). Ctrl-C stops everything ``run`` started.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"


def sh(*args: str, **kwargs) -> None:
    print("+", " ".join(str(a) for a in args), flush=True)
    subprocess.run([str(a) for a in args], check=True, **kwargs)


def plugin_dirs() -> list[Path]:
    return sorted(p.parent for p in (ROOT / "plugins").glob("*/setup.cfg"))


def install(test: bool) -> None:
    if sys.version_info < (3, 11):
        sys.exit("Python 3.11 or newer is needed.")
    if not PY.exists():
        venv.EnvBuilder(with_pip=True).create(VENV)
    stamp = VENV / (".installed-test" if test else ".installed")
    sources = [ROOT / "setup.cfg", *(p / "setup.cfg" for p in plugin_dirs())]
    # the test extras include the demo's, so a fresh test install serves `run` as well
    for done in [stamp] if test else [stamp, VENV / ".installed-test"]:
        if done.exists() and all(s.stat().st_mtime < done.stat().st_mtime for s in sources):
            return
    sh(PY, "-m", "pip", "install", "-q", "--upgrade", "pip")
    editable: list[str] = []
    targets = ["-e", f"{ROOT}[test]" if test else f"{ROOT}[demo]"]
    for plugin in plugin_dirs():
        targets += ["-e", f"{plugin}[test]" if test and "[options.extras_require]" in (plugin / "setup.cfg").read_text() else str(plugin)]
    if test:
        targets += ["-e", str(ROOT / "tests" / "plugins" / "testplugin")]
    sh(PY, "-m", "pip", "install", "-q", *editable, *targets)
    stamp.touch()


def providers_configured(instance: Path) -> bool:
    """Whether an administrator entered real provider settings (then `run` serves them, not the demo)."""
    import sqlite3

    db = instance / "hub.db"
    if os.environ.get("HUB_DATABASE_URL") or not db.exists():
        return bool(os.environ.get("HUB_DATABASE_URL"))
    try:
        with sqlite3.connect(db) as conn:
            return conn.execute("SELECT count(*) FROM provider_settings WHERE config IS NOT NULL").fetchone()[0] > 0
    except sqlite3.Error:
        return False


def run(hub_args: list[str]) -> None:
    install(test=False)
    instance = ROOT / "instance"
    env = {**os.environ, "HUB_INSTANCE_PATH": os.environ.get("HUB_INSTANCE_PATH", str(instance))}
    hub = str(BIN / "hub")
    if not providers_configured(Path(env["HUB_INSTANCE_PATH"])) and not os.environ.get("HUB_NO_DEMO"):
        os.execve(hub, [hub, "demo", *hub_args], env)  # sandboxes + peers + seeded data, prints URL and logins
    password_file = Path(env["HUB_INSTANCE_PATH"]) / "admin-password"
    password_file.parent.mkdir(parents=True, exist_ok=True)
    if not password_file.exists():
        password_file.write_text(secrets.token_urlsafe(9))
        password_file.chmod(0o600)
    password = password_file.read_text().strip()
    sh(hub, "init", "--admin-email", "admin@example.com", "--admin-password", password, env=env)
    print(f"\nSign in as admin@example.com / {password}\n", flush=True)
    os.execve(hub, [hub, "serve", *hub_args], env)


def test(pytest_args: list[str]) -> None:
    install(test=True)
    os.execv(str(PY), [str(PY), "-m", "pytest", *pytest_args])


if __name__ == "__main__":
    command, *rest = sys.argv[1:] or ["help"]
    if command == "run":
        run(rest)
    elif command == "test":
        test(rest)
    else:
        print(__doc__)
        sys.exit(0 if command == "help" else 2)
