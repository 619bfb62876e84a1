"""A compact view of a seccomp profile, for lessons to print what they generated before using it.

``profile_summary(profile)`` shows the default action (and what it does), the architectures,
and each rule as its action with the syscall names in a grid: the names a runtime start-up
needs are marked, argument conditions are spelled out. The full JSON is one click away.
"""
from __future__ import annotations

import html
import json
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from ..results import Result
from .build import RUNTIME_STARTUP_SYSCALLS
from .validate import ALLOWING_ACTIONS, load_profile

__all__ = ["ACTION_MEANINGS", "ProfileSummary", "RuleSummary", "profile_summary"]

#: What each action does to a matching syscall (seccomp(2); runc returns EPERM for
#: SCMP_ACT_ERRNO without an errnoRet).
ACTION_MEANINGS = {
    "SCMP_ACT_ALLOW": "runs",
    "SCMP_ACT_LOG": "runs and is logged to the kernel audit log",
    "SCMP_ACT_ERRNO": "is refused with an error (EPERM unless errnoRet says otherwise), not logged",
    "SCMP_ACT_KILL_PROCESS": "makes the kernel kill the whole process",
    "SCMP_ACT_KILL": "makes the kernel kill the calling thread",
    "SCMP_ACT_KILL_THREAD": "makes the kernel kill the calling thread",
    "SCMP_ACT_TRAP": "raises SIGSYS in the caller",
    "SCMP_ACT_TRACE": "goes to a ptrace tracer (refused with ENOSYS when there is none)",
    "SCMP_ACT_NOTIFY": "waits for a user-space supervisor's answer",
}
_OPS = {"SCMP_CMP_EQ": "==", "SCMP_CMP_NE": "!=", "SCMP_CMP_LT": "<", "SCMP_CMP_LE": "<=",
        "SCMP_CMP_GT": ">", "SCMP_CMP_GE": ">="}


def _condition(arg: dict) -> str:
    """``arg1 == 0o700`` / ``(arg0 & 0x10000000) == 0`` for one args entry."""
    index, op, value = arg.get("index", 0), arg.get("op", ""), arg.get("value", 0)
    if op == "SCMP_CMP_MASKED_EQ":
        return f"(arg{index} & {hex(value)}) == {hex(arg.get('valueTwo', 0))}"
    shown = oct(value) if 0o100 <= value <= 0o7777 and index else str(value)   # modes read best in octal
    return f"arg{index} {_OPS.get(op, op)} {shown}"


@dataclass
class RuleSummary(Result):
    """One rule: its action, the names it covers, and its argument condition (if any)."""

    action: str
    names: list[str]
    condition: str = ""
    errno_ret: int | None = None


@dataclass
class ProfileSummary(Result):
    """defaultAction, architectures and every rule of a profile, compact (see module doc)."""

    default_action: str
    architectures: list[str]
    rules: list[RuleSummary] = field(default_factory=list)
    default_errno_ret: int | None = None
    json_text: str = ""
    title: str = ""

    @property
    def allowed(self) -> list[str]:
        """Names an allow/log rule lets run (at least under some argument values), sorted."""
        return sorted({n for r in self.rules if r.action in ALLOWING_ACTIONS for n in r.names})

    def _default_line(self) -> str:
        errno = f" (defaultErrnoRet {self.default_errno_ret})" if self.default_errno_ret is not None else ""
        meaning = ACTION_MEANINGS.get(self.default_action, "")
        return f"defaultAction {self.default_action}{errno}: any syscall no rule names {meaning}"

    def __str__(self) -> str:
        lines = ([self.title] if self.title else []) + [
            self._default_line(),
            "architectures: " + (", ".join(self.architectures) or "none listed (the runtime adds the native one)")]
        if not self.rules:
            lines.append("no rules")
        for rule in self.rules:
            head = f"{rule.action} ({len(rule.names)})" + (f" when {rule.condition}" if rule.condition else "") + ":"
            lines.append(head)
            lines += textwrap.wrap(" ".join(rule.names), 96, initial_indent="  ", subsequent_indent="  ")
        if any(n in RUNTIME_STARTUP_SYSCALLS for r in self.rules for n in r.names):
            lines.append("(includes the container runtime's start-up set, which build_profile adds so the "
                         "container can start)")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        arches = ", ".join(f"<code>{html.escape(a)}</code>" for a in self.architectures) or \
            "none listed (the runtime adds the native one)"
        parts = [f"<div><b>{html.escape(self.title)}</b></div>" if self.title else "",
                 f"<div>{html.escape(self._default_line())}</div><div>architectures: {arches}</div>"]
        if not self.rules:
            parts.append("<div>no rules</div>")
        startup_seen = False
        for rule in self.rules:
            cells = []
            for name in rule.names:
                startup = name in RUNTIME_STARTUP_SYSCALLS
                startup_seen |= startup
                style = ' style="color:#7f8c8d"' if startup else ""
                cells.append(f"<code{style}>{html.escape(name)}{'*' if startup else ''}</code>")
            when = f" when <code>{html.escape(rule.condition)}</code>" if rule.condition else ""
            errno = f" (errnoRet {rule.errno_ret})" if rule.errno_ret is not None else ""
            parts.append(f"<div style='margin-top:4px'><b>{html.escape(rule.action)}</b>{errno}{when}: "
                         f"{len(rule.names)} syscall(s): each {html.escape(ACTION_MEANINGS.get(rule.action, ''))}</div>"
                         "<div style='display:grid;grid-template-columns:repeat(auto-fill,minmax(11em,1fr));"
                         "font-size:90%'>" + "".join(f"<span>{c}</span>" for c in cells) + "</div>")
        if startup_seen:
            parts.append("<div style='color:#7f8c8d;font-size:90%'>* in the container runtime's start-up set: "
                         "build_profile adds these so the container can start, whether or not the app calls "
                         "them</div>")
        if self.json_text:
            parts.append(f"<details><summary>the JSON ({self.json_text.count(chr(10)) + 1} lines)</summary>"
                         f"<pre>{html.escape(self.json_text)}</pre></details>")
        return ('<div class="course-profile-summary" style="border-left:4px solid #8e44ad;padding:4px 8px">'
                + "".join(parts) + "</div>")


def profile_summary(profile: dict | str | Path, title: str = "") -> ProfileSummary:
    """A compact view of ``profile`` (a dict, or a path/JSON text ``load_profile`` reads):
    default action, architectures, and the names of each rule as a grid. It validates the
    profile first, so an invalid one gives the same error as ``load_profile``."""
    if isinstance(profile, Path) and not title:
        title = profile.name
    loaded = load_profile(profile)
    rules = []
    for rule in loaded.get("syscalls") or []:
        names = sorted(rule.get("names") or ([rule["name"]] if "name" in rule else []))
        condition = " and ".join(_condition(a) for a in rule.get("args") or [])
        rules.append(RuleSummary(rule["action"], names, condition, rule.get("errnoRet")))
    return ProfileSummary(loaded["defaultAction"], list(loaded.get("architectures") or []), rules,
                          loaded.get("defaultErrnoRet"), json.dumps(loaded, indent=2, sort_keys=True), title)
