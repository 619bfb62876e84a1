"""What a check is and what grading one submission produced.

Checks are declared once per exercise (``grader/exercises/``); the runner turns each into a
:class:`CheckResult`. Three outcomes exist on purpose: a check that could not run on this
machine (no cluster, no AppArmor) is *not checked* and never counts as passed or towards the
maximum, so a learner is never told "10/10" for work that nobody verified.
"""
from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from labs.results import Result

__all__ = [
    "Check",
    "CheckResult",
    "GradeReport",
    "NotChecked",
    "Status",
    "PASSED",
    "FAILED",
    "NOT_CHECKED",
    "ERROR",
]

Status = Literal["passed", "failed", "not_checked", "error"]
PASSED: Status = "passed"
FAILED: Status = "failed"
NOT_CHECKED: Status = "not_checked"
ERROR: Status = "error"


class NotChecked(Exception):
    """Raised by a check that cannot run here; the message says why (shown to the learner)."""


@dataclass(frozen=True)
class Check:
    """One graded property of a submission.

    ``run(ctx)`` returns a short success message or raises: ``LabError`` (failed, its
    message and fix are the feedback), :class:`NotChecked` (skipped, not counted).
    ``needs`` lists check ids that must pass first, so later checks do not pile up
    confusing follow-on failures. ``live`` checks talk to Docker or the cluster.
    """

    id: str
    title: str
    points: float
    run: Callable[[Any], str]
    hint: str = ""
    live: bool = False
    hidden: bool = False
    needs: tuple[str, ...] = ()


@dataclass
class CheckResult(Result):
    """How one check went; ``hint`` is filled only when it failed."""

    id: str
    title: str
    status: Status
    points: float
    max_points: float
    message: str
    hint: str = ""
    live: bool = False
    hidden: bool = False
    seconds: float = 0.0


@dataclass
class GradeReport(Result):
    """All check results for one submission, with points that exclude unchecked work."""

    exercise: str
    submission: str
    checks: list[CheckResult] = field(default_factory=list)
    problem: str = ""  # a submission-level problem (missing file, unreadable archive, timeout)
    seconds: float = 0.0
    cleanup_error: str = ""  # set when removing the run's cluster objects failed (instructor's problem)

    @property
    def score(self) -> float:
        return round(sum(c.points for c in self.checks), 3)

    @property
    def max_score(self) -> float:
        """Points available among the checks that were actually checked."""
        return round(sum(c.max_points for c in self.checks if c.status != NOT_CHECKED), 3)

    @property
    def possible(self) -> float:
        """Points the exercise is worth when every check can run."""
        return round(sum(c.max_points for c in self.checks), 3)

    @property
    def not_checked(self) -> list[CheckResult]:
        return [c for c in self.checks if c.status == NOT_CHECKED]

    @property
    def complete(self) -> bool:
        """True when every check ran and passed."""
        return bool(self.checks) and all(c.status == PASSED for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data.update(score=self.score, max_score=self.max_score, possible=self.possible)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GradeReport:
        """Inverse of to_dict (reports travel as JSON between grading processes)."""
        names = {f for f in cls.__dataclass_fields__ if f != "checks"}
        report = cls(**{k: v for k, v in data.items() if k in names})
        fields = CheckResult.__dataclass_fields__
        report.checks = [CheckResult(**{k: v for k, v in c.items() if k in fields}) for c in data.get("checks", [])]
        return report

    def summary(self) -> str:
        text = f"{self.exercise}: {self.score:g}/{self.max_score:g} points"
        if self.not_checked:
            text += f" ({len(self.not_checked)} checks worth {self.possible - self.max_score:g} not checked here)"
        return text

    def __str__(self) -> str:
        lines = [self.summary()]
        if self.problem:
            lines.append(f"  not yet: {self.problem}")
        for c in self.checks:
            mark = {PASSED: "PASS", FAILED: "FAIL", NOT_CHECKED: "SKIP", ERROR: "ERR "}[c.status]
            lines.append(f"  [{mark}] {c.title} ({c.points:g}/{c.max_points:g}): {c.message}")
            if c.hint:
                lines.append(f"         hint: {c.hint}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        colours = {PASSED: "#1e8449", FAILED: "#c0392b", NOT_CHECKED: "#7f8c8d", ERROR: "#8e44ad"}
        labels = {PASSED: "passed", FAILED: "not yet", NOT_CHECKED: "not checked", ERROR: "grader error"}
        rows = []
        for c in self.checks:
            hint = f"<br><i>Hint: {html.escape(c.hint)}</i>" if c.hint else ""
            rows.append(
                f"<tr><td style='color:{colours[c.status]};font-weight:bold'>{labels[c.status]}</td>"
                f"<td style='text-align:left'>{html.escape(c.title)}</td>"
                f"<td>{c.points:g}/{c.max_points:g}</td>"
                f"<td style='text-align:left'>{html.escape(c.message)}{hint}</td></tr>"
            )
        problem = (f"<div style='color:#c0392b'><b>Not yet:</b> {html.escape(self.problem)}</div>"
                   if self.problem else "")
        return (
            f"<div><b>{html.escape(self.summary())}</b>{problem}"
            "<table><tr><th>result</th><th>check</th><th>points</th><th>feedback</th></tr>"
            f"{''.join(rows)}</table></div>"
        )
