"""A scripted learner: follow one lesson's own cells, answer only with what the lesson showed.

Reference solutions passing proves the grader; this proves the lesson. ``follow_lesson`` runs
a lesson's code cells in a fresh kernel with ``COURSE_APPLY_SOLUTIONS=0`` (so ``solution`` cells
do nothing), stops before the ``check`` cell, then runs the learner's answer code in the same
kernel, and finally the lesson's ``cleanup`` cell. Before anything runs, the answer is held
against the lesson: every ``labs``/``grader`` call it makes must appear in a cell before the
exercise, so a test cannot quietly use a helper the learner was never shown.
``grade_one`` grades the result through the same command line a grading pipeline uses.
"""
from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from labs import lessons
from tests.notebooks.nbtools import LESSONS, NOTEBOOKS, exec_env, output_text, tags

ROOT = Path(__file__).resolve().parents[2]
#: a live grading run with a pod or two; sized for a machine 3x slower than a warm laptop
GRADE_TIMEOUT = 600


@dataclass
class LearnerRun:
    notebook: nbformat.NotebookNode
    workspace: Path
    answer_output: str

    def submission(self, exercise_id: str) -> Path:
        """The learner's workspace folder for one exercise (what they would submit)."""
        return self.workspace / exercise_id


def lesson_path(number: str) -> Path:
    return next(p for p in LESSONS if p.name.startswith(f"{number}-"))


def _called_names(source: str) -> set[str]:
    """Dotted names of everything ``source`` calls, e.g. ``seccomp.write_profile``.

    The cell is read as IPython runs it, so ``!kubectl ...`` lines (shown by the lessons) parse."""
    names = set()
    for node in ast.walk(ast.parse(TransformerManager().transform_cell(source))):
        if isinstance(node, ast.Call):
            parts, func = [], node.func
            while isinstance(func, ast.Attribute):
                parts.append(func.attr)
                func = func.value
            if isinstance(func, ast.Name):
                parts.append(func.id)
                names.add(".".join(reversed(parts)))
    return names


def lesson_cells_before_exercise(nb: nbformat.NotebookNode) -> list:
    """Everything the learner has seen when they reach the exercise (markdown and code)."""
    cells = []
    for cell in nb.cells:
        if "check" in tags(cell):
            break
        if "solution" not in tags(cell):
            cells.append(cell)
    return cells


def unshown_calls(nb: nbformat.NotebookNode, answer: str) -> list[str]:
    """The course-API attributes the answer calls that no lesson cell before the check shows."""
    shown = "\n".join(c.source for c in lesson_cells_before_exercise(nb))
    missing = []
    for name in sorted(_called_names(answer)):
        attr = name.rsplit(".", 1)[-1]
        if "." in name and attr not in shown:
            missing.append(name)
    return missing


def follow_lesson(number: str, workspace: Path, answer: str, *, timeout: float = 900) -> LearnerRun:
    """Run lesson ``number`` as a learner would (solutions off), then ``answer`` in its kernel."""
    nb = nbformat.read(lesson_path(number), as_version=4)
    missing = unshown_calls(nb, answer)
    assert not missing, f"the scripted learner uses calls lesson {number} never showed: {missing}"
    cells = [c for c in lesson_cells_before_exercise(nb) if c.cell_type == "code"]
    answer_cell = nbformat.v4.new_code_cell(answer)
    cleanup = [c for c in nb.cells if "cleanup" in tags(c)]
    run = nbformat.v4.new_notebook(cells=cells + [answer_cell] + cleanup, metadata=nb.metadata)
    env = exec_env(workspace, solutions=False)
    client = NotebookClient(run, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        client.execute()
    except CellExecutionError as exc:
        raise AssertionError(f"lesson {number} failed for a learner following it:\n{exc}") from None
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return LearnerRun(run, workspace, output_text(answer_cell))


def learner_run(number: str, answer: str, tmp_path_factory, available: set[str], *,
                needs: tuple[str, ...] | None = None) -> LearnerRun:
    """A module's one learner run (lessons take minutes); skipped, with the reason, when the
    machine lacks what the lesson needs (default: the lesson's core)."""

    missing = [n for n in (needs if needs is not None else lessons.lesson(number).core) if n not in available]
    if missing:
        pytest.skip(f"this machine lacks {', '.join(lessons.NEEDS[n] for n in missing)}")
    return follow_lesson(number, tmp_path_factory.mktemp(f"learner-{number}") / "workspace", answer)


def copy_submission(src: Path, dest: Path) -> Path:
    """A copy of a learner's folder to plant a mistake in, leaving the original intact."""
    shutil.copytree(src, dest)
    return dest


def grade_one(exercise_id: str, submission: Path, *, live: bool = True) -> dict:
    """Grade through ``python -m grader grade-one`` and return the JSON report."""
    out = submission.parent / f"{submission.name}-report.json"
    args = [sys.executable, "-m", "grader", "grade-one", str(submission), "--exercise", exercise_id,
            "--json", str(out)] + ([] if live else ["--static-only"])
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=GRADE_TIMEOUT)
    assert out.exists(), f"grade-one wrote no report (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    report = json.loads(out.read_text())
    report["printed"] = proc.stdout
    return report


def failed_checks(report: dict) -> dict[str, dict]:
    return {c["id"]: c for c in report["checks"] if c["status"] in ("failed", "error")}


def assert_full_marks(report: dict) -> None:
    """Every check that could run here passed; unchecked ones must say why (a missing capability)."""
    assert not report.get("problem"), report["problem"]
    assert report["max_score"] > 0, report["printed"]
    bad = failed_checks(report)
    assert not bad, f"the learner following the lesson lost points:\n{report['printed']}"
    assert report["score"] == report["max_score"], report["printed"]
    for c in report["checks"]:
        if c["status"] == "not_checked":
            assert c["message"], f"check {c['id']} was not checked and does not say why"


def assert_partial_with_hint(report: dict, check_id: str, hint_words: str) -> None:
    """A typical mistake: some credit, the named check failed, and its hint says ``hint_words``."""
    assert 0 < report["score"] < report["max_score"], report["printed"]
    bad = failed_checks(report)
    assert check_id in bad, f"expected check {check_id} to fail:\n{report['printed']}"
    feedback = (bad[check_id]["message"] + " " + bad[check_id]["hint"]).lower()
    assert hint_words.lower() in feedback, f"{check_id} feedback lacks {hint_words!r}: {feedback}"
