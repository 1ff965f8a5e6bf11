"""The module stack, read from the source: no import cycles and no layer importing one above it.

Layers, lowest first (a module may import its own layer and the ones below):

1. core — ``hub.*`` modules not listed below: contract, models, settings, database, plugins, helpers;
2. domain and engines — ``hub.crm``, ``hub.sync``, ``hub.scheduling``, webhook delivery, accounts,
   mail sending and settings, the BCC receiver; they request work through :mod:`hub.work`;
3. orchestration — ``hub.jobs`` (job functions, worker, scheduler, reconciler, listeners);
4. entry points — ``hub.cli``, ``hub.demo``, ``hub.app``, ``hub.supervisor``, ``hub.scaffold``, ``web``.

Every import counts, also one inside a function (those are where cycles hide); only imports under
``if TYPE_CHECKING:`` are left out. The runtime (everything but ``hub.testing``) never imports the
test kit or pytest, and the core never imports a provider plugin.
"""

from __future__ import annotations

import ast
import functools
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

DOMAIN = ("hub.crm", "hub.sync", "hub.scheduling", "hub.events.delivery", "hub.accounts", "hub.sending",
          "hub.mail_settings", "hub.bcc", "hub.key_rotation")
ORCHESTRATION = ("hub.jobs",)
ENTRY = ("hub.cli", "hub.demo", "hub.app", "hub.supervisor", "hub.scaffold", "web")
TEST_KIT = ("hub.testing", "pytest", "_pytest", "hypothesis")


def _within(module: str, prefixes) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def layer(module: str) -> int:
    if _within(module, ENTRY):
        return 4
    if _within(module, ORCHESTRATION):
        return 3
    if _within(module, DOMAIN):
        return 2
    return 1


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports_of(path: Path) -> set[str]:
    """Every module ``path`` imports (absolute names), outside ``if TYPE_CHECKING:`` blocks."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:  # `from hub import jobs` imports the module hub.jobs, not just hub
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in _known_modules() else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(), str(path)))
    return found


@functools.cache
def _known_modules() -> frozenset[str]:
    return frozenset(runtime_modules())


def runtime_modules() -> dict[str, Path]:
    paths = [*ROOT.joinpath("hub").rglob("*.py"), *ROOT.joinpath("web").rglob("*.py")]
    return {_module_name(p): p for p in paths if "migrations" not in p.parts}


def graph() -> dict[str, set[str]]:
    modules = runtime_modules()
    return {name: {m for m in imports_of(path) if m in modules and m != name} for name, path in modules.items()}


def test_every_layer_imports_only_its_own_or_lower_layers():
    upward = sorted(f"{m} (layer {layer(m)}) imports {dep} (layer {layer(dep)})"
                    for m, deps in graph().items() if not _within(m, TEST_KIT)
                    for dep in deps if layer(dep) > layer(m))
    assert upward == []


def test_no_import_cycles_between_modules():
    edges = graph()
    # a package's __init__ importing its own submodules is how packages re-export; not a cycle of ideas
    edges = {m: {d for d in deps if not d.startswith(m + ".")} for m, deps in edges.items()}
    assert _cycles(edges) == []


def test_the_runtime_never_imports_the_test_kit_and_the_core_no_plugin():
    offending = []
    for name, path in runtime_modules().items():
        if _within(name, TEST_KIT):
            continue
        for dep in imports_of(path):
            if _within(dep, TEST_KIT):
                offending.append(f"{name} imports {dep}")
            if dep.startswith("hub_") and layer(name) < 4:
                offending.append(f"{name} imports the plugin {dep}")
    assert offending == []


def test_every_job_a_work_request_names_exists():
    import hub.work

    tree = ast.parse(Path(hub.work.__file__).read_text())
    # each job is named as JOBS + "<function>" (a string RQ stores), so read every such sum
    names = sorted(node.right.value for node in ast.walk(tree) if isinstance(node, ast.BinOp)
                   and isinstance(node.left, ast.Name) and node.left.id == "JOBS"
                   and isinstance(node.right, ast.Constant))
    assert len(names) >= 7, names
    jobs = importlib.import_module(hub.work.JOBS.rstrip("."))
    assert [n for n in names if not callable(getattr(jobs, n, None))] == []


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def connect(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for dep in sorted(edges.get(node, ())):
            if dep not in index:
                connect(dep)
                low[node] = min(low[node], low[dep])
            elif dep in on_stack:
                low[node] = min(low[node], index[dep])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            connect(node)
    return found


@pytest.mark.parametrize("edges, expected", [
    ({"a": {"b"}, "b": {"a"}}, [["a", "b"]]),
    ({"a": {"b"}, "b": set()}, []),
])
def test_the_cycle_finder_finds_a_cycle(edges, expected):
    assert _cycles(edges) == expected
