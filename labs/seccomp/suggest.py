"""Argument-level suggestions for a recorded profile (pure functions).

Why: an allow-list says *which* syscalls may run, not *how*. The seccomp filter also sees the
raw register values of a syscall's arguments, so where an argument is a plain number (flags,
an address family, a mode) a rule can narrow it. It cannot follow pointers: a path, a socket
address or clone3's argument struct live in memory the filter never reads. An audit record
carries no arguments either, so each suggestion says where its values come from and must be
checked with a staged run (``staging=True``): a call the narrowed rule refuses is then logged.
"""
from __future__ import annotations

import socket
from collections.abc import Iterable
from dataclasses import dataclass

from ..results import Result
from ..syscalls import CLONE_NAMESPACES_MASK
from .validate import load_profile

__all__ = ["Suggestion", "suggest_arguments", "apply_suggestions", "FAMILY_NAMES"]

#: address family number -> name, for the families a container can have sockets of
FAMILY_NAMES = {int(socket.AF_UNIX): "AF_UNIX", int(socket.AF_INET): "AF_INET", int(socket.AF_INET6): "AF_INET6",
                int(socket.AF_NETLINK): "AF_NETLINK", int(socket.AF_PACKET): "AF_PACKET"}
PERSONALITY_QUERY = 0xFFFFFFFF
ENOSYS = 38


@dataclass
class Suggestion(Result):
    """One narrowing: the rules that replace the plain allow of ``syscall``, and its limits."""

    syscall: str
    rules: list[dict]
    protects: str
    cannot: str
    evidence: str
    automatic: bool = True           # False: needs a value the recording cannot know

    def __str__(self) -> str:
        return (f"{self.syscall}: {self.protects}\n  cannot: {self.cannot}\n  evidence: {self.evidence}")


def _arg(index: int, value: int, op: str = "SCMP_CMP_EQ", value_two: int | None = None) -> dict:
    arg = {"index": index, "value": value, "op": op}
    if value_two is not None:
        arg["valueTwo"] = value_two
    return arg


def _clone(names: set[str]) -> list[Suggestion]:
    out = [Suggestion(
        "clone", [{"names": ["clone"], "action": "SCMP_ACT_ALLOW",
                   "args": [_arg(0, CLONE_NAMESPACES_MASK, "SCMP_CMP_MASKED_EQ", 0)]}],
        "threads and processes still start; creating namespaces (CLONE_NEWUSER, CLONE_NEWNS, ...), "
        "the first step of many container escapes, is refused",
        "unshare(2) and setns(2) are separate syscalls (keep them out of the allow-list); "
        "the child's stack and TLS pointers are not checked",
        "clone's flags are its first argument, a plain number the filter reads")]
    if "clone3" in names:
        out.append(Suggestion(
            "clone3", [{"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": ENOSYS}],
            "clone3 passes its flags in a struct the filter cannot read, so it cannot be narrowed; "
            "answering ENOSYS makes glibc fall back to clone, which the rule above narrows",
            "a program that calls clone3 directly with no fallback breaks (Docker's default "
            "profile makes the same choice)",
            "clone3's only argument is a pointer"))
    return out


def _socket(families: Iterable[int]) -> list[Suggestion]:
    families = sorted({int(f) for f in families})
    if not families:
        return []
    shown = ", ".join(FAMILY_NAMES.get(f, str(f)) for f in families)
    return [Suggestion(
        "socket", [{"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [_arg(0, f)]} for f in families],
        f"only {shown} sockets can be created: no raw packet sockets (AF_PACKET), no netlink "
        "unless listed, no exotic families with a history of kernel bugs",
        "the address a socket connects or binds to is a pointer (connect/bind's sockaddr): this "
        "does not limit where the program talks; families opened and closed between two looks are missed",
        f"families of the sockets the workload held while it was recorded: {shown}")]


def _personality() -> list[Suggestion]:
    return [Suggestion(
        "personality", [{"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [_arg(0, v)]}
                        for v in (0, PERSONALITY_QUERY)],
        "the program may read its persona (0xffffffff) or set the default one, but cannot turn "
        "off address-space randomisation (ADDR_NO_RANDOMIZE) or make data executable (READ_IMPLIES_EXEC)",
        "a program that really switches persona (setarch, 32-bit emulation) breaks: check with a staged run",
        "personality's only argument is a plain number; the usual calls are a query and the default")]


def _mkdir(names: set[str]) -> list[Suggestion]:
    found = sorted(names & {"mkdir", "mkdirat"})
    if not found:
        return []
    return [Suggestion(
        name, [], "a mode rule (e.g. only 0700) refuses directories created with other modes, "
        "as lesson 04 does for nginx",
        "the path is a pointer: the rule cannot say where directories are made",
        f"the mode is argument {1 if name == 'mkdir' else 2}, but audit records carry no arguments: "
        "read the modes from the program's source or strace, then use allow_only_with_argument",
        automatic=False) for name in found]


def suggest_arguments(syscalls: Iterable[str], *, socket_families: Iterable[int] = ()) -> list[Suggestion]:
    """Suggestions for the recorded ``syscalls``; ``socket_families`` are the address families
    seen in the workload's socket tables while it ran."""
    names = set(syscalls)
    out: list[Suggestion] = []
    if "clone" in names:
        out += _clone(names)
    if "socket" in names:
        out += _socket(socket_families)
    if "personality" in names:
        out += _personality()
    return out + _mkdir(names)


def apply_suggestions(profile: dict, suggestions: Iterable[Suggestion]) -> dict:
    """A copy of ``profile`` where each automatic suggestion's rules replace the plain allow
    of its syscall; validated. Try it staged first (``defaultAction: SCMP_ACT_LOG``)."""
    chosen = [s for s in suggestions if s.automatic and s.rules]
    narrowed = {s.syscall for s in chosen}
    rules = []
    for rule in profile.get("syscalls", []):
        if rule.get("action") == "SCMP_ACT_ALLOW" and not rule.get("args"):
            rule = dict(rule, names=[n for n in rule["names"] if n not in narrowed])
        if rule.get("names"):
            rules.append(rule)
    for s in chosen:
        rules += s.rules
    result = dict(profile, syscalls=rules)
    load_profile(result)
    return result

