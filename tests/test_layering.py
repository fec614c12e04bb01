"""Layers point one way, read from the source (ast), not from what happens to be imported.

The four folders install as ``splitbrain.models``, ``splitbrain.properties``,
``splitbrain.traces`` and ``splitbrain.checker``. Models and properties state
protocols and what must hold; traces are data; only the checker explores
(README "Layout", DESIGN.md "Layers point one way"). So nothing under models/,
properties/ or traces/ imports the checker, and no module imports itself
through a chain of module-level imports. Every import counts, also one inside
a function; text in a docstring (a usage example) is not an import.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("models", "properties", "traces", "checker")

# (importer, imported): the layer below must not know the one above.
FORBIDDEN = [("properties", "checker"), ("models", "checker"), ("traces", "checker")]


def module_name(path: Path) -> str:
    """``checker/induction.py`` -> ``splitbrain.checker.induction`` (a package's ``__init__`` -> the package)."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(["splitbrain", *parts])


def source_files() -> dict[str, Path]:
    """Every module of the four packages, by its installed name."""
    return {module_name(f): f for pkg in PACKAGES for f in sorted((ROOT / pkg).rglob("*.py"))}


MODULES = source_files()


def imported(path: Path, top_level_only: bool) -> set[str]:
    """The splitbrain modules ``path`` imports (``from pkg import mod`` names the module ``pkg.mod``)."""
    tree = ast.parse(path.read_text(), str(path))
    if top_level_only:  # what runs on import: the module's statements, also under an if or a try
        nodes = [n for stmt in tree.body if not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                 for n in ast.walk(stmt)]
    else:
        nodes = list(ast.walk(tree))
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import; write splitbrain.{node.module or ''} in full"
            base = node.module or ""
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in MODULES else base)
    return {m for m in found if m == "splitbrain" or m.startswith("splitbrain.")}


def package_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in PACKAGES else None


@functools.cache
def edges_between_packages() -> dict[tuple[str, str], list[str]]:
    """(importer package, imported package) -> the imports that make that edge."""
    out: dict[tuple[str, str], list[str]] = {}
    for name, path in MODULES.items():
        for target in imported(path, top_level_only=False):
            a, b = package_of(name), package_of(target)
            if a and b and a != b:
                out.setdefault((a, b), []).append(f"{path.relative_to(ROOT)} imports {target}")
    return out


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (or a self-import): Tarjan's algorithm."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in graph.get(v, ()):
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


# -- the checks on the source -------------------------------------------------


@pytest.mark.parametrize("importer,imported_package", FORBIDDEN, ids=[f"{a}->{b}" for a, b in FORBIDDEN])
def test_no_import_points_up_to_the_checker(importer, imported_package):
    edges = edges_between_packages()
    assert edges.get((importer, imported_package), []) == []


def test_models_import_of_properties_only_states_properties():
    """Models may state properties (kinds and the protocol properties); they never run a checker of them."""
    stating = ("splitbrain.properties.kinds", "splitbrain.properties.consensus",
               "splitbrain.properties.consistency.property", "splitbrain.properties.partitioning")
    edges = edges_between_packages().get(("models", "properties"), [])
    assert [e for e in edges if not e.endswith(stating)] == []


def test_no_module_imports_itself_through_others():
    graph = {name: {m for m in imported(path, top_level_only=True) if m in MODULES and m != name}
             for name, path in MODULES.items()}
    assert import_cycles(graph) == []


# -- the checks of the checks ---------------------------------------------------


def test_the_source_is_found():
    assert "splitbrain.checker.induction" in MODULES
    assert "splitbrain.properties.proofs" in MODULES  # a package: its __init__.py
    assert "splitbrain.properties.proofs.language" in MODULES
    edges = edges_between_packages()
    assert edges[("checker", "properties")], "the checker judges properties, so this edge exists"


def test_an_import_inside_a_function_counts_and_a_docstring_does_not(tmp_path):
    f = tmp_path / "m.py"
    f.write_text('"""Example::\n\n    from splitbrain.checker.explore import check\n"""\n'
                 "def later():\n    from splitbrain.checker import explore\n")
    assert imported(f, top_level_only=False) == {"splitbrain.checker.explore"}
    assert imported(f, top_level_only=True) == set()


def test_a_cycle_is_found():
    assert import_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert import_cycles({"a": {"a"}}) == [["a"]]
    assert import_cycles({"a": {"b"}, "b": set()}) == []
