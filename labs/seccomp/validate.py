"""Load and validate seccomp profiles (the OCI / Docker / kubelet JSON format).

Why so strict: containerd reads a Localhost profile straight into the OCI runtime-spec's
``LinuxSeccomp`` type (``json.Unmarshal`` in contrib/seccomp ``WithProfile``), so every key that
type does not have is dropped without a word, and runc skips syscall names its libseccomp cannot
resolve for the node. "Valid JSON" is not "does what it says". Every problem found here names
its JSON path, e.g. ``$.syscalls[2].action``, and says how to fix it.

Two levels:

* :func:`profile_problems` -- errors: the profile is malformed, or says something no runtime
  will do (a typo in a key or a syscall name no architecture has, the legacy singular
  ``"name"`` that containerd drops). :func:`load_profile` refuses these.
* :func:`profile_warnings` -- the profile loads, but look again: it refuses nothing
  (``SCMP_ACT_ALLOW``/``SCMP_ACT_LOG`` default), allows dangerous syscalls, makes a refused
  syscall report success (``errnoRet`` 0), uses Docker-only keys containerd ignores
  (``includes``/``excludes``/``archMap``), needs a seccomp agent, or names syscalls the node's
  architecture lacks (a note: runc skips those, which is harmless).

Key sets: the OCI runtime-spec (``LinuxSeccomp``: defaultAction, defaultErrnoRet, architectures,
flags, listenerPath, listenerMetadata, syscalls; ``LinuxSyscall``: names, action, errnoRet, args)
plus Docker's profile format (moby ``profiles/seccomp``: archMap; per rule name, comment,
includes, excludes with caps, arches, minKernel).
"""
from __future__ import annotations

import difflib
import html
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ProfileError
from ..syscalls import (SCMP_ARCH, SCMP_ARCH_NAMES, SCMP_ARCH_OF, architectures_knowing, danger,
                        is_syscall_name, libseccomp_architectures, node_arch, suggest_any)

__all__ = [
    "ACTIONS",
    "ALLOWING_ACTIONS",
    "OPERATORS",
    "FLAGS",
    "MAX_PROFILE_BYTES",
    "CONTAINERD_IGNORED_KEYS",
    "ProfileWarning",
    "load_profile",
    "profile_problems",
    "profile_warnings",
    "profile_architectures",
]

ACTIONS = frozenset({
    "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
    "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY",
})
#: Actions under which the syscall runs (LOG runs it and writes an audit record).
ALLOWING_ACTIONS = frozenset({"SCMP_ACT_ALLOW", "SCMP_ACT_LOG"})
#: Actions that take an errno / tracer value in ``errnoRet``.
_ERRNO_ACTIONS = frozenset({"SCMP_ACT_ERRNO", "SCMP_ACT_TRACE"})
OPERATORS = frozenset({
    "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
    "SCMP_CMP_MASKED_EQ",
})
FLAGS = frozenset({
    "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
})
#: Docker's own default profile is about 20 KB; anything near a megabyte is a mistake or hostile.
MAX_PROFILE_BYTES = 1 << 20
#: runtime-spec ``LinuxSeccomp`` keys, then Docker's extra one.
_TOP_KEYS = ("defaultAction", "defaultErrnoRet", "architectures", "flags", "listenerPath",
             "listenerMetadata", "syscalls", "archMap")
#: runtime-spec ``LinuxSyscall`` keys, then Docker's extra ones.
_RULE_KEYS = ("names", "action", "errnoRet", "args", "comment", "includes", "excludes", "name")
_ARG_KEYS = ("index", "value", "valueTwo", "op")
_FILTER_KEYS = ("caps", "arches", "minKernel")
_ARCHMAP_KEYS = ("architecture", "subArchitectures")
#: Keys of Docker's format that containerd (so a Kubernetes Localhost profile) drops, and what
#: that changes. ``comment`` is dropped too, harmlessly (it is documentation).
CONTAINERD_IGNORED_KEYS = {
    "archMap": "containerd ignores archMap: the filter covers only the node's native architecture "
               "(list them in \"architectures\" instead)",
    "includes": "containerd ignores includes: under Kubernetes this rule applies to every container, "
                "whatever its capabilities, architecture or kernel",
    "excludes": "containerd ignores excludes: under Kubernetes this rule applies to every container, "
                "including the ones Docker would exclude",
}
#: Go architecture names (Docker's includes/excludes "arches") -> libseccomp names.
_GO_ARCH = {"amd64": "x86_64", "arm64": "aarch64", "386": "x86", "loong64": "loongarch64"}
_MIN_KERNEL = re.compile(r"^[0-9]+\.[0-9]+$")
_UINT64_MAX = (1 << 64) - 1
_MAX_ARG_INDEX = 5


def _close(word: str, options) -> str:
    match = difflib.get_close_matches(word, sorted(options), n=1, cutoff=0.5)
    return f"did you mean {match[0]!r}?" if match else f"use one of: {', '.join(sorted(options))}"


def _type_name(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            int: "an integer", float: "a number", type(None): "null"}.get(type(value), type(value).__name__)


def _is_uint(value: Any, limit: int = _UINT64_MAX) -> bool:
    return type(value) is int and 0 <= value <= limit


class _Checker:
    """Collects every problem of one profile; ``problems`` keeps document order."""

    def __init__(self, profile: Any):
        self.profile = profile
        self.problems: list[ProfileError] = []

    def add(self, path: str, message: str, fix: str | None = None) -> None:
        self.problems.append(ProfileError(message, path=path, fix=fix))

    def unknown_keys(self, obj: dict, allowed: tuple[str, ...], path: str) -> None:
        lower = {k.lower(): k for k in allowed}
        for key in obj:
            if key in allowed:
                continue
            if key.lower() in lower:  # Go's encoding/json matches keys case-insensitively
                self.add(f"{path}.{key}", f"key {key!r} is spelled {lower[key.lower()]!r} in the spec: Go's JSON "
                                          "decoder (containerd, Docker) accepts the other case, most other tools "
                                          "(and this course's grader) do not", f"write {lower[key.lower()]!r}")
            else:
                self.add(f"{path}.{key}", f"unknown key {key!r}: containerd and runc ignore it "
                                          f"silently, so it has no effect", _close(key, allowed))

    def run(self) -> list[ProfileError]:
        profile = self.profile
        if not isinstance(profile, dict):
            self.add("$", f"a profile must be a JSON object, got {_type_name(profile)}",
                     'start from {"defaultAction": "SCMP_ACT_LOG"}')
            return self.problems
        self.unknown_keys(profile, _TOP_KEYS, "$")
        default = profile.get("defaultAction")
        if "defaultAction" not in profile:
            self.add("$.defaultAction", "missing defaultAction",
                     'add "defaultAction": "SCMP_ACT_ERRNO" (enforce) or "SCMP_ACT_LOG" (audit)')
        elif self.action(default, "$.defaultAction") == "SCMP_ACT_NOTIFY":
            self.add("$.defaultAction", "SCMP_ACT_NOTIFY cannot be the default action",
                     "the runtime's own syscalls would wait for the listener; notify single syscalls")
        if "defaultErrnoRet" in profile:
            self.errno_ret(profile["defaultErrnoRet"], default, "$.defaultErrnoRet")
        self.architectures(profile.get("architectures"))
        self.arch_map(profile)
        for key in ("listenerPath", "listenerMetadata"):
            if key in profile and not isinstance(profile[key], str):
                self.add(f"$.{key}", f"{key} must be a string, got {_type_name(profile[key])}")
        self.flags(profile.get("flags"))
        actions = self.rules(profile.get("syscalls"))
        notify = "SCMP_ACT_NOTIFY" in actions
        if notify and not profile.get("listenerPath"):
            self.add("$.listenerPath", "SCMP_ACT_NOTIFY is used but listenerPath is missing",
                     "set listenerPath to the unix socket of the seccomp agent that answers")
        if profile.get("listenerPath") and not notify:
            self.add("$.listenerPath", "listenerPath is set but no rule uses SCMP_ACT_NOTIFY, so runc "
                                       "ignores it (no seccomp agent is ever asked)",
                     "remove listenerPath, or use SCMP_ACT_NOTIFY for the syscalls the agent handles")
        return self.problems

    def action(self, value: Any, path: str) -> str | None:
        if not isinstance(value, str):
            self.add(path, f"action must be a string, got {_type_name(value)}", _close("", ACTIONS))
            return None
        if value not in ACTIONS:
            self.add(path, f"unknown action {value!r}", _close(value, ACTIONS))
            return None
        return value

    def errno_ret(self, value: Any, action: Any, path: str) -> None:
        if not _is_uint(value, 0xFFFF):
            self.add(path, f"{path.rsplit('.', 1)[-1]} must be a non-negative integer "
                           f"(an errno such as 1 for EPERM), got {value!r}")
        elif action not in _ERRNO_ACTIONS:
            self.add(path, f"{path.rsplit('.', 1)[-1]} only applies to SCMP_ACT_ERRNO or "
                           f"SCMP_ACT_TRACE, not {action}", "remove it or change the action")

    def arch_token(self, arch: Any, path: str) -> None:
        if not isinstance(arch, str):
            self.add(path, f"architecture must be a string, got {_type_name(arch)}")
        elif arch not in SCMP_ARCH_NAMES:
            self.add(path, f"unknown architecture {arch!r}", _close(arch, SCMP_ARCH_NAMES))

    def architectures(self, value: Any) -> None:
        if value is None:
            return
        if not isinstance(value, list):
            self.add("$.architectures", f"architectures must be a list, got {_type_name(value)}")
            return
        for i, arch in enumerate(value):
            self.arch_token(arch, f"$.architectures[{i}]")

    def arch_map(self, profile: dict) -> None:
        """Docker's ``archMap``: [{"architecture": TOKEN, "subArchitectures": [TOKEN, ...]}]."""
        if "archMap" not in profile:
            return
        value = profile["archMap"]
        if profile.get("architectures") and value:
            self.add("$.archMap", "both architectures and archMap are set (Docker refuses such a profile)",
                     "keep architectures (containerd reads only that one)")
        if not isinstance(value, list):
            self.add("$.archMap", f"archMap must be a list, got {_type_name(value)}")
            return
        for i, entry in enumerate(value):
            path = f"$.archMap[{i}]"
            if not isinstance(entry, dict):
                self.add(path, f"an archMap entry must be an object, got {_type_name(entry)}")
                continue
            self.unknown_keys(entry, _ARCHMAP_KEYS, path)
            self.arch_token(entry.get("architecture"), f"{path}.architecture")
            subs = entry.get("subArchitectures")
            if subs is None:
                continue
            if not isinstance(subs, list):
                self.add(f"{path}.subArchitectures", f"subArchitectures must be a list, got {_type_name(subs)}")
                continue
            for j, sub in enumerate(subs):
                self.arch_token(sub, f"{path}.subArchitectures[{j}]")

    def flags(self, value: Any) -> None:
        if value is None:
            return
        if not isinstance(value, list):
            self.add("$.flags", f"flags must be a list, got {_type_name(value)}")
            return
        for i, flag in enumerate(value):
            if not isinstance(flag, str) or flag not in FLAGS:
                self.add(f"$.flags[{i}]", f"unknown flag {flag!r}", _close(str(flag), FLAGS))

    def rules(self, value: Any) -> set[str]:
        """Check ``$.syscalls``; return the set of actions used."""
        actions: set[str] = set()
        if value is None:
            return actions
        if not isinstance(value, list):
            self.add("$.syscalls", f"syscalls must be a list of rules, got {_type_name(value)}",
                     'use [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]')
            return actions
        first_seen: dict[str, tuple[str, str]] = {}  # name -> (action, path) of unconditional rules
        for i, rule in enumerate(value):
            path = f"$.syscalls[{i}]"
            if not isinstance(rule, dict):
                self.add(path, f"a rule must be an object, got {_type_name(rule)}")
                continue
            self.unknown_keys(rule, _RULE_KEYS, path)
            action = None
            if "action" not in rule:
                self.add(f"{path}.action", "rule has no action", "add \"action\": \"SCMP_ACT_ALLOW\"")
            else:
                action = self.action(rule["action"], f"{path}.action")
            if action:
                actions.add(action)
            if "errnoRet" in rule:
                self.errno_ret(rule["errnoRet"], action, f"{path}.errnoRet")
            if "comment" in rule and not isinstance(rule["comment"], str):
                self.add(f"{path}.comment", f"comment must be a string, got {_type_name(rule['comment'])}")
            conditional = self.args(rule.get("args"), f"{path}.args")
            for key in ("includes", "excludes"):
                if key in rule:
                    conditional = self.condition(rule[key], f"{path}.{key}") or conditional
            for name, name_path in self.names(rule, path):
                if action and not conditional:
                    earlier = first_seen.setdefault(name, (action, name_path))
                    if earlier[0] != action:
                        self.add(name_path, f"{name} has conflicting actions: {earlier[0]} at "
                                            f"{earlier[1]} and {action} here",
                                 "keep one rule per syscall; libseccomp refuses conflicting rules")
        return actions

    def condition(self, value: Any, path: str) -> bool:
        """Docker's includes/excludes filter; True when it restricts the rule."""
        if not isinstance(value, dict):
            self.add(path, f"{path.rsplit('.', 1)[-1]} must be an object with caps, arches or minKernel, "
                           f"got {_type_name(value)}")
            return False
        self.unknown_keys(value, _FILTER_KEYS, path)
        for key in ("caps", "arches"):
            items = value.get(key)
            if items is None:
                continue
            if not isinstance(items, list) or not all(isinstance(x, str) and x for x in items):
                self.add(f"{path}.{key}", f"{key} must be a list of strings, got {items!r}")
        kernel = value.get("minKernel")
        if kernel is not None and not (isinstance(kernel, str) and (kernel == "" or _MIN_KERNEL.match(kernel))):
            self.add(f"{path}.minKernel", f"minKernel must be a string \"<kernel>.<major>\" such as \"5.8\", "
                                          f"got {kernel!r}")
        return bool(value.get("caps") or value.get("arches") or value.get("minKernel"))

    def names(self, rule: dict, path: str) -> list[tuple[str, str]]:
        """Check the rule's names; return (name, path) of the well-formed ones."""
        if "name" in rule:
            self.add(f"{path}.name",
                     "containerd ignores the legacy singular \"name\" (only Docker still reads it, and "
                     "refuses it next to \"names\"): under Kubernetes this rule matches no syscall",
                     f'write "names": [{json.dumps(rule["name"]) if isinstance(rule["name"], str) else "..."}] instead')
        if "names" not in rule:
            if "name" not in rule:
                self.add(f"{path}.names", "rule has no names", 'add "names": ["read", "write"]')
            return []
        names, names_path = rule["names"], f"{path}.names"
        if not isinstance(names, list):
            self.add(names_path, f"names must be a list of strings, got {_type_name(names)}")
            return []
        if not names:
            self.add(names_path, "names is empty: the rule matches nothing",
                     "list the syscalls or delete the rule")
        good = []
        for j, name in enumerate(names):
            name_path = f"{names_path}[{j}]"
            if not isinstance(name, str):
                self.add(name_path, f"syscall name must be a string, got {_type_name(name)}")
            elif not name.strip():
                self.add(name_path, "empty syscall name")
            elif not is_syscall_name(name):
                close = suggest_any(name)
                self.add(name_path, f"unknown syscall {name!r}: no architecture has a syscall of that name "
                                    "(runc would skip it silently)",
                         ("did you mean " + " or ".join(repr(c) for c in close) + "?") if close
                         else "check the spelling against labs.syscalls.all_syscalls(arch)")
            else:
                good.append((name, name_path))
        return good

    def args(self, value: Any, path: str) -> bool:
        """Check an ``args`` list; True when the rule is conditional (has arguments)."""
        if value is None:
            return False
        if not isinstance(value, list):
            self.add(path, f"args must be a list, got {_type_name(value)}")
            return False
        for k, arg in enumerate(value):
            arg_path = f"{path}[{k}]"
            if not isinstance(arg, dict):
                self.add(arg_path, f"an argument condition must be an object, got {_type_name(arg)}")
                continue
            self.unknown_keys(arg, _ARG_KEYS, arg_path)
            if not _is_uint(arg.get("index"), _MAX_ARG_INDEX):
                self.add(f"{arg_path}.index", f"index must be an integer 0-5 (syscalls have at most "
                                              f"six arguments), got {arg.get('index')!r}")
            for key in ("value", "valueTwo"):
                if key in arg and not _is_uint(arg[key]):
                    self.add(f"{arg_path}.{key}", f"{key} must be an unsigned 64-bit integer, "
                                                  f"got {arg[key]!r}")
            if "value" not in arg:
                self.add(f"{arg_path}.value", "missing value to compare the argument with")
            op = arg.get("op")
            if not isinstance(op, str) or op not in OPERATORS:
                self.add(f"{arg_path}.op", f"unknown operator {op!r}", _close(str(op), OPERATORS))
        return bool(value)


def profile_problems(profile: Any) -> list[ProfileError]:
    """Every problem of a parsed profile, in document order (empty when it is valid)."""
    try:
        return _Checker(profile).run()
    except RecursionError:
        return [ProfileError("the profile is nested too deeply", fix="profiles are flat: rules, names, args")]


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
    return {_GO_ARCH.get(str(a), str(a)) for a in arches}


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
    listed = {_GO_ARCH.get(str(a), str(a)) for a in arches}
    applies_here = (arch in listed) if key == "includes" else (arch not in listed)
    return not applies_here and any(is_syscall_name(n) and _exists_on(n, targets) for n in names)


def _short(names: list[str], limit: int = 8) -> str:
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


def profile_warnings(profile: Any, arch: str | None = None) -> list[ProfileWarning]:
    """Warnings and notes about a profile that loads (see :class:`ProfileWarning`), in document
    order. ``arch`` is the nodes' architecture (default: this machine's)."""
    if not isinstance(profile, dict):
        return []
    arch = arch or node_arch()
    out: list[ProfileWarning] = []
    default = profile.get("defaultAction")
    rules = [r for r in profile.get("syscalls") or [] if isinstance(r, dict)] \
        if isinstance(profile.get("syscalls"), list) else []
    refusing = [r for r in rules if r.get("action") not in ALLOWING_ACTIONS]
    if default in ALLOWING_ACTIONS:
        verb = "lets every syscall it does not list through and logs it (audit mode)" \
            if default == "SCMP_ACT_LOG" else "lets every syscall it does not list through"
        if refusing:
            names = sorted({n for r in refusing for n in _names_of(r)})
            out.append(ProfileWarning(
                "$.defaultAction", f"defaultAction {default} {verb}: this is a deny list that refuses only "
                                   f"the {len(names)} syscalls it names ({_short(names)})", "deny-list",
                fix="fine for a first exercise; a least-privilege profile uses SCMP_ACT_ERRNO and lists "
                    "what the workload needs"))
        else:
            out.append(ProfileWarning(
                "$.defaultAction", f"this profile allows everything: defaultAction {default} {verb}, and no "
                                   "rule refuses anything", "allows-everything",
                fix="record with it if that is the plan (SCMP_ACT_LOG); to enforce, use "
                    "\"defaultAction\": \"SCMP_ACT_ERRNO\" and allow what the recording saw"))
    if default == "SCMP_ACT_ERRNO" and profile.get("defaultErrnoRet") == 0:
        out.append(ProfileWarning(
            "$.defaultErrnoRet", "defaultErrnoRet is 0: every syscall the profile refuses returns 0, so the "
                                 "program believes it succeeded (mkdir reports success and creates nothing)",
            "silent-success", fix="remove defaultErrnoRet (EPERM, 1, is the default) or use an errno such as 1"))
    for key in ("archMap",):
        if key in profile:
            out.append(ProfileWarning(f"$.{key}", CONTAINERD_IGNORED_KEYS[key], "ignored-by-containerd",
                                      fix="for a Kubernetes Localhost profile use \"architectures\""))
    if profile.get("listenerPath") and any(r.get("action") == "SCMP_ACT_NOTIFY" for r in rules):
        out.append(ProfileWarning(
            "$.listenerPath", f"SCMP_ACT_NOTIFY asks a seccomp agent listening at {profile['listenerPath']} on "
                              "every node; where none listens runc refuses to start the container (\"failed to "
                              "connect with seccomp agent specified in the seccomp profile\")", "needs-agent",
            fix="run the agent on every node first (the course's kind nodes run none)"))
    targets = _target_arches(profile, arch)
    for i, rule in enumerate(profile.get("syscalls") or []):
        if not isinstance(rule, dict):
            continue
        path = f"$.syscalls[{i}]"
        names = _names_of(rule)
        for key in ("includes", "excludes"):
            if _condition_matters(rule.get(key), key, names, arch, targets):
                out.append(ProfileWarning(f"{path}.{key}", CONTAINERD_IGNORED_KEYS[key] + f" ({_short(names, 4)})",
                                          "ignored-by-containerd",
                                          fix="for Kubernetes, keep only the rules every container of the pod "
                                              "should get"))
        action = rule.get("action")
        if action in ALLOWING_ACTIONS and default not in ALLOWING_ACTIONS and not rule.get("args"):
            flagged = [f"{n} ({danger(n)})" for n in names if danger(n)]
            if flagged:
                reason = f'; the rule\'s comment says: "{rule["comment"]}"' if str(rule.get("comment", "")).strip() else ""
                out.append(ProfileWarning(
                    f"{path}.names", f"allows dangerous syscalls: {'; '.join(flagged)}{reason}", "dangerous",
                    fix="allow them only if the workload truly needs them, in a rule of their own with a "
                        "\"comment\" saying why (`python -m labs.seccomp explain NAME`)"))
        if action == "SCMP_ACT_ERRNO" and rule.get("errnoRet") == 0:
            out.append(ProfileWarning(
                f"{path}.errnoRet", f"errnoRet is 0: {_short(names, 4)} will be refused but report success, so "
                                    "the program believes the call worked while nothing happened", "silent-success",
                fix="remove errnoRet (EPERM, 1, is the default) or use a real errno"))
        only = _rule_arches(rule)
        scope = (only & targets) if only is not None else targets
        if only is not None and not scope:
            continue  # Docker applies this rule only on other architectures
        missing = [n for n in names if is_syscall_name(n) and not _exists_on(n, scope)]
        if missing:
            where = ", ".join(sorted(scope))
            out.append(ProfileWarning(
                f"{path}.names", f"not syscalls on {where}: {_short(missing)}; runc skips them there "
                                 "(harmless; they exist on other architectures)", "other-architecture",
                level="note"))
    return out


def profile_architectures(profile: dict) -> tuple[str, ...]:
    """Our table architectures named by a profile (all of them when it names none)."""
    tokens = profile.get("architectures") or list(SCMP_ARCH.values())
    return tuple(arch for arch, token in SCMP_ARCH.items() if token in tokens)


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict:
    seen = set()
    for key, _ in pairs:
        if key in seen:
            raise ProfileError(f"duplicate key {key!r}: JSON parsers keep only the last one",
                               fix="write each key once")
        seen.add(key)
    return dict(pairs)


def _reject_constant(name: str) -> None:
    raise ProfileError(f"{name} is not valid JSON", fix="use plain integers")


def _parse(text: str, where: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise ProfileError(f"invalid JSON in {where}: {exc.msg}",
                           path=f"line {exc.lineno}, column {exc.colno}",
                           fix="fix the JSON syntax (a trailing comma or a missing quote is common)") from None
    except RecursionError:
        raise ProfileError(f"{where} is nested too deeply", fix="profiles are flat: rules, names, args") from None


def _check_size(size: int, where: str) -> None:
    if size > MAX_PROFILE_BYTES:
        raise ProfileError(f"{where} is {size} bytes, over the {MAX_PROFILE_BYTES}-byte limit",
                           fix="a profile lists a few hundred names at most; check you chose the right file")


def _decode(data: bytes, where: str) -> str:
    _check_size(len(data), where)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProfileError(f"{where} is not UTF-8 (byte {exc.start} is 0x{data[exc.start]:02x})",
                           fix="save the file as UTF-8") from None


def _read(source: str | Path | bytes | dict) -> Any:
    if isinstance(source, dict):
        return source
    if isinstance(source, bytes):
        return _parse(_decode(source, "the profile"), "the profile")
    if isinstance(source, str) and source.lstrip().startswith(("{", "[")):
        return _parse(_decode(source.encode("utf-8", "surrogatepass"), "the profile"), "the profile")
    path = Path(source)
    try:
        _check_size(path.stat().st_size, str(path))
        data = path.read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        raise ProfileError(f"no profile file at {path}", fix="check the path (relative to the notebook's folder)") from None
    return _parse(_decode(data, str(path)), str(path))


def load_profile(source: str | Path | bytes | dict) -> dict:
    """Read and validate a profile from a file path, JSON text (str starting with ``{``) or dict.

    Raises :class:`~labs.errors.ProfileError` for the first problem; its message lists the
    others and ``.problems`` holds them all.
    """
    profile = _read(source)
    problems = profile_problems(profile)
    if problems:
        first = problems[0]
        rest = "".join(f"\n  also {p.message}" for p in problems[1:])
        message = first.message.removeprefix(f"{first.path}: ")
        error = ProfileError(message + rest, path=first.path, fix=first.fix)
        error.problems = problems
        raise error
    return profile
