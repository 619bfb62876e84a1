"""The learner edition, and the switch that fills in solutions for tests and instructors.

``python -m labs.student OUTDIR`` copies what a learner needs to run the course (notebooks,
``labs``, ``grader``, cluster recipes, Makefile) without the answers: every
``labs/exercises/<id>/solution`` folder is left out, every notebook cell tagged
``solution`` is removed and all outputs are cleared. What the grader needs from a solution
without revealing it (how many syscalls the reference profile allows, for the ``size``
checks) is written next to the exercise as :data:`SOLUTION_FACTS`, so the learner's Check
scores like the instructor's grader.

In the full edition each exercise has a ``solution``-tagged cell calling
:func:`apply_solution`. It does nothing unless ``COURSE_APPLY_SOLUTIONS=1`` is set, in which
case it copies the reference solution into the learner's workspace, so the notebook tests
(and an instructor demoing a lesson) can run every check to a pass.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .errors import LabError
from .results import Result
from .seccomp import allowed_syscalls, load_profile

__all__ = ["APPLY_ENV", "SOLUTION_TAG", "EDITION_PATHS", "SOLUTION_FACTS", "StudentEdition", "strip_notebook",
           "solution_facts", "build_student_edition", "apply_solution"]

APPLY_ENV = "COURSE_APPLY_SOLUTIONS"
SOLUTION_TAG = "solution"
#: What the learner edition contains, relative to the repository root.
EDITION_PATHS = ("notebooks", "labs", "grader", "clusters", "Makefile", "requirements.txt", "README.md")
REPO = Path(__file__).resolve().parent.parent
#: per exercise, facts about its reference solution that do not give it away (learner edition)
SOLUTION_FACTS = "solution-facts.json"
#: never copied: caches, and learners' own exercise folders (COURSE_WORKSPACE may sit under notebooks/)
_JUNK = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", "workspace")


@dataclass
class StudentEdition(Result):
    """What ``build_student_edition`` wrote and what it left out."""

    outdir: str
    notebooks: list[str] = field(default_factory=list)
    solution_cells_removed: int = 0
    solution_folders_removed: list[str] = field(default_factory=list)
    facts_written: list[str] = field(default_factory=list)


def strip_notebook(nb: nbformat.NotebookNode) -> tuple[nbformat.NotebookNode, int]:
    """Drop ``solution``-tagged cells and every output; returns the notebook and cells dropped."""
    kept = [c for c in nb.cells if SOLUTION_TAG not in c.get("metadata", {}).get("tags", [])]
    removed = len(nb.cells) - len(kept)
    for cell in kept:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nb.cells = kept
    nb.metadata.pop("widgets", None)
    return nb, removed


def solution_facts(solution: Path) -> dict:
    """For each seccomp profile in ``solution``: how many syscalls it allows (names stay out:
    exercise 05's reference differs from its starter by exactly the answer)."""
    facts = {}
    for path in sorted(solution.glob("*.json")):
        try:
            facts[path.name] = {"allowed_syscalls": len(allowed_syscalls(load_profile(path)))}
        except LabError:
            continue   # not a seccomp profile
    return facts


def _write_facts(edition: StudentEdition, root: Path, out: Path) -> None:
    for solution in sorted((root / "labs" / "exercises").glob("*/solution")):
        facts = solution_facts(solution)
        if facts:
            target = out / "labs" / "exercises" / solution.parent.name / SOLUTION_FACTS
            target.write_text(json.dumps(facts, indent=2, sort_keys=True) + "\n")
            edition.facts_written.append(str(target.relative_to(out)))


def _ignore_solutions(removed: list[str], root: Path):
    def ignore(directory: str, names: list[str]) -> set[str]:
        skip = set(_JUNK(directory, names))
        here = Path(directory)
        if here.parent.name == "exercises" and "solution" in names:
            skip.add("solution")
            removed.append(str((here / "solution").relative_to(root)))
        return skip
    return ignore


def build_student_edition(outdir: str | Path, root: Path = REPO) -> StudentEdition:
    """Write the learner edition of the repository at ``root`` into ``outdir`` (replaced)."""
    out, root = Path(outdir).resolve(), root.resolve()
    if out == root or any(out == root / p or root / p in out.parents for p in EDITION_PATHS):
        raise LabError(f"refusing to write the learner edition over the course itself: {out}",
                       fix="pick an output folder outside notebooks/, labs/, ... e.g. dist/student")
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    edition = StudentEdition(str(out))
    for name in EDITION_PATHS:
        source = root / name
        if source.is_dir():
            shutil.copytree(source, out / name, ignore=_ignore_solutions(edition.solution_folders_removed, root))
        elif source.exists():
            shutil.copy2(source, out / name)
    _write_facts(edition, root, out)
    for path in sorted((out / "notebooks").glob("*.ipynb")):
        nb, removed = strip_notebook(nbformat.read(path, as_version=4))
        nbformat.write(nb, path)
        edition.notebooks.append(path.name)
        edition.solution_cells_removed += removed
    return edition


def apply_solution(exercise_id: str, workspace: str | Path, *, root: Path = REPO) -> bool:
    """Copy the reference solution into ``workspace`` when ``COURSE_APPLY_SOLUTIONS=1``.

    Returns whether it copied. Without the variable learners' work is never touched.
    """
    if os.environ.get(APPLY_ENV) != "1":
        return False
    solution = root / "labs" / "exercises" / exercise_id / "solution"
    if not solution.is_dir():
        raise LabError(f"{APPLY_ENV}=1 but {solution} does not exist",
                       fix=f"this is probably the learner edition: unset {APPLY_ENV}")
    shutil.copytree(solution, Path(workspace), dirs_exist_ok=True)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m labs.student", description=__doc__.splitlines()[0])
    parser.add_argument("outdir", help="where to write the learner edition (replaced if it exists)")
    args = parser.parse_args(argv)
    edition = build_student_edition(args.outdir)
    print(f"learner edition in {edition.outdir}: {len(edition.notebooks)} notebooks, "
          f"{edition.solution_cells_removed} solution cells and "
          f"{len(edition.solution_folders_removed)} solution folders left out")
    return 0


if __name__ == "__main__":
    sys.exit(main())
