"""The plugin installs from this checkout alone: ``pip install plugins/icloud`` with nothing from an index.

The sibling plugins it builds on (crm-hub-imap, crm-hub-caldav) are not on any index; its setup.py
names them by their folders here until they are installed (plugins/sibling_requirements.py), and
``dev.py`` installs them first so its editable installs stay editable.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PLUGINS = ROOT / "plugins"


def load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def clean_env() -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}, "PYTHONNOUSERSITE": "1"}


@pytest.fixture
def fresh_venv(tmp_path) -> Path:
    """A new virtualenv holding nothing but pip."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300, env=clean_env())
    return venv / "bin" / "python"


def requirements_seen_by(python: Path | str) -> list[str]:
    probe = (f"import sys; from pathlib import Path; sys.path.insert(0, {str(PLUGINS)!r}); "
             "from sibling_requirements import install_requires; "
             f"print('\\n'.join(install_requires(Path({str(PLUGINS / 'icloud')!r}))))")
    done = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, timeout=120, env=clean_env())
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_siblings_not_installed_are_named_by_their_folders(fresh_venv):
    assert requirements_seen_by(fresh_venv) == [
        "crm-hub", f"crm-hub-imap @ {(PLUGINS / 'imap').as_uri()}", f"crm-hub-caldav @ {(PLUGINS / 'caldav').as_uri()}",
    ]


def test_installed_siblings_keep_their_bare_names():
    """Here (the test environment) both are installed editable: a direct reference would replace them."""
    assert requirements_seen_by(sys.executable) == ["crm-hub", "crm-hub-imap", "crm-hub-caldav"]


def test_dev_py_installs_the_plugins_others_build_on_first():
    waves = [[p.name for p in wave] for wave in load("dev", ROOT / "dev.py").plugin_waves()]
    first = {name for name in waves[0]}
    assert {"caldav", "imap"} <= first and "icloud" not in first
    assert any("icloud" in wave for wave in waves[1:]) and any("ics" in wave for wave in waves[1:])


@pytest.mark.slow
def test_pip_resolves_the_plugin_in_a_fresh_venv_from_the_checkout(fresh_venv, tmp_path):
    """The real resolver, as `pip install . plugins/icloud` in a new venv would run it (a dry run: ~1–2 min,
    the hub's own dependencies come from the configured index)."""
    report = tmp_path / "report.json"
    done = subprocess.run([str(fresh_venv), "-m", "pip", "install", "--dry-run", "--quiet", "--report", str(report),
                           str(ROOT), str(PLUGINS / "icloud")], capture_output=True, text=True, timeout=1200,
                          env=clean_env())
    assert done.returncode == 0, done.stderr[-2000:]
    installs = json.loads(report.read_text())["install"]
    sources = {item["metadata"]["name"]: item["download_info"]["url"] for item in installs}
    assert sources["crm-hub-icloud"] == (PLUGINS / "icloud").as_uri()
    assert sources["crm-hub-imap"] == (PLUGINS / "imap").as_uri()
    assert sources["crm-hub-caldav"] == (PLUGINS / "caldav").as_uri()
