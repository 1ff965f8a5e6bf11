"""The docs are checked against the code, so they cannot drift (datasette's test_docs pattern).

* docs/hooks.md is rendered from the hookspec docstrings (``hub docs``) and is what they render to
  today; every docstring states the contract (caller, retries, threads, limits, parameters, result,
  errors, and what each field of the result type makes the hub do);
* docs/hooks.md has one ``## hub_<name>`` heading per hook with its exact signature and kind;
* every hook has a ``test_hook_<name>`` test somewhere under tests/;
* docs/writing-a-provider.md shows exactly the files ``hub new-provider`` writes, quotes
  MemoryProvider verbatim, and its self-contained examples run.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import pkgutil
import re
import textwrap
import typing
from pathlib import Path

import pytest
from click.testing import CliRunner

from hub import cli, hookdocs, hookspecs, types
from hub.scaffold import create_provider

ROOT = Path(__file__).resolve().parent.parent
HOOKS_MD = (ROOT / "docs" / "hooks.md").read_text(encoding="utf-8")
GUIDE_MD = (ROOT / "docs" / "writing-a-provider.md").read_text(encoding="utf-8")
HOOKS = {name: fn for name, fn in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("hub_")}


def signature_text(fn) -> str:
    """``hub_x(a: T, b: U) -> R`` as written in hookspecs.py (annotations are strings there)."""
    sig = inspect.signature(fn)

    def text(annotation):
        return annotation if isinstance(annotation, str) else inspect.formatannotation(annotation)

    params = ", ".join(f"{p.name}: {text(p.annotation)}" for p in sig.parameters.values())
    return f"{fn.__name__}({params}) -> {text(sig.return_annotation)}"


def sections(markdown: str) -> dict[str, str]:
    """``## heading`` -> the text under it, up to the next level-2 heading."""
    parts = re.split(r"^## (.+)$", markdown, flags=re.M)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts), 2)}


def fenced(text: str) -> list[tuple[str, str]]:
    """``(language, code)`` of every fenced block, dedented (blocks may sit inside list items)."""
    return [(lang, textwrap.dedent(code)) for lang, code in
            re.findall(r"^ *```(\w*)\n(.*?)^ *```$", text, flags=re.M | re.S)]


def labelled_blocks(text: str, label: str) -> list[tuple[str, str]]:
    """``(path, code)`` of every fenced block right after a line matching ``label`` (a regex with one group)."""
    pattern = rf"^ *{label}\n\n( *)```\w*\n(.*?)^ *```$"
    return [(path, "".join(line.removeprefix(indent) for line in code.splitlines(keepends=True)))
            for path, indent, code in re.findall(pattern, text, flags=re.M | re.S)]


# --- hooks.md -------------------------------------------------------------------------------------


def test_hooks_md_is_what_the_hookspecs_render():
    """CI runs this: a docstring edited without running ``hub docs`` (or the page edited by hand) fails."""
    assert HOOKS_MD == hookdocs.render(), "docs/hooks.md is out of date with hub/hookspecs.py: run `hub docs`"


def test_hub_docs_writes_the_page_and_check_fails_on_drift(tmp_path):
    page = tmp_path / "hooks.md"
    page.write_text(HOOKS_MD.replace("first result", "first answer", 1), encoding="utf-8")
    runner = CliRunner()

    stale = runner.invoke(cli.main, ["docs", "--check", "--path", str(page)])
    assert stale.exit_code == 1 and "out of date" in stale.output
    assert page.read_text(encoding="utf-8") != hookdocs.render(), "--check only compares"

    assert runner.invoke(cli.main, ["docs", "--path", str(page)]).exit_code == 0
    assert page.read_text(encoding="utf-8") == hookdocs.render()
    current = runner.invoke(cli.main, ["docs", "--check", "--path", str(page)])
    assert current.exit_code == 0, current.output


def test_the_page_follows_the_source_order_and_renders_the_fields():
    headings = [h for h in sections(HOOKS_MD) if h.startswith("hub_")]
    assert headings == [fn.__name__ for fn in hookdocs.hooks()]
    assert headings[0] == "hub_register_providers" and headings[-1] == "hub_sync_finished"
    fetch = sections(HOOKS_MD)["hub_fetch_events"]
    assert "- `cursor` — `None` for a full sync" in fetch
    assert "- `CursorExpired` — the cursor is too old" in fetch
    assert ":param" not in HOOKS_MD and ":raises" not in HOOKS_MD
    assert not re.search(r"(?<!`)``(?!`)|:class:|:func:", HOOKS_MD), "reStructuredText left in the page"


@pytest.mark.parametrize("name", sorted(HOOKS))
def test_every_hookspec_docstring_states_the_contract(name):
    doc = HOOKS[name].__doc__
    for label in ("**Caller:**", "**Retries:**", "**Threads:**", "**Limits:**"):
        assert label in doc, f"{name}'s docstring does not say {label}"
    for param in inspect.signature(HOOKS[name]).parameters:
        assert f":param {param}:" in doc, f"{name}'s docstring does not describe {param}"
    assert ":return:" in doc and ":raises" in doc, name


@pytest.mark.parametrize("name", sorted(HOOKS))
def test_every_field_of_a_hooks_result_type_is_explained(name):
    """What each field of the answer makes the hub do (``access_role``, ``is_primary``, ``email`` …)."""
    answer = typing.get_type_hints(HOOKS[name]).get("return")
    answers = [a for a in typing.get_args(answer) if a is not type(None)] or [answer]
    answers = [typing.get_args(a)[0] if typing.get_origin(a) is list else a for a in answers]
    result_types = [a for a in answers if dataclasses.is_dataclass(a)]
    if name == "hub_register_providers":
        result_types = [types.ProviderInfo]  # what it hands the hub is what it registers
    for result_type in result_types:
        for f in dataclasses.fields(result_type):
            assert f"``{f.name}``" in HOOKS[name].__doc__, f"{name} does not say what {result_type.__name__}.{f.name} does"


def test_the_docs_no_longer_ask_for_ownership_checks():
    """Contract v2: the core calls a per-account hook on the account's own provider only."""
    text = " ".join((HOOKS_MD + GUIDE_MD).split())
    assert not re.search(r"returns? `?None`? (when|unless) .{0,80}(not (this plugin|your provider)|is mine)", text, re.I)
    assert "on the account's own provider only" in sections(HOOKS_MD)["hub_list_calendars"]


@pytest.mark.parametrize("name", sorted(HOOKS))
def test_every_hook_has_a_heading_with_its_exact_signature(name):
    documented = sections(HOOKS_MD)
    assert name in documented, f"docs/hooks.md has no '## {name}' heading"
    blocks = fenced(documented[name])
    assert blocks, f"'## {name}' has no code block with the signature"
    assert blocks[0][1].strip() == signature_text(HOOKS[name])


@pytest.mark.parametrize("name", sorted(HOOKS))
def test_every_hook_says_whether_it_is_first_result_or_broadcast(name):
    firstresult = getattr(HOOKS[name], f"{hookspecs.PROJECT_NAME}_spec")["firstresult"]
    expected = "**Kind:** first result." if firstresult else "**Kind:** broadcast."
    assert expected in sections(HOOKS_MD)[name]


def test_no_heading_documents_a_hook_that_does_not_exist():
    documented = {h for h in sections(HOOKS_MD) if h.startswith("hub_")}
    assert documented == set(HOOKS), f"stale headings: {sorted(documented - set(HOOKS))}"


def test_every_hook_has_a_test():
    tests = set()
    for path in (ROOT / "tests").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        tests |= {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    missing = [name for name in HOOKS if f"test_hook_{name}" not in tests]
    assert not missing, f"hooks without a test_hook_<name> test: {missing}"


# --- writing-a-provider.md -------------------------------------------------------------------------


def test_the_guide_shows_exactly_what_the_scaffold_writes(tmp_path):
    shown = dict(labelled_blocks(GUIDE_MD, r"\*\*`crm-hub-acme/(.+?)`\*\*"))
    package = create_provider("acme", tmp_path)
    written = {p.relative_to(package).as_posix(): p.read_text(encoding="utf-8")
               for p in package.rglob("*") if p.is_file()}
    assert set(shown) == set(written), "the guide must show every file the scaffold writes, and only those"
    for path, content in written.items():
        assert shown[path] == content, f"docs/writing-a-provider.md differs from the scaffold in {path}"


def test_quoted_code_is_the_real_code():
    quotes = labelled_blocks(GUIDE_MD, r"From `(.+?)`:")
    assert len(quotes) >= 4
    for path, code in quotes:
        source = (ROOT / path).read_text(encoding="utf-8")
        assert any(textwrap.indent(code, " " * n) in source for n in (0, 4, 8, 12)), (
            f"a snippet in docs/writing-a-provider.md is no longer in {path}:\n{code}"
        )


def test_python_examples_compile_and_self_contained_ones_run():
    quoted = {code for _path, code in labelled_blocks(GUIDE_MD, r"From `(.+?)`:")}  # fragments of real code
    blocks = [code for lang, code in fenced(GUIDE_MD) if lang == "python" and code not in quoted]
    assert blocks
    ran = 0
    for code in blocks:
        compile(code, "<writing-a-provider.md>", "exec")
        if code.startswith(("from ", "import ")) and "hookimpl" not in code and "ProviderTests" not in code:
            exec(code, {})
            ran += 1
    assert ran >= 1, "the MemoryProvider knobs example runs"


def test_the_guide_names_every_capability_hook_and_error():
    from hub import exceptions, types

    for name in HOOKS:
        if name not in {"hub_account_connected", "hub_sync_finished"}:
            assert f"`{name}`" in GUIDE_MD, name
    for capability in types.ALL_CAPABILITIES:
        assert f"`{capability.upper()}`" in GUIDE_MD, capability
    for error in ("AuthenticationFailed", "AuthExpired", "RateLimited", "ProviderUnavailable", "CursorExpired",
                  "WrongEtag", "NotFound", "NotSupported", "WebhookRejected", "ConnectFailed", "HostNotAllowed"):
        assert hasattr(exceptions, error) and f"`{error}" in GUIDE_MD, error


def test_fixtures_the_guide_names_exist():
    """The guide's list of hub.testing fixtures names real fixtures."""
    from hub.testing import fixtures, peers

    modules = [fixtures] + [importlib.import_module(f"hub.testing.peers.{m.name}")
                            for m in pkgutil.iter_modules(peers.__path__)]
    defined = {name for module in modules for name in dir(module)}
    sentence = GUIDE_MD[GUIDE_MD.index("has fixtures that start real servers"):GUIDE_MD.index("for tests that need the hub")]
    named = re.findall(r"`(\w+)`", sentence)
    assert len(named) >= 10
    assert not [n for n in named if n not in defined], named
