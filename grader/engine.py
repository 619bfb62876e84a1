"""Run an exercise's checks against one submission folder and collect a GradeReport.

Expected problems (a missing file, a malformed profile, no cluster) become feedback, never a
traceback: ``LabError`` -> failed with its message and fix, ``NotChecked`` -> not checked,
anything else -> "grader error" (the submission gets no points for that check and the
instructor sees the exception type in the report).

Why live checks run at once: a learner waits for every pod the checks start (the learner's
pod, the Unconfined control pod, ...). Static checks run first, in order; then every live
check (and every check that needs one) whose static prerequisites passed starts in its own
thread, before its live prerequisites are known. The report is then assembled in declared
order with the sequential rules ("not graded yet: first fix ..."), so a check whose
prerequisite failed still reports exactly what it would have; its early run only cost time
on the cluster. Checks share pods through ``ctx.memo``, which is made thread-safe here.
"""
from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from labs.cluster.handle import ClusterRef, as_cluster
from labs.errors import LabError

from . import reuse
from .context import Exercise, GradingContext, make_token
from .model import ERROR, FAILED, NOT_CHECKED, PASSED, CheckResult, GradeReport, NotChecked

__all__ = ["grade_folder", "unscored_checks", "Progress", "CANCELLED"]

#: ``report.problem`` of a run stopped because a newer one replaced it
CANCELLED = "cancelled: a newer check of this exercise replaced this one"
#: progress(done, total, what): checks finished, checks to run, what is happening now
Progress = Callable[[int, int, str], None]


@dataclass
class _ThreadSafeContext(GradingContext):
    """A GradingContext whose memo computes each key once even when checks run in threads."""

    _locks: dict = field(default_factory=dict, repr=False)
    _guard: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def memo(self, key, compute):
        with self._guard:
            lock = self._locks.setdefault(key, threading.RLock())
        with lock:
            return super().memo(key, compute)


def grade_folder(exercise: Exercise, root: Path, *, config: ClusterRef | None = None, token: str | None = None,
                 include_hidden: bool = True, live: bool = True, progress: Progress | None = None,
                 cancel: threading.Event | None = None,
                 defer_cleanup: Callable[[contextlib.ExitStack], None] | None = None) -> GradeReport:
    """Grade the files in ``root`` and remove everything the checks created.

    ``defer_cleanup`` receives the run's cleanup stack instead of it being closed here, so a
    caller can show the verdict first (the Check button); ``cancel`` stops a run between
    checks (the report's problem is then :data:`CANCELLED`).
    """
    started = time.monotonic()
    ctx = _ThreadSafeContext(exercise, root, as_cluster(config or exercise.cluster),
                             token or make_token(str(root), exercise.id))
    report = GradeReport(exercise=exercise.id, submission=str(root))
    checks = [c for c in exercise.checks if include_hidden or not c.hidden]
    try:
        if live:
            reuse.seed(ctx)
        report.checks = _run_checks(checks, ctx, live, progress or (lambda *_: None), cancel or threading.Event())
        if live:
            reuse.keep(ctx)
    finally:
        if defer_cleanup is not None:
            defer_cleanup(ctx.cleanup)
        else:
            report.cleanup_error = close_cleanup(ctx.cleanup)
    if cancel is not None and cancel.is_set():
        report.problem = CANCELLED
    # A missing file is the most common problem; say it once at the top.
    missing = [c.message for c in report.checks if c.status == FAILED and "is missing from the submission" in c.message]
    if missing and not report.problem:
        report.problem = missing[0]
    report.seconds = round(time.monotonic() - started, 2)
    return report


def close_cleanup(stack: contextlib.ExitStack) -> str:
    """Close a run's cleanup stack; return the trouble as text ("" when it went well)."""
    try:
        stack.close()
    except Exception as exc:  # noqa: BLE001 - cleanup trouble is the grader's, not the learner's
        return f"{type(exc).__name__}: {exc}"
    return ""


def unscored_checks(exercise: Exercise, reason: str, include_hidden: bool = True) -> list[CheckResult]:
    """Every check failed with one reason: the submission could not be read at all."""
    return [CheckResult(c.id, c.title, FAILED, 0.0, c.points, f"not graded: {reason}", "", c.live, c.hidden)
            for c in exercise.checks if include_hidden or not c.hidden]


def _run_checks(checks: list, ctx: GradingContext, live: bool, progress: Progress,
                cancel: threading.Event) -> list[CheckResult]:
    """Static checks in order, then the rest at once; results assembled in declared order."""
    static_ids = _static_closure(checks)
    outcomes: dict[str, CheckResult] = {}
    early: dict[str, CheckResult] = {}
    total, done = len(checks), 0
    for check in (c for c in checks if c.id in static_ids):
        if cancel.is_set():
            break
        outcomes[check.id] = _gated(check, ctx, outcomes, live, lambda c=check: _attempt(c, ctx))
        done += 1
        progress(done, total, check.title)
    rest = [c for c in checks if c.id not in static_ids and not cancel.is_set()]
    by_id = {c.id: c for c in checks}

    def static_needs_passed(check) -> bool:
        """A static prerequisite that failed, directly or through a live check, decides the result
        already: such a check never starts (it would run the learner's pods for nothing)."""
        return all(outcomes[n].status == PASSED if n in static_ids else static_needs_passed(by_id[n])
                   for n in check.needs if n in by_id)
    startable = [c for c in rest if live and static_needs_passed(c)]
    if startable:
        progress(done, total, "running on the cluster: " + "; ".join(c.title for c in startable))
        with ThreadPoolExecutor(max_workers=len(startable), thread_name_prefix="check") as pool:
            futures = {pool.submit(_attempt, c, ctx): c for c in startable}
            for future in as_completed(futures):
                early[futures[future].id] = future.result()
                done += 1
                progress(done, total, futures[future].title)
    for check in rest:
        outcomes[check.id] = _gated(check, ctx, outcomes, live, lambda c=check: early.get(c.id) or _attempt(c, ctx))
    return [outcomes[c.id] for c in checks if c.id in outcomes]


def _static_closure(checks: list) -> set[str]:
    """Ids of checks that are static and need only static checks (directly or not)."""
    by_id = {c.id: c for c in checks}
    static: set[str] = set()
    for check in checks:   # declared order: a check's needs come before it
        if not check.live and all(n in static or n not in by_id for n in check.needs):
            static.add(check.id)
    return static


def _attempt(check, ctx: GradingContext) -> CheckResult:
    """Run one check regardless of its prerequisites; the outcome as a result."""
    t0 = time.monotonic()

    def result(status, message, points=0.0, hint=""):
        return CheckResult(check.id, check.title, status, points, check.points, message, hint,
                           check.live, check.hidden, round(time.monotonic() - t0, 2))

    try:
        message = check.run(ctx)
    except NotChecked as exc:
        return result(NOT_CHECKED, str(exc))
    except LabError as exc:
        # the error's own fix, then the check's pointer: two sentences, kept apart
        hint = "; ".join(h.rstrip(". ") for h in (exc.fix, check.hint) if h)
        return result(FAILED, exc.message, hint=hint)
    except Exception as exc:  # noqa: BLE001 - an untrusted submission must never crash the grader
        return result(ERROR, f"grader error ({type(exc).__name__}: {exc}); tell your instructor")
    return result(PASSED, message or "ok", check.points)


def _gated(check, ctx: GradingContext, outcomes: dict[str, CheckResult], live: bool,
           attempt: Callable[[], CheckResult]) -> CheckResult:
    """The sequential rules: prerequisites first, live checks only when live; else ``attempt()``."""
    because: dict[str, str] = ctx.cache.setdefault("not-checked-because", {})  # check id -> root reason

    def skipped(reason: str, message: str | None = None) -> CheckResult:
        because[check.id] = reason
        return CheckResult(check.id, check.title, NOT_CHECKED, 0.0, check.points, message or f"not checked: {reason}",
                           "", check.live, check.hidden)

    blocked = [outcomes[n] for n in check.needs if n in outcomes and outcomes[n].status != PASSED]
    if blocked:
        titles = ", ".join(b.title for b in blocked)
        if all(b.status == NOT_CHECKED for b in blocked):
            root = because.get(blocked[0].id, "")
            return skipped(root, f"not checked: depends on '{titles}' (because: {root})")
        return CheckResult(check.id, check.title, FAILED, 0.0, check.points,
                           f"not graded yet: first fix '{titles}'", "", check.live, check.hidden)
    if check.live and not live:
        return skipped("live checks were turned off for this run")
    outcome = attempt()
    if outcome.status == NOT_CHECKED:
        because[check.id] = outcome.message
        outcome.message = f"not checked: {outcome.message}"
    return outcome
