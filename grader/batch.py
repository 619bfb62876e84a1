"""Grade a class: one child process per submission, N in parallel, each with a timeout.

Why child processes: a per-submission timeout must be able to stop a stuck grading run, and
only a process can be stopped safely. After a timeout the driver removes that run's cluster
objects itself (namespace and node files are named by the run's token). The grader process
only orchestrates: every pod is scheduled by Kubernetes, so ``--jobs N`` spreads the work
over the cluster's nodes.

Faults: finished students (``<out>/<student>/results.json``) are skipped on the next run
unless ``force``; ``<out>/batch.json`` records the run, so ``--resume`` completes a batch
stopped part-way with its own settings. When the cluster stops answering mid-batch, no new
submission starts, the ones that lost it are not recorded, and the run stops with a message
(:class:`ClusterGone`). A lock per student lets two grader processes share one output folder:
each student is graded by one of them, and every file is written by an atomic rename.
"""
from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from labs.cluster.handle import Cluster, get_cluster
from labs.errors import CommandError, LabError
from labs.runner import run

from .archive import extract_archive, is_archive
from .checks.live import remove_token_objects
from .context import make_token
from .engine import unscored_checks
from .exercises import get_exercise
from .formats import gradescope_results, write_class_csv, write_json_atomic, write_junit
from .model import PASSED, GradeReport

__all__ = ["find_submissions", "grade_class", "resume_settings", "BatchSummary", "ClusterGone", "student_lock",
           "lost_cluster"]

_SAFE_ID = re.compile(r"[^A-Za-z0-9_.@-]+")
STATE_FILE = "batch.json"


class ClusterGone(LabError):
    """The cluster stopped answering mid-batch; finished results are kept."""


@dataclass
class BatchSummary:
    graded: int
    skipped: int
    timed_out: int
    seconds: float
    out: Path
    busy: int = 0   # students another grader process was grading at the same time


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


@contextmanager
def student_lock(folder: Path) -> Iterator[bool]:
    """Hold ``<folder>/.lock`` (True) or learn another process holds it (False).

    An ``flock``: the kernel releases it when its holder exits, even when killed."""
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def lost_cluster(report: GradeReport, answers: Callable[[], bool]) -> bool:
    """True when a live check did not pass and the cluster no longer answers (then the report
    says nothing about the submission). Asks the cluster only when a live check did not pass."""
    return any(c.live and c.status != PASSED for c in report.checks) and not answers()


def _cluster_answers(cluster: Cluster) -> bool:
    try:
        cluster.core_api().list_node(_request_timeout=10)
    except Exception:  # noqa: BLE001 - any failure to reach the API means it is gone
        return False
    return True


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
    configs = {get_exercise(exercise_id).cluster, *(("multi-node",) if exercise_id == "08-cluster-scale" else ())}
    for config in configs:
        try:
            remove_token_objects(token, config)
        except Exception as exc:  # noqa: BLE001 - report, keep grading the class
            print(f"warning: cleanup of grading run {token} on {config} failed: {exc}", file=sys.stderr)


def resume_settings(out: Path) -> dict:
    """The settings of the batch recorded in ``out`` (for ``--resume``)."""
    try:
        return json.loads((out / STATE_FILE).read_text())
    except (OSError, ValueError):
        raise LabError(f"there is no batch to resume in {out} (no readable {STATE_FILE})",
                       fix="start it with `python -m grader grade SUBMISSIONS --exercise ID --out DIR`") from None


def _record(out: Path, settings: dict, state: str, message: str = "") -> None:
    write_json_atomic(out / STATE_FILE, {**settings, "state": state, "message": message})


class _Class:
    """One batch in progress: what stops it and what it found."""

    def __init__(self, exercise_id: str, out: Path, timeout: float, live: bool, force: bool):
        self.exercise_id, self.out, self.timeout, self.live, self.force = exercise_id, out, timeout, live, force
        self.cluster = get_cluster(get_exercise(exercise_id).cluster)
        self.watch = live and _cluster_answers(self.cluster)   # a cluster that never answered cannot go away
        self.stop = threading.Event()
        self.busy = self.timed_out = self.graded = 0
        self._count = threading.Lock()

    def grade(self, student: str, path: Path) -> GradeReport | None:
        """Grade one student under its lock; None when not graded here (stopped, done, or busy elsewhere)."""
        folder = self.out / student
        with student_lock(folder) as mine:
            if not mine:
                with self._count:
                    self.busy += 1
                return None
            if self.stop.is_set() or (folder / "results.json").exists() and not self.force:
                return None
            attempt = folder / "attempt"
            if self.live and attempt.exists():   # an earlier run stopped while grading this student
                _cleanup_token(make_token(student, self.exercise_id), self.exercise_id)
            attempt.write_text(str(os.getpid()))
            report = _grade_one(student, path, self.exercise_id, self.out, self.timeout, self.live)
            if self.watch and lost_cluster(report, lambda: _cluster_answers(self.cluster)):
                self.stop.set()   # its report says nothing about the student: graded again on --resume
                (folder / "report.json").unlink(missing_ok=True)
                return None
            write_json_atomic(folder / "report.json", report.to_dict())
            write_json_atomic(folder / "results.json", gradescope_results(report))
            attempt.unlink()
        with self._count:
            self.graded += 1
            self.timed_out += "was stopped" in report.problem
        return report


def grade_class(source: Path, exercise_id: str, out: Path, *, jobs: int = 2, timeout: float = 600,
                force: bool = False, live: bool = True) -> BatchSummary:
    """Grade every submission; write per-student results.json, class.csv and junit.xml into ``out``.

    Raises :class:`ClusterGone` (after writing what finished) when the cluster stops answering."""
    started = time.monotonic()
    out.mkdir(parents=True, exist_ok=True)
    settings = {"source": str(Path(source).resolve()), "exercise": exercise_id, "jobs": jobs, "timeout": timeout,
                "live": live}
    work = Path(tempfile.mkdtemp(prefix="grader-class-"))
    try:
        subs = find_submissions(source, exercise_id, work)
        todo = {s: p for s, p in subs.items() if force or not (out / s / "results.json").exists()}
        skipped = len(subs) - len(todo)
        if skipped:
            print(f"resuming: {skipped} students already graded (use --force to regrade)", file=sys.stderr)
        _record(out, settings, "running")
        batch = _Class(exercise_id, out, timeout, live, force)
        _run(batch, todo, jobs, len(subs), skipped)
        _write_class_files(out, subs)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    left = [s for s in subs if not (out / s / "results.json").exists()]
    if batch.stop.is_set():
        message = (f"the {batch.cluster.config!r} cluster stopped answering: {len(subs) - len(left)} of {len(subs)} "
                   f"students are graded and kept in {out}")
        _record(out, settings, "stopped", message)
        raise ClusterGone(message, fix=f"start the cluster again (`make cluster`), then complete the batch with "
                                       f"`python -m grader grade --resume --out {out}`")
    _record(out, settings, "done" if not left else "partial")
    return BatchSummary(batch.graded, skipped, batch.timed_out, round(time.monotonic() - started, 2), out, batch.busy)


def _run(batch: _Class, todo: dict[str, Path], jobs: int, total: int, skipped: int) -> None:
    done = 0
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(batch.grade, student, path): student for student, path in todo.items()}
        for future in as_completed(futures):
            report = future.result()
            if report is None:
                continue
            done += 1
            print(f"[{done + skipped}/{total}] {futures[future]}: {report.score:g}/{report.max_score:g}"
                  f" ({report.seconds:.1f}s)", file=sys.stderr, flush=True)


def _write_class_files(out: Path, subs: dict[str, Path]) -> None:
    """class.csv and junit.xml from every finished student, each replaced in one rename."""
    rows = []
    for student in subs:
        if not (out / student / "results.json").exists():
            continue   # not finished (yet, or by another grader process)
        try:
            rows.append((student, GradeReport.from_dict(json.loads((out / student / "report.json").read_text()))))
        except (OSError, ValueError):
            continue
    for name, write in (("class.csv", write_class_csv), ("junit.xml", write_junit)):
        fd, tmp = tempfile.mkstemp(dir=out, prefix=f".{name}.", suffix=".tmp")
        os.close(fd)
        write(Path(tmp), rows)
        os.replace(tmp, out / name)
