"""Warnings about a seccomp profile that loads: valid, but probably not what its author meant.

It refuses nothing (``SCMP_ACT_ALLOW``/``SCMP_ACT_LOG`` default), allows dangerous syscalls,
makes a refused syscall report success (``errnoRet`` 0), uses Docker-only keys containerd ignores
(``includes``/``excludes``/``archMap``), needs a seccomp agent, or names syscalls the node's
architecture lacks (a note: runc skips those, which is harmless). Each check is a small function;
:func:`profile_warnings` runs the profile-wide ones, then the per-rule ones, in document order.
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from ..syscalls import SCMP_ARCH_OF, architectures_knowing, danger, is_syscall_name, libseccomp_architectures, node_arch
from .spec import ALLOWING_ACTIONS, CONTAINERD_IGNORED_KEYS, GO_ARCH

__all__ = ["ProfileWarning", "profile_warnings"]


@dataclass(frozen=True)
class ProfileWarning:
    """Something a valid profile does that is probably not what its author meant.

    ``level`` is ``warning`` (look again before using it) or ``note`` (harmless, good to know);
    ``kind`` names the check, for programs: ``allows-everything``, ``deny-list``, ``dangerous``,
    ``silent-success``, ``ignored-by-containerd``, ``needs-agent``, ``other-architecture``.
    """

    path: str
    message: str
    kind: str
    level: str = "warning"
    fix: str | None = None

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" + (f"\n  fix: {self.fix}" if self.fix else "")

    def _repr_html_(self) -> str:
        colour = "#9a6700" if self.level == "warning" else "#0969da"
        fix = f"<div><b>What to do:</b> {html.escape(self.fix)}</div>" if self.fix else ""
        return (f'<div style="border-left:4px solid {colour};padding:4px 8px"><b>{self.level}:</b> '
                f"<code>{html.escape(self.path)}</code> {html.escape(self.message)}{fix}</div>")


def _names_of(rule: dict) -> list[str]:
    names = rule.get("names")
    return [n for n in names if isinstance(n, str)] if isinstance(names, list) else []


def _rule_arches(rule: dict) -> set[str] | None:
    """libseccomp architectures a Docker rule is limited to by ``includes.arches`` (None: all)."""
    includes = rule.get("includes")
    arches = includes.get("arches") if isinstance(includes, dict) else None
    if not isinstance(arches, list) or not arches:
        return None
    return {GO_ARCH.get(str(a), str(a)) for a in arches}


def _target_arches(profile: dict, arch: str) -> set[str]:
    """Architectures the filter covers on a node of ``arch``: the native one plus the listed ones
    (and, for Docker, the archMap entry of the native architecture)."""
    targets = {arch}
    listed = profile.get("architectures")
    if isinstance(listed, list):
        targets |= {SCMP_ARCH_OF[t] for t in listed if t in SCMP_ARCH_OF}
    for entry in profile.get("archMap") or []:
        if isinstance(entry, dict) and SCMP_ARCH_OF.get(entry.get("architecture")) == arch:
            subs = entry.get("subArchitectures") or []
            targets |= {SCMP_ARCH_OF[t] for t in subs if t in SCMP_ARCH_OF}
    return targets


def _exists_on(name: str, arches: set[str]) -> bool:
    return bool(arches & (set(libseccomp_architectures(name) or ()) | set(architectures_knowing(name))))


def _condition_matters(condition: Any, key: str, names: list[str], arch: str, targets: set[str]) -> bool:
    """Does dropping this includes/excludes (as containerd does) change what the node allows?
    Capability and kernel conditions always do; an architecture condition only when it would
    keep the rule off this node while some of its names exist here."""
    if not isinstance(condition, dict):
        return False
    if condition.get("caps") or condition.get("minKernel"):
        return True
    arches = condition.get("arches")
    if not isinstance(arches, list) or not arches:
        return False
    listed = {GO_ARCH.get(str(a), str(a)) for a in arches}
    applies_here = (arch in listed) if key == "includes" else (arch not in listed)
    return not applies_here and any(is_syscall_name(n) and _exists_on(n, targets) for n in names)


def _short(names: list[str], limit: int = 8) -> str:
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _default_action(profile: dict, rules: list[dict]) -> list[ProfileWarning]:
    """An allowing default: a deny list of the refused names, or no refusal at all."""
    default = profile.get("defaultAction")
    if default not in ALLOWING_ACTIONS:
        return []
    verb = "lets every syscall it does not list through and logs it (audit mode)" \
        if default == "SCMP_ACT_LOG" else "lets every syscall it does not list through"
    refusing = [r for r in rules if r.get("action") not in ALLOWING_ACTIONS]
    if refusing:
        names = sorted({n for r in refusing for n in _names_of(r)})
        return [ProfileWarning(
            "$.defaultAction", f"defaultAction {default} {verb}: this is a deny list that refuses only "
                               f"the {len(names)} syscalls it names ({_short(names)})", "deny-list",
            fix="fine for a first exercise; a least-privilege profile uses SCMP_ACT_ERRNO and lists "
                "what the workload needs")]
    return [ProfileWarning(
        "$.defaultAction", f"this profile allows everything: defaultAction {default} {verb}, and no "
                           "rule refuses anything", "allows-everything",
        fix="record with it if that is the plan (SCMP_ACT_LOG); to enforce, use "
            "\"defaultAction\": \"SCMP_ACT_ERRNO\" and allow what the recording saw")]


def _default_errno(profile: dict, rules: list[dict]) -> list[ProfileWarning]:
    if profile.get("defaultAction") != "SCMP_ACT_ERRNO" or profile.get("defaultErrnoRet") != 0:
        return []
    return [ProfileWarning(
        "$.defaultErrnoRet", "defaultErrnoRet is 0: every syscall the profile refuses returns 0, so the "
                             "program believes it succeeded (mkdir reports success and creates nothing)",
        "silent-success", fix="remove defaultErrnoRet (EPERM, 1, is the default) or use an errno such as 1")]


def _arch_map(profile: dict, rules: list[dict]) -> list[ProfileWarning]:
    if "archMap" not in profile:
        return []
    return [ProfileWarning("$.archMap", CONTAINERD_IGNORED_KEYS["archMap"], "ignored-by-containerd",
                           fix="for a Kubernetes Localhost profile use \"architectures\"")]


def _needs_agent(profile: dict, rules: list[dict]) -> list[ProfileWarning]:
    if not profile.get("listenerPath") or not any(r.get("action") == "SCMP_ACT_NOTIFY" for r in rules):
        return []
    return [ProfileWarning(
        "$.listenerPath", f"SCMP_ACT_NOTIFY asks a seccomp agent listening at {profile['listenerPath']} on "
                          "every node; where none listens runc refuses to start the container (\"failed to "
                          "connect with seccomp agent specified in the seccomp profile\")", "needs-agent",
        fix="run the agent on every node first (the course's kind nodes run none)")]


@dataclass(frozen=True)
class _Rule:
    """One rule and what it is judged against: the profile's default action and the node."""

    rule: dict
    path: str
    names: list[str]
    default: Any
    arch: str
    targets: set[str]


def _ignored_conditions(r: _Rule) -> list[ProfileWarning]:
    return [ProfileWarning(f"{r.path}.{key}", CONTAINERD_IGNORED_KEYS[key] + f" ({_short(r.names, 4)})",
                           "ignored-by-containerd",
                           fix="for Kubernetes, keep only the rules every container of the pod should get")
            for key in ("includes", "excludes")
            if _condition_matters(r.rule.get(key), key, r.names, r.arch, r.targets)]


def _dangerous(r: _Rule) -> list[ProfileWarning]:
    """An unconditional allow of a dangerous syscall in a profile that refuses by default."""
    if r.rule.get("action") not in ALLOWING_ACTIONS or r.default in ALLOWING_ACTIONS or r.rule.get("args"):
        return []
    flagged = [f"{n} ({danger(n)})" for n in r.names if danger(n)]
    if not flagged:
        return []
    comment = str(r.rule.get("comment", "")).strip()
    reason = f'; the rule\'s comment says: "{r.rule["comment"]}"' if comment else ""
    return [ProfileWarning(
        f"{r.path}.names", f"allows dangerous syscalls: {'; '.join(flagged)}{reason}", "dangerous",
        fix="allow them only if the workload truly needs them, in a rule of their own with a "
            "\"comment\" saying why (`python -m labs.seccomp explain NAME`)")]


def _silent_refusal(r: _Rule) -> list[ProfileWarning]:
    if r.rule.get("action") != "SCMP_ACT_ERRNO" or r.rule.get("errnoRet") != 0:
        return []
    return [ProfileWarning(
        f"{r.path}.errnoRet", f"errnoRet is 0: {_short(r.names, 4)} will be refused but report success, so "
                              "the program believes the call worked while nothing happened", "silent-success",
        fix="remove errnoRet (EPERM, 1, is the default) or use a real errno")]


def _other_architecture(r: _Rule) -> list[ProfileWarning]:
    """A note for names the node's architectures lack (unless Docker limits the rule elsewhere)."""
    only = _rule_arches(r.rule)
    scope = (only & r.targets) if only is not None else r.targets
    if only is not None and not scope:
        return []  # Docker applies this rule only on other architectures
    missing = [n for n in r.names if is_syscall_name(n) and not _exists_on(n, scope)]
    if not missing:
        return []
    return [ProfileWarning(
        f"{r.path}.names", f"not syscalls on {', '.join(sorted(scope))}: {_short(missing)}; runc skips them "
                           "there (harmless; they exist on other architectures)", "other-architecture",
        level="note")]


#: Checks of the whole profile, then of each rule; the output keeps this order per rule.
_PROFILE_CHECKS = (_default_action, _default_errno, _arch_map, _needs_agent)
_RULE_CHECKS = (_ignored_conditions, _dangerous, _silent_refusal, _other_architecture)


def profile_warnings(profile: Any, arch: str | None = None) -> list[ProfileWarning]:
    """Warnings and notes about a profile that loads (see :class:`ProfileWarning`), in document
    order. ``arch`` is the nodes' architecture (default: this machine's)."""
    if not isinstance(profile, dict):
        return []
    arch = arch or node_arch()
    syscalls = profile.get("syscalls") if isinstance(profile.get("syscalls"), list) else []
    rules = [r for r in syscalls if isinstance(r, dict)]
    out = [warning for check in _PROFILE_CHECKS for warning in check(profile, rules)]
    targets = _target_arches(profile, arch)
    for i, rule in enumerate(syscalls):
        if isinstance(rule, dict):
            judged = _Rule(rule, f"$.syscalls[{i}]", _names_of(rule), profile.get("defaultAction"), arch, targets)
            out += [warning for check in _RULE_CHECKS for warning in check(judged)]
    return out
