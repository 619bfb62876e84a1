"""Turn one denied syscall into advice a learner can act on.

Why: an audit line says ``syscall=165`` and nothing else. The useful answer is "this is
``mount``; you can allow it, but here is why that undoes much of the container's isolation,
and here is what RuntimeDefault does with it".
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field

from ..results import Result
from ..syscalls import (
    danger,
    describe,
    is_known,
    is_syscall_name,
    suggest,
    suggest_any,
    syscall_name,
    syscall_number,
    unknown_syscall_hint,
)
from .compare import runtime_default

__all__ = ["DenialExplanation", "explain_denial"]


@dataclass
class DenialExplanation(Result):
    """Why a syscall was refused and what to do; ``str()`` is the advice."""

    syscall: str
    arch: str
    known: bool
    number: int | None
    description: str
    danger: str | None
    runtime_default: str | None
    suggestions: list[str] = field(default_factory=list)
    advice: str = ""

    def __str__(self) -> str:
        return self.advice

    def _repr_html_(self) -> str:
        colour = "#cf222e" if self.danger or not self.known else "#0969da"
        return (f'<div style="border-left:4px solid {colour};padding:4px 8px">'
                f"<b>{html.escape(self.syscall)}</b> ({html.escape(self.arch)}"
                + (f", number {self.number}" if self.number is not None else "")
                + f"): {html.escape(self.description)}<div>{html.escape(self.advice)}</div></div>")


def _runtime_default_status(name: str) -> str | None:
    entry = runtime_default()["syscalls"].get(name)
    if entry is None:
        return None
    if entry["allowed"] == "unconditional":
        return "allowed unconditionally"
    return "allowed only when: " + "; or ".join(entry["when"])


def explain_denial(syscall: str | int, arch: str = "x86_64") -> DenialExplanation:
    """Advice for a refused syscall (a name, or a number as audit records give it)."""
    if isinstance(syscall, int):
        syscall = syscall_name(syscall, arch)
    if not is_known(syscall, arch):
        hint = unknown_syscall_hint(syscall, (arch,))
        suggestions = suggest(syscall, (arch,)) if is_syscall_name(syscall) else suggest_any(syscall)
        if not is_syscall_name(syscall) and suggestions:
            hint = "did you mean " + " or ".join(repr(c) for c in suggestions) + "?"
        return DenialExplanation(
            syscall=syscall, arch=arch, known=False, number=None, description=describe(syscall),
            danger=None, runtime_default=None, suggestions=suggestions,
            advice=f"{syscall!r} is not a syscall on {arch}: {hint}")
    reason = danger(syscall)
    status = _runtime_default_status(syscall)
    advice = (f"allow {syscall}: add it to the names of the SCMP_ACT_ALLOW rule and run the "
              f"workload again ({syscall}: {describe(syscall)})")
    if reason:
        advice += (f"; note {syscall} is dangerous because {reason}. Prefer changing the workload, "
                   f"or allow it only in this workload's own profile")
    advice += (f". RuntimeDefault: {status}." if status
               else ". RuntimeDefault refuses it too.")
    return DenialExplanation(syscall=syscall, arch=arch, known=True, number=syscall_number(syscall, arch),
                             description=describe(syscall), danger=reason,
                             runtime_default=status, advice=advice)
