"""labs.names is the one home of the course's labels and node paths: code elsewhere uses it."""
from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

from labs import names

ROOT = Path(__file__).resolve().parents[2]

#: each name's literal text, as other code must no longer spell it
SPELLED = {
    "MANAGED_LABEL_KEY": names.MANAGED_LABEL_KEY,
    "KUBELET_SECCOMP_DIR": names.KUBELET_SECCOMP_DIR,
    "APPARMOR_ANNOTATION_PREFIX": names.APPARMOR_ANNOTATION_PREFIX,
    "POD_SECURITY_ENFORCE_LABEL": names.POD_SECURITY_ENFORCE_LABEL,
    "POD_SECURITY_VERSION_LABEL": names.POD_SECURITY_VERSION_LABEL,
}


@functools.cache
def _code_strings(path: Path) -> tuple[str, ...]:
    """String constants of a module's code (docstrings left out: prose may name a path)."""
    tree = ast.parse(path.read_text())
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    return tuple(node.value for node in ast.walk(tree)
                 if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings)


def _modules() -> list[Path]:
    return sorted(p for top in ("labs", "grader") for p in (ROOT / top).rglob("*.py")
                  if p.relative_to(ROOT).as_posix() != "labs/names.py")


@pytest.mark.parametrize("name", sorted(SPELLED))
def test_no_module_spells_a_name_of_labs_names(name):
    text = SPELLED[name]
    spelled = [p.relative_to(ROOT).as_posix() for p in _modules() if any(text in s for s in _code_strings(p))]
    assert spelled == [], f"use labs.names.{name} instead of spelling {text!r}"


def test_the_forms_of_one_name_agree():
    assert f"{names.MANAGED_LABEL_KEY}=true" == names.MANAGED_LABEL_ARG
    assert dict([names.MANAGED_LABEL]) == {names.MANAGED_LABEL_KEY: "true"}
    assert names.KUBELET_SECCOMP_DIR + "/" + names.localhost_profile("").rstrip("/") == names.NODE_PROFILES_DIR
