"""Load and validate seccomp profiles (the OCI / Docker / kubelet JSON format).

Why so strict: runc quietly ignores what it does not understand (an unknown syscall name, a
misspelled key), so a broken profile often *loads* and then fails at run time in a way that
is hard to trace back. Every problem found here names its JSON path, e.g.
``$.syscalls[2].action``, and says how to fix it.
"""
from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

from ..errors import ProfileError
from ..syscalls import (ARCHITECTURES, COMPAT_ARCHITECTURES, SCMP_ARCH, SCMP_ARCH_NAMES,
                        architectures_knowing, unknown_syscall_hint)

__all__ = [
    "ACTIONS",
    "ALLOWING_ACTIONS",
    "OPERATORS",
    "FLAGS",
    "MAX_PROFILE_BYTES",
    "load_profile",
    "profile_problems",
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
_TOP_KEYS = ("defaultAction", "defaultErrnoRet", "architectures", "archMap", "flags",
             "listenerPath", "listenerMetadata", "syscalls")
_RULE_KEYS = ("names", "name", "action", "errnoRet", "args", "comment", "includes", "excludes")
_ARG_KEYS = ("index", "value", "valueTwo", "op")
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
        for key in obj:
            if key not in allowed:
                self.add(f"{path}.{key}", f"unknown key {key!r} (runc ignores it silently)",
                         _close(key, allowed))

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
        arches = self.architectures(profile.get("architectures"))
        for key in ("listenerPath", "listenerMetadata"):
            if key in profile and not isinstance(profile[key], str):
                self.add(f"$.{key}", f"{key} must be a string, got {_type_name(profile[key])}")
        self.flags(profile.get("flags"))
        actions = self.rules(profile.get("syscalls"), arches)
        notify = "SCMP_ACT_NOTIFY" in actions
        if notify and not profile.get("listenerPath"):
            self.add("$.listenerPath", "SCMP_ACT_NOTIFY is used but listenerPath is missing",
                     "set listenerPath to the unix socket of the seccomp agent that answers")
        if profile.get("listenerPath") and not notify:
            self.add("$.listenerPath", "listenerPath is set but no rule uses SCMP_ACT_NOTIFY",
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

    def architectures(self, value: Any) -> tuple[str, ...]:
        """Check ``$.architectures``; return the ones we have syscall tables for (all if none)."""
        if value is None or value == []:
            return ARCHITECTURES + tuple(COMPAT_ARCHITECTURES)
        if not isinstance(value, list):
            self.add("$.architectures", f"architectures must be a list, got {_type_name(value)}")
            return ARCHITECTURES + tuple(COMPAT_ARCHITECTURES)
        by_token = {**{v: k for k, v in SCMP_ARCH.items()}, **{v: k for k, v in COMPAT_ARCHITECTURES.items()}}
        known = []
        for i, arch in enumerate(value):
            path = f"$.architectures[{i}]"
            if not isinstance(arch, str):
                self.add(path, f"architecture must be a string, got {_type_name(arch)}")
            elif arch not in SCMP_ARCH_NAMES:
                self.add(path, f"unknown architecture {arch!r}", _close(arch, SCMP_ARCH_NAMES))
            elif arch in by_token:
                known.append(by_token[arch])
        return tuple(known)

    def flags(self, value: Any) -> None:
        if value is None:
            return
        if not isinstance(value, list):
            self.add("$.flags", f"flags must be a list, got {_type_name(value)}")
            return
        for i, flag in enumerate(value):
            if not isinstance(flag, str) or flag not in FLAGS:
                self.add(f"$.flags[{i}]", f"unknown flag {flag!r}", _close(str(flag), FLAGS))

    def rules(self, value: Any, arches: tuple[str, ...]) -> set[str]:
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
            has_args = self.args(rule.get("args"), f"{path}.args")
            for name, name_path in self.names(rule, path, arches):
                if action and not has_args:
                    earlier = first_seen.setdefault(name, (action, name_path))
                    if earlier[0] != action:
                        self.add(name_path, f"{name} has conflicting actions: {earlier[0]} at "
                                            f"{earlier[1]} and {action} here",
                                 "keep one rule per syscall; libseccomp refuses conflicting rules")
        return actions

    def names(self, rule: dict, path: str, arches: tuple[str, ...]) -> list[tuple[str, str]]:
        """Check the rule's names; return (name, path) of the well-formed ones."""
        if "names" in rule:
            names, names_path = rule["names"], f"{path}.names"
            if not isinstance(names, list):
                self.add(names_path, f"names must be a list of strings, got {_type_name(names)}")
                return []
            if not names:
                self.add(names_path, "names is empty: the rule matches nothing",
                         "list the syscalls or delete the rule")
        elif "name" in rule:
            names, names_path = [rule["name"]], f"{path}.name"
        else:
            self.add(f"{path}.names", "rule has no names", 'add "names": ["read", "write"]')
            return []
        good = []
        for j, name in enumerate(names):
            name_path = names_path if "names" not in rule else f"{names_path}[{j}]"
            if not isinstance(name, str):
                self.add(name_path, f"syscall name must be a string, got {_type_name(name)}")
            elif not name.strip():
                self.add(name_path, "empty syscall name")
            elif arches and not set(architectures_knowing(name)) & set(arches):
                self.add(name_path, f"unknown syscall {name!r} for {', '.join(arches)}",
                         unknown_syscall_hint(name, arches))
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
