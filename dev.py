#!/usr/bin/env python3
"""One-command entry points for a fresh machine with only Python 3.11+ and pip.

    python3 dev.py run     # install into .venv; the first time: `hub demo` (sandboxes, local peers, seeded
                           # users, reset at each start); once ./instance exists: SQLite + embedded Redis +
                           # `hub serve` on it
    python3 dev.py run --real   # leave the demo: create ./instance and serve it (later `run`s serve it too)
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


def plugin_waves() -> list[list[Path]]:
    """The plugins in the order pip can install them editable: those another builds on first.

    A plugin's requirement on a sibling that is not installed yet is a direct reference to the
    sibling's folder (plugins/sibling_requirements.py), and pip refuses that next to an editable
    install of the same sibling in one command.
    """
    sys.path.insert(0, str(ROOT / "plugins"))
    from sibling_requirements import declared, siblings

    local = {name: folder.resolve() for name, folder in siblings().items()}
    needs = {p.resolve(): {local[r] for r in declared(p) if r in local} for p in plugin_dirs()}
    waves: list[list[Path]] = []
    done: set[Path] = set()
    while len(done) < len(needs):
        wave = sorted(p for p in needs if p not in done and needs[p] <= done)
        if not wave:
            sys.exit(f"The plugins build on each other in a circle: {sorted(str(p) for p in needs if p not in done)}")
        waves.append(wave)
        done.update(wave)
    return waves


def install(test: bool) -> None:
    if sys.version_info < (3, 11):
        sys.exit("Python 3.11 or newer is needed.")
    if not PY.exists():
        venv.EnvBuilder(with_pip=True).create(VENV)
    stamp = VENV / (".installed-test" if test else ".installed")
    sources = [ROOT / "setup.cfg", *(p / "setup.cfg" for p in plugin_dirs()), *(ROOT / "plugins").glob("*/setup.py")]
    # the test extras include the demo's, so a fresh test install serves `run` as well
    for done in [stamp] if test else [stamp, VENV / ".installed-test"]:
        if done.exists() and all(s.stat().st_mtime < done.stat().st_mtime for s in sources):
            return
    sh(PY, "-m", "pip", "install", "-q", "--upgrade", "pip")
    for number, wave in enumerate(plugin_waves()):
        targets = ["-e", f"{ROOT}[test]" if test else f"{ROOT}[demo]"] if number == 0 else []
        for plugin in wave:
            extras = test and "[options.extras_require]" in (plugin / "setup.cfg").read_text()
            targets += ["-e", f"{plugin}[test]" if extras else str(plugin)]
        if test and number == 0:
            targets += ["-e", str(ROOT / "tests" / "plugins" / "testplugin")]
        sh(PY, "-m", "pip", "install", "-q", *targets)
    stamp.touch()


def in_real_use(instance: Path) -> bool:
    """Whether the hub is in real use here: a database of its own (the demo keeps its data in ./hub-demo)."""
    return bool(os.environ.get("HUB_DATABASE_URL")) or (instance / "hub.db").exists()


def run(hub_args: list[str]) -> None:
    install(test=False)
    real = "--real" in hub_args
    hub_args = [a for a in hub_args if a != "--real"]
    instance = ROOT / "instance"
    env = {**os.environ, "HUB_INSTANCE_PATH": os.environ.get("HUB_INSTANCE_PATH", str(instance))}
    hub = str(BIN / "hub")
    if not (real or in_real_use(Path(env["HUB_INSTANCE_PATH"])) or os.environ.get("HUB_NO_DEMO")):
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
