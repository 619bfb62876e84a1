"""Grade a class: one child process per submission, N in parallel, each with a timeout.

Why child processes: a per-submission timeout must be able to stop a stuck grading run, and
only a process can be stopped safely. After a timeout the driver removes that run's cluster
objects itself (namespace and node files are named by the run's token). Finished students
(``<out>/<student>/results.json``) are skipped on the next run unless ``force``.
"""
from __future__ import annotations

import json
import re
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from labs.errors import CommandError, LabError
from labs.runner import run

from .archive import extract_archive, is_archive
from .context import make_token
from .engine import unscored_checks
from .exercises import get_exercise
from .formats import gradescope_results, write_class_csv, write_json_atomic, write_junit
from .model import GradeReport

__all__ = ["find_submissions", "grade_class", "BatchSummary"]

_SAFE_ID = re.compile(r"[^A-Za-z0-9_.@-]+")


@dataclass
class BatchSummary:
    graded: int
    skipped: int
    timed_out: int
    seconds: float
    out: Path


def _student_id(name: str) -> str:
    stem = name
    for suffix in (".tar.gz", ".tgz", ".zip", ".tar"):
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
    return _SAFE_ID.sub("_", stem).strip("._") or "student"


def find_submissions(source: Path, exercise_id: str, workdir: Path) -> dict[str, Path]:
    """student id -> folder or archive. ``source`` is a folder of per-student entries or a zip of them."""
    exercise = get_exercise(exercise_id)
    if source.is_file() and is_archive(source):
        unpacked = workdir / "class"
        extract_archive(source, unpacked)
        top = [p for p in unpacked.iterdir() if not p.name.startswith(("__MACOSX", "."))]
        if any((unpacked / f).exists() for f in exercise.files.values()):
            return {_student_id(source.name): unpacked}  # one student's archive
        source = top[0] if len(top) == 1 and top[0].is_dir() and not any(
            (top[0] / f).exists() for f in exercise.files.values()) else unpacked
    if not source.is_dir():
        raise LabError(f"{source} is neither a folder nor a zip", fix="point at the folder of student submissions")
    found = {}
    for entry in sorted(source.iterdir()):
        if entry.name.startswith(".") or entry.is_symlink():
            continue
        if entry.is_dir() or is_archive(entry):
            found.setdefault(_student_id(entry.name), entry)
    return found


def _grade_one(student: str, path: Path, exercise_id: str, out: Path, timeout: float, live: bool) -> GradeReport:
    token = make_token(student, exercise_id)
    report_path = out / student / "report.json"
    args = [sys.executable, "-m", "grader", "grade-one", str(path), "--exercise", exercise_id,
            "--json", str(report_path), "--token", token]
    if not live:
        args.append("--static-only")
    try:
        run(args, timeout=timeout, check=True)
        return GradeReport.from_dict(json.loads(report_path.read_text()))
    except (CommandError, OSError, ValueError) as exc:
        timed_out = isinstance(exc, CommandError) and exc.returncode is None
        problem = (f"grading took longer than {timeout:g}s and was stopped" if timed_out
                   else f"the grader failed on this submission: {str(exc)[-300:]}")
        if live:
            _cleanup_token(token, exercise_id)
        exercise = get_exercise(exercise_id)
        return GradeReport(exercise_id, str(path), unscored_checks(exercise, problem), problem)


def _cleanup_token(token: str, exercise_id: str) -> None:
    from .checks.live import remove_token_objects

    configs = {get_exercise(exercise_id).cluster, *(("multi-node",) if exercise_id == "08-cluster-scale" else ())}
    for config in configs:
        try:
            remove_token_objects(token, config)
        except Exception as exc:  # noqa: BLE001 - report, keep grading the class
            print(f"warning: cleanup of grading run {token} on {config} failed: {exc}", file=sys.stderr)


def grade_class(source: Path, exercise_id: str, out: Path, *, jobs: int = 2, timeout: float = 600,
                force: bool = False, live: bool = True) -> BatchSummary:
    """Grade every submission; write per-student results.json, class.csv and junit.xml into ``out``."""
    started = time.monotonic()
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="grader-class-"))
    try:
        subs = find_submissions(source, exercise_id, work)
        todo = {s: p for s, p in subs.items() if force or not (out / s / "results.json").exists()}
        skipped, timed_out, done = len(subs) - len(todo), 0, 0
        if skipped:
            print(f"resuming: {skipped} students already graded (use --force to regrade)", file=sys.stderr)
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futures = {}
            for student, path in todo.items():
                (out / student).mkdir(exist_ok=True)
                futures[pool.submit(_grade_one, student, path, exercise_id, out, timeout, live)] = student
            for future in as_completed(futures):
                student = futures[future]
                report = future.result()
                write_json_atomic(out / student / "report.json", report.to_dict())
                write_json_atomic(out / student / "results.json", gradescope_results(report))
                done += 1
                timed_out += "was stopped" in report.problem
                print(f"[{done + skipped}/{len(subs)}] {student}: {report.score:g}/{report.max_score:g}"
                      f" ({report.seconds:.1f}s)", file=sys.stderr, flush=True)
        rows = []
        for student in subs:
            path = out / student / "report.json"
            if path.exists():
                rows.append((student, GradeReport.from_dict(json.loads(path.read_text()))))
        write_class_csv(out / "class.csv", rows)
        write_junit(out / "junit.xml", rows)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return BatchSummary(len(todo), skipped, timed_out, round(time.monotonic() - started, 2), out)
