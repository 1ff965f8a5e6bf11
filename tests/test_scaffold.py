"""``hub new-provider`` (:func:`hub.scaffold.create_provider`) writes a package that installs, passes
the conformance suite out of the box and is discovered through its entry point — checked by running
the shell commands of docs/writing-a-provider.md exactly as written, and for ``--read-only`` and
``--mail-only`` the same way. Each kind's generated suite also runs straight from the generated
folder (on ``PYTHONPATH``, nothing installed), where only capability skips are allowed.

The package is installed for real with pip into a fresh virtualenv of its own, so the test
environment is never touched. That virtualenv sees this environment's packages (the hub, pytest)
through a ``.pth`` file — ``--system-site-packages`` would expose the base interpreter's packages,
not this virtualenv's. pip builds the package in its usual isolated build environment (setuptools
from the package index).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
import xml.etree.ElementTree as ET
from importlib import metadata
from pathlib import Path

import pytest

from hub.exceptions import ValidationError
from hub.scaffold import create_provider

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "writing-a-provider.md"

#: the guide's commands, run with the fresh virtualenv's interpreter (it has no console scripts of its own)
COMMANDS = {"hub": ["-m", "hub.cli"], "pip": ["-m", "pip"], "pytest": ["-m", "pytest"]}


def guide_commands() -> list[str]:
    """Every line of the ``sh`` blocks of docs/writing-a-provider.md, in order."""
    blocks = re.findall(r"^```sh\n(.*?)^```$", GUIDE.read_text(encoding="utf-8"), flags=re.M | re.S)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def run(args: list, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{' '.join(map(str, args))} failed:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture
def scaffold_env(tmp_path):
    """A fresh virtualenv that also sees this environment's site-packages; returns (python, env)."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    # addsitedir (not a bare path) so the .pth files there — the hub's editable install — are processed
    Path(purelib, "test_env.pth").write_text(f"import site; site.addsitedir({sysconfig.get_paths()['purelib']!r})\n")
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTEST_ADDOPTS"}}
    env.update(
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PYTHONNOUSERSITE="1",
        # as in an environment holding just the hub and this package: crm-hub's pytest plugin only,
        # and `hub plugins` loads only acme (other plugins of the test environment stay out of it)
        PYTEST_DISABLE_PLUGIN_AUTOLOAD="1",
        PYTEST_PLUGINS="hub.testing.plugin",
        HUB_LOAD_PLUGINS="acme",
        HUB_INSTANCE_PATH=str(tmp_path / "instance"),
    )
    return python, env


def test_the_guide_walkthrough_installs_a_provider_that_passes_its_suite_and_is_listed(tmp_path, scaffold_env):
    python, env = scaffold_env
    commands = guide_commands()
    assert [c.split()[0] for c in commands] == ["hub", "cd", "pip", "pytest", "hub"], commands
    cwd = tmp_path / "work"
    cwd.mkdir()
    outputs = {}
    for command in commands:
        program, *args = command.split()
        if program == "cd":
            cwd = cwd / args[0]
            continue
        outputs[command] = run([python, *COMMANDS[program], *args], cwd, env).stdout

    assert (tmp_path / "work" / "crm-hub-acme" / "hub_acme" / "hooks.py").is_file()
    summary = outputs["pytest"].strip().splitlines()[-1]
    counts = {word: int(n) for n, word in re.findall(r"(\d+) (\w+)", summary)}
    assert set(counts) <= {"passed", "skipped", "warning", "warnings"}, summary  # no failed, no error
    assert counts["passed"] >= 6 and counts["passed"] + counts.get("skipped", 0) >= 20, summary

    listed = [line.split() for line in outputs["hub plugins"].splitlines()]
    assert ["acme", "crm-hub-acme", "0.1.0", "enabled", "-"] in listed, outputs["hub plugins"]

    with pytest.raises(metadata.PackageNotFoundError):  # the test environment itself stayed clean
        metadata.distribution("crm-hub-acme")


#: kind -> (the capabilities it declares, suite tests that must pass for it)
KINDS = {
    "default": (set(), {"test_connect_with_good_credentials", "test_capabilities_match_flags"}),
    "read-only": ({"calendar_read"}, {"test_list_calendars", "test_full_then_incremental_fetch",
                                      "test_recurring_series_written_elsewhere", "test_all_day_event_written_elsewhere"}),
    "mail-only": ({"mail"}, {"test_mail_paging_then_only_new_mail"}),
}
#: skip reasons that name a capability flag (ProviderTests._skip_by_capability)
CAPABILITY_FLAGS = {"calendar_read", "calendar_write", "free_busy", "mail", "send", "push", "video", "server_cursors"}


def run_generated_suite(package: Path, tmp_path: Path) -> dict[str, tuple[str, str]]:
    """Run the package's own tests with this environment's Python, the package only on PYTHONPATH.

    :return: test name -> (outcome, skip reason).
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "PYTEST_"))}
    env.update(PYTHONPATH=str(package), PYTEST_DISABLE_PLUGIN_AUTOLOAD="1", PYTEST_PLUGINS="hub.testing.plugin")
    report = tmp_path / "report.xml"
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}"],
                          cwd=package, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"the generated suite failed:\n{done.stdout}\n{done.stderr}"
    outcomes = {}
    for case in ET.parse(report).iter("testcase"):
        skipped = case.find("skipped")
        outcomes[case.get("name")] = ("skipped", skipped.get("message", "")) if skipped is not None else ("passed", "")
        assert case.find("failure") is None and case.find("error") is None, case.get("name")
    return outcomes


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_kind_passes_its_conformance_suite_with_only_capability_skips(tmp_path, kind):
    declared, must_pass = KINDS[kind]
    package = create_provider("acme", tmp_path / "src", kind=kind)
    outcomes = run_generated_suite(package, tmp_path)

    assert len(outcomes) >= 20, sorted(outcomes)
    passed = {name for name, (outcome, _) in outcomes.items() if outcome == "passed"}
    assert must_pass <= passed, sorted(must_pass - passed)
    for name, (outcome, reason) in outcomes.items():
        if outcome == "skipped":
            match = re.fullmatch(r"acme does not have (\w+)", reason)
            assert match and match.group(1) in CAPABILITY_FLAGS - declared, f"{name} skipped: {reason!r}"

    probe = "import hub_acme.hooks as h; print(sorted(h.CAPABILITIES))"
    shown = subprocess.run([sys.executable, "-c", probe], env={**os.environ, "PYTHONPATH": str(package)},
                           capture_output=True, text=True, check=True, timeout=60).stdout
    assert shown.strip() == str(sorted(declared))


def test_the_kinds_differ_only_where_they_must(tmp_path):
    """The default kind writes no placeholder service; the others add one and keep the common files."""
    written = {}
    for kind in KINDS:
        package = create_provider("acme", tmp_path / kind, kind=kind)
        written[kind] = {p.relative_to(package).as_posix(): p.read_text() for p in package.rglob("*") if p.is_file()}
    assert "hub_acme/service.py" not in written["default"]
    for kind in ("read-only", "mail-only"):
        assert set(written[kind]) == set(written["default"]) | {"hub_acme/service.py"}
        for same in ("setup.cfg", "pyproject.toml", "README.md", "hub_acme/__init__.py"):
            assert written[kind][same] == written["default"][same]
    assert "test =\n    pytest>=8\n    crm-hub[testkit]\n" in written["default"]["setup.cfg"]


def test_the_test_extra_names_pytest_and_the_kit_the_hub_offers():
    extras = metadata.metadata("crm-hub").get_all("Provides-Extra")
    assert "testkit" in extras
    kit = [r for r in metadata.requires("crm-hub") if 'extra == "testkit"' in r]
    assert any(r.startswith("pytest") for r in kit) and any(r.startswith("pymap") for r in kit)


def test_new_provider_command_takes_the_kind_flags(tmp_path):
    from click.testing import CliRunner

    from hub.cli import main

    runner = CliRunner()
    result = runner.invoke(main, ["new-provider", "acme", "--read-only", "--dest", str(tmp_path), "--label", "Acme Cal"])
    assert result.exit_code == 0, result.output
    hooks = (tmp_path / "crm-hub-acme" / "hub_acme" / "hooks.py").read_text()
    assert "frozenset({CALENDAR_READ})" in hooks and 'label="Acme Cal"' in hooks

    both = runner.invoke(main, ["new-provider", "other", "--read-only", "--mail-only", "--dest", str(tmp_path)])
    assert both.exit_code == 2 and "not both" in both.output
    assert not (tmp_path / "crm-hub-other").exists()


def test_a_read_only_provider_installs_is_listed_and_passes_its_suite(tmp_path, scaffold_env):
    """The issue's acceptance: ``hub new-provider NAME --read-only``, then the guide's own steps."""
    python, env = scaffold_env
    run([python, "-m", "hub.cli", "new-provider", "acme", "--read-only"], tmp_path, env)
    package = tmp_path / "crm-hub-acme"
    run([python, "-m", "pip", "install", "--quiet", "-e", ".[test]"], package, env)
    summary = run([python, "-m", "pytest", "-p", "no:cacheprovider"], package, env).stdout.strip().splitlines()[-1]
    counts = {word: int(n) for n, word in re.findall(r"(\d+) (\w+)", summary)}
    assert set(counts) <= {"passed", "skipped", "warning", "warnings"} and counts["passed"] >= 10, summary

    listed = [line.split() for line in run([python, "-m", "hub.cli", "plugins"], package, env).stdout.splitlines()]
    assert ["acme", "crm-hub-acme", "0.1.0", "enabled", "calendar_read"] in listed, listed


def test_a_regular_install_is_discovered_through_its_entry_point(tmp_path, scaffold_env):
    """Installed like a published package (not editable), the plugin is found through ``crm_hub``."""
    python, env = scaffold_env
    package = create_provider("acme", tmp_path)
    run([python, "-m", "pip", "install", "--quiet", "--no-deps", package], tmp_path, env)
    probe = ("import json; from hub.plugins import PluginManager; pm = PluginManager(); pm.load('acme'); "
             "print(json.dumps([[r.name, r.distribution, r.version, r.enabled] for r in pm.records()]))")
    records = json.loads(run([python, "-c", probe], tmp_path, env).stdout)
    assert ["acme", "crm-hub-acme", "0.1.0", True] in records


def test_create_provider_refuses_bad_names_and_existing_folders(tmp_path):
    for name in ("", "Acme", "1acme", "acme-corp", "a", "acme/../x"):
        with pytest.raises(ValidationError) as caught:
            create_provider(name, tmp_path)
        assert caught.value.fix and caught.value.field == "name"
    with pytest.raises(ValidationError) as caught:
        create_provider("acme", tmp_path, label='Acme "Corp"')
    assert caught.value.field == "label"
    assert not list(tmp_path.iterdir()), "nothing is written for a refused name"

    create_provider("acme", tmp_path)
    before = (tmp_path / "crm-hub-acme" / "hub_acme" / "hooks.py").read_text()
    with pytest.raises(ValidationError):
        create_provider("acme", tmp_path)  # never overwrites someone's work
    assert (tmp_path / "crm-hub-acme" / "hub_acme" / "hooks.py").read_text() == before


def test_names_and_labels_flow_into_every_file(tmp_path):
    package = create_provider("big_corp", tmp_path, label="Big Corp Mail")
    assert package.name == "crm-hub-big-corp"
    assert "name = crm-hub-big-corp\n" in (package / "setup.cfg").read_text()
    assert "big_corp = hub_big_corp.hooks" in (package / "setup.cfg").read_text()
    hooks = (package / "hub_big_corp" / "hooks.py").read_text()
    assert 'NAME = "big_corp"' in hooks and 'label="Big Corp Mail"' in hooks
    assert "class TestBigCorp(ProviderTests):" in (package / "tests" / "test_conformance.py").read_text()
    for path in package.rglob("*.py"):
        compile(path.read_text(), str(path), "exec")
