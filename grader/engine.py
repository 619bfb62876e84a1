"""Run an exercise's checks against one submission folder and collect a GradeReport.

Expected problems (a missing file, a malformed profile, no cluster) become feedback, never a
traceback: ``LabError`` -> failed with its message and fix, ``NotChecked`` -> not checked,
anything else -> "grader error" (the submission gets no points for that check and the
instructor sees the exception type in the report).
"""
from __future__ import annotations

import time
from pathlib import Path

from labs.errors import LabError

from .context import Exercise, GradingContext, make_token
from .model import ERROR, FAILED, NOT_CHECKED, PASSED, CheckResult, GradeReport, NotChecked

__all__ = ["grade_folder", "unscored_checks"]


def grade_folder(exercise: Exercise, root: Path, *, config: str | None = None, token: str | None = None,
                 include_hidden: bool = True, live: bool = True) -> GradeReport:
    """Grade the files in ``root``; cleans up everything the checks created before returning."""
    started = time.monotonic()
    ctx = GradingContext(exercise, root, config or exercise.cluster, token or make_token(str(root), exercise.id))
    report = GradeReport(exercise=exercise.id, submission=str(root))
    outcomes: dict[str, CheckResult] = {}
    try:
        with ctx.cleanup:
            for check in exercise.checks:
                if check.hidden and not include_hidden:
                    continue
                result = _run_one(check, ctx, outcomes, live)
                outcomes[check.id] = result
                report.checks.append(result)
    except Exception as exc:  # noqa: BLE001 - cleanup trouble is the grader's, not the learner's
        report.cleanup_error = f"{type(exc).__name__}: {exc}"
    # A missing file is the most common problem; say it once at the top.
    missing = [c.message for c in report.checks if c.status == FAILED and "is missing from the submission" in c.message]
    if missing:
        report.problem = missing[0]
    report.seconds = round(time.monotonic() - started, 2)
    return report


def unscored_checks(exercise: Exercise, reason: str, include_hidden: bool = True) -> list[CheckResult]:
    """Every check failed with one reason: the submission could not be read at all."""
    return [CheckResult(c.id, c.title, FAILED, 0.0, c.points, f"not graded: {reason}", "", c.live, c.hidden)
            for c in exercise.checks if include_hidden or not c.hidden]


def _run_one(check, ctx: GradingContext, outcomes: dict[str, CheckResult], live: bool) -> CheckResult:
    t0 = time.monotonic()
    because: dict[str, str] = ctx.cache.setdefault("not-checked-because", {})  # check id -> root reason

    def result(status, message, points=0.0, hint=""):
        return CheckResult(check.id, check.title, status, points, check.points, message, hint,
                           check.live, check.hidden, round(time.monotonic() - t0, 2))

    def skipped(reason: str, message: str | None = None) -> CheckResult:
        because[check.id] = reason
        return result(NOT_CHECKED, message or f"not checked: {reason}")

    blocked = [outcomes[n] for n in check.needs if n in outcomes and outcomes[n].status != PASSED]
    if blocked:
        titles = ", ".join(b.title for b in blocked)
        if all(b.status == NOT_CHECKED for b in blocked):
            root = because.get(blocked[0].id, "")
            return skipped(root, f"not checked: depends on '{titles}' (because: {root})")
        return result(FAILED, f"not graded yet: first fix '{titles}'")
    if check.live and not live:
        return skipped("live checks were turned off for this run")
    try:
        message = check.run(ctx)
    except NotChecked as exc:
        return skipped(str(exc))
    except LabError as exc:
        # the error's own fix, then the check's pointer: two sentences, kept apart
        hint = "; ".join(h.rstrip(". ") for h in (exc.fix, check.hint) if h)
        return result(FAILED, exc.message, hint=hint)
    except Exception as exc:  # noqa: BLE001 - an untrusted submission must never crash the grader
        return result(ERROR, f"grader error ({type(exc).__name__}: {exc}); tell your instructor")
    return result(PASSED, message or "ok", check.points)
