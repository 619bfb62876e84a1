"""The notebook side: show an exercise, give the learner a workspace copy, check it.

``check()`` never raises for expected problems: a missing file, a broken archive or no
cluster all come back as a GradeReport whose feedback says what to do next.
"""
from __future__ import annotations

import getpass
import os
import shutil
from pathlib import Path
from typing import Any

from labs.cluster.handle import ClusterRef
from labs.errors import LabError
from labs.paths import workspace_dir

from .checkrun import CHECK_RUNS
from .context import make_token
from .engine import Progress, grade_folder, unscored_checks
from .exercises import EXERCISES, get_exercise
from .exercises.common import EXERCISES_DIR
from .model import GradeReport
from .submission import prepared_submission

__all__ = ["check", "grade", "learner_id", "exercise_readme", "workspace", "start_exercise", "list_exercises"]


def list_exercises() -> list[str]:
    return list(EXERCISES)


def exercise_readme(exercise_id: str) -> str:
    """The task text and hint (Markdown) that the notebook displays."""
    get_exercise(exercise_id)
    return (EXERCISES_DIR / exercise_id / "README.md").read_text()


def workspace(exercise_id: str) -> Path:
    """Where the learner edits this exercise: ``$COURSE_WORKSPACE`` or ``<repo>/workspace``."""
    return workspace_dir() / exercise_id


def start_exercise(exercise_id: str) -> Path:
    """Copy the starter files into the workspace once (never overwrites the learner's edits)."""
    get_exercise(exercise_id)
    target = workspace(exercise_id)
    target.mkdir(parents=True, exist_ok=True)
    for src in sorted((EXERCISES_DIR / exercise_id / "starter").iterdir()):
        if src.is_file() and not (target / src.name).exists():
            shutil.copyfile(src, target / src.name)
    return target


def grade(exercise_id: str, submission: str | Path, *, config: ClusterRef | None = None, token: str | None = None,
          include_hidden: bool = True, live: bool = True, **run: Any) -> GradeReport:
    """Grade any submission path (folder, file, archive). Used by check() and the batch CLI.

    ``run`` goes to :func:`grader.engine.grade_folder` (progress, cancel, defer_cleanup)."""
    exercise = get_exercise(exercise_id)
    try:
        with prepared_submission(submission, exercise) as root:
            return grade_folder(exercise, root, config=config, include_hidden=include_hidden, live=live,
                                token=token or make_token(str(Path(submission).resolve()), exercise_id), **run)
    except LabError as exc:
        report = GradeReport(exercise=exercise_id, submission=str(submission))
        report.problem = exc.message + (f" ({exc.fix})" if exc.fix else "")
        report.checks = unscored_checks(exercise, report.problem, include_hidden)
        return report


def learner_id() -> str:
    """Who is checking: the JupyterHub user, else the account running the kernel."""
    try:
        return os.environ.get("JUPYTERHUB_USER") or getpass.getuser()
    except (KeyError, OSError):   # no passwd entry (some containers)
        return "learner"


def check(exercise_id: str, *, submission: str | Path | None = None, config: ClusterRef | None = None,
          include_hidden: bool = False, progress: Progress | None = None, learner: str | None = None) -> GradeReport:
    """Grade the learner's work (default: their workspace copy) and return a report to display.

    One run per learner and exercise: a newer call cancels this one (its report's problem
    then says so). The verdict comes back before the run's cluster objects are removed;
    that happens in the background (``grader.checkrun.CHECK_RUNS.wait_idle()`` waits).
    """
    exercise = get_exercise(exercise_id)
    run = CHECK_RUNS.start((learner or learner_id(), exercise_id), config or exercise.cluster)
    try:
        return grade(exercise_id, submission if submission is not None else workspace(exercise_id),
                     config=run.cluster, token=run.token, include_hidden=include_hidden, progress=progress,
                     cancel=run.cancel, defer_cleanup=lambda stack: CHECK_RUNS.defer_cleanup(run, stack))
    finally:
        CHECK_RUNS.finish(run)
