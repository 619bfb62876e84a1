"""Errors of a parsed seccomp profile: what no runtime will do as written.

Why so strict: containerd reads a Localhost profile straight into the OCI runtime-spec's
``LinuxSeccomp`` type (``json.Unmarshal`` in contrib/seccomp ``WithProfile``), so every key that
type does not have is dropped without a word, and runc skips syscall names its libseccomp cannot
resolve for the node. Each problem names its JSON path, e.g. ``$.syscalls[2].action``, and says
how to fix it; :func:`labs.seccomp.validate.load_profile` refuses a profile that has any.
"""
from __future__ import annotations

import difflib
import json
import re
from typing import Any

from ..errors import ProfileError
from ..syscalls import SCMP_ARCH_NAMES, is_syscall_name, suggest_any
from .spec import ACTIONS, ARCHMAP_KEYS, ARG_KEYS, ERRNO_ACTIONS, FILTER_KEYS, FLAGS, OPERATORS, RULE_KEYS, TOP_KEYS

__all__ = ["profile_problems"]

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
        self.unknown_keys(profile, TOP_KEYS, "$")
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
        elif action not in ERRNO_ACTIONS:
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
            self.unknown_keys(entry, ARCHMAP_KEYS, path)
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
            self.unknown_keys(rule, RULE_KEYS, path)
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
        self.unknown_keys(value, FILTER_KEYS, path)
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
            self.unknown_keys(arg, ARG_KEYS, arg_path)
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
