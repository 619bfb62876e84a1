"""The size limits of labs/ and grader/: modules under 400 lines, functions under 60.

Why: a module that outgrows 400 lines has usually taken a second job, and a function over 60
lines is one nobody reads in a single screen; both were found by hand before (issue 10). Every
``def`` counts, methods and nested functions too, from its ``def`` line to its last line.
Import cycles and modules loaded by a string are checked in test_import_structure.py.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("labs", "grader")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def _sources() -> dict[str, str]:
    return {str(p.relative_to(ROOT)): p.read_text() for top in PACKAGES for p in sorted((ROOT / top).rglob("*.py"))}


def long_modules(sources: dict[str, str]) -> list[str]:
    return [f"{path}: {len(text.splitlines())} lines" for path, text in sources.items()
            if len(text.splitlines()) > MAX_MODULE_LINES]


def long_functions(sources: dict[str, str]) -> list[str]:
    """``path:line name: N lines`` of each function over the limit, in file and line order."""
    found = []
    for path, text in sources.items():
        defs = [n for n in ast.walk(ast.parse(text)) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
        for node in sorted(defs, key=lambda n: n.lineno):
            lines = node.end_lineno - node.lineno + 1
            if lines > MAX_FUNCTION_LINES:
                found.append(f"{path}:{node.lineno} {node.name}: {lines} lines")
    return found


def _body(indent: int, lines: int) -> str:
    return "".join(f"{' ' * indent}x{i} = {i}\n" for i in range(lines))


def test_the_limits_see_long_modules_methods_and_nested_functions():
    at_limit = MAX_FUNCTION_LINES - 1   # the def line makes it exactly the limit
    source = (f"class C:\n    def method(self):\n{_body(8, MAX_FUNCTION_LINES)}"
              f"def outer():\n    async def inner():\n{_body(8, MAX_FUNCTION_LINES)}"
              f"def fits():\n{_body(4, at_limit)}")
    assert [f.split(" ")[1] for f in long_functions({"m.py": source})] == ["method:", "outer:", "inner:"]
    assert long_modules({"m.py": "\n" * MAX_MODULE_LINES, "n.py": "\n" * (MAX_MODULE_LINES + 1)}) == \
        [f"n.py: {MAX_MODULE_LINES + 1} lines"]


def test_no_module_over_400_lines():
    assert long_modules(_sources()) == [], "split the module along its seams, one job each"


def test_no_function_over_60_lines():
    assert long_functions(_sources()) == [], "split the function into small named steps"
