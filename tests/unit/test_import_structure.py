"""The import graph of labs/ and grader/: no cycles, no course module loaded by a string.

Every import counts, also one inside a function (imported late to keep the slow Kubernetes
client off the start-up path, it is still a dependency), and importing a submodule counts as
importing its package too, because Python runs the package's ``__init__`` first.
"""
from __future__ import annotations

import ast
import functools
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("labs", "grader")
#: The exercise registry finds grader/exercises/ex*.py by listing its folder (adding an exercise
#: is adding a file); nothing imports those modules by name, so no dependency is hidden.
DISCOVERY = {"grader.exercises"}


@functools.cache
def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text())


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for top in PACKAGES for p in (ROOT / top).rglob("*.py")}


def _imported(node: ast.AST, module: str, is_package: bool) -> list[str]:
    """Module names an import statement loads (``from a import b`` may load ``a.b``)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    base = node.module or ""
    if node.level:
        anchor = module.split(".")
        anchor = anchor[:len(anchor) - node.level + (1 if is_package else 0)]
        base = ".".join(anchor + ([node.module] if node.module else []))
    return [base] + [f"{base}.{alias.name}" for alias in node.names]


def import_graph() -> dict[str, set[str]]:
    """Course module -> the course modules it imports (and the packages those sit in)."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges = set()
        for node in ast.walk(_tree(path)):
            for target in _imported(node, name, path.name == "__init__.py"):
                parts = target.split(".")
                edges |= {".".join(parts[:i]) for i in range(1, len(parts) + 1)} & modules.keys()
        graph[name] = edges - {name} - {p for p in _parents(name)}
    return graph


def _parents(name: str) -> set[str]:
    parts = name.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


@functools.cache
def import_graph_once() -> dict[str, set[str]]:
    return import_graph()


def test_the_graph_sees_imports_inside_functions_and_relative_ones():
    graph = import_graph_once()
    assert "labs.kube" in graph["labs.pods"] and "labs.pod_status" in graph["labs.pods"]
    assert "labs.pods" in graph["labs.pod_audit"]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles():
    assert cycles(import_graph_once()) == []


#: Calls that load a module named by a string or a path (importlib, and runpy's two runners).
STRING_LOADERS = ("import_module", "__import__", "spec_from_file_location", "exec_module", "run_module", "run_path")


def test_no_course_module_is_imported_by_a_string():
    loaders = []
    for name, path in _modules().items():
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.Call):
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if called in STRING_LOADERS and name not in DISCOVERY:
                    loaders.append(f"{name}:{node.lineno}")
    assert loaders == [], "import course modules with an import statement, so the dependency is visible"
