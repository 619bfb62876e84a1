"""What the notebook tests share: where the lessons are, how to run them, what to mask.

Stored outputs: only code cells tagged ``compare`` keep outputs in the committed notebooks
(stable facts such as an errno or a profile); every other cell is committed clean and its
outputs are ignored by the diff. ``python -m tests.notebooks.refresh_outputs`` re-records
the ``compare`` cells after a deliberate change.
"""
from __future__ import annotations

import os
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
LESSONS = sorted(NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))
COMPARE_TAG = "compare"

#: (JSON path, regex, replacement) applied to both sides before diffing.
DIFF_REPLACE = (
    ("/cells/*/outputs", r'"model_id": "[0-9a-f]+"', '"model_id": "<id>"'),
    ("/cells/*/outputs", r"\b[0-9a-f]{64}\b", "<container-id>"),
    ("/cells/*/outputs", r"\blesson-\d\d-[a-z0-9]+\b", "lesson-NN-<random>"),
    ("/cells/*/outputs", r"\b(?:grade|psa)-[a-z0-9]{5,}\b", "<namespace>"),
    ("/cells/*/outputs", r"-[a-z0-9]{8,10}-[a-z0-9]{5}\b", "-<pod-hash>"),
    ("/cells/*/outputs", r"\b\d+(?:\.\d+)?\s?(?:ms|s|min)\b", "<duration>"),
    ("/cells/*/outputs", r"\b\d+[smhd](?:\d+[smh])? ago\b", "<age> ago"),
    ("/cells/*/outputs", r"\b\d{2}:\d{2}:\d{2}\b", "<time>"),
    ("/cells/*/outputs", r"\b\d{1,3}(?:\.\d{1,3}){3}\b", "<ip>"),
    # the copies install_seccomp_profile keeps: ../workspace/profiles/ for a learner, the test's
    # own COURSE_WORKSPACE here
    ("/cells/*/outputs", r"[^\s:]*workspace/profiles/", "<workspace>/profiles/"),
)


def tags(cell) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def diff_ignore(nb: nbformat.NotebookNode) -> tuple[str, ...]:
    """Ignore outputs of every cell not tagged ``compare``, plus run-specific metadata."""
    paths = ["/metadata", "/cells/*/metadata", "/cells/*/execution_count", "/cells/*/id"]
    paths += [f"/cells/{i}/outputs" for i, c in enumerate(nb.cells)
              if c.cell_type == "code" and COMPARE_TAG not in tags(c)]
    return tuple(paths)


def exec_env(workspace: Path, *, solutions: bool) -> dict[str, str]:
    """Environment of the notebook kernel: the repo importable, a private workspace."""
    env = {"PYTHONPATH": str(ROOT), "COURSE_WORKSPACE": str(workspace),
           "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ.get('PATH', '')}"}
    env["COURSE_APPLY_SOLUTIONS"] = "1" if solutions else "0"
    return env


def lesson_number(path: Path) -> str:
    return path.name[:2]


def output_text(cell) -> str:
    """Everything a code cell displayed, as text (plain, html and streams)."""
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append(out.get("text", ""))
        elif out.get("output_type") == "error":
            parts.append("\n".join(out.get("traceback", [])) or out.get("ename", "error"))
        else:
            data = out.get("data", {})
            for key in ("text/plain", "text/html", "text/markdown"):
                value = data.get(key, "")
                parts.append("".join(value) if isinstance(value, list) else value)
    return "\n".join(parts)


def blank_check_notebook() -> nbformat.NotebookNode:
    """One notebook holding every lesson's setup cell once and all its ``exercise`` and ``check`` cells."""
    cells = []
    for path in LESSONS:
        nb = nbformat.read(path, as_version=4)
        if not cells:
            cells += [c for c in nb.cells if "setup" in tags(c)]
        cells += [c for c in nb.cells if {"exercise", "check"} & set(tags(c))]
    for cell in cells:
        cell.outputs = []
    kernelspec = {"name": "python3", "display_name": "Python 3"}
    return nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": kernelspec})
