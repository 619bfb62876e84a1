"""Can the container runtime stop a process that an AppArmor profile confines? (pure)

Why: AppArmor mediates signals as it mediates files. The kubelet stops a container through
the runtime (containerd, runc: unconfined processes on the node), which sends SIGTERM and,
after the grace period, SIGKILL. A profile without a rule that lets unconfined processes
signal it refuses both: `kubectl delete pod` then leaves the pod Terminating, with the event
``FailedKillPod ... unable to signal init: permission denied``, until the profile is removed
from the kernel (measured with Debian 12's 6.1 kernel in tests/apparmor_vm). The rule sits in
``abstractions/base`` (``signal (receive) peer=unconfined,``), which is one reason every
container profile includes it.
"""
from __future__ import annotations

import fnmatch
import re

__all__ = ["RUNTIME_SIGNAL_RULE", "runtime_signal_problem"]

#: the rule abstractions/base carries for this (AppArmor 3.0's /etc/apparmor.d/abstractions/base)
RUNTIME_SIGNAL_RULE = "signal (receive) peer=unconfined,"

_BASE = re.compile(r"^\s*#?include\s+(?:if\s+exists\s+)?<abstractions/base>", re.M)
#: a signal rule up to its closing comma (commas inside "(send, receive)" or "set=(term, kill)" are not it)
_SIGNAL = re.compile(r"^\s*(?:audit\s+)?(deny\s+)?signal\b((?:\([^)]*\)|[^,(\n])*),", re.M)
_PERMS = re.compile(r"\(([^)]*)\)|\b(send|receive|read|write|rw|r|w)\b")
_PEER = re.compile(r"\bpeer\s*=\s*(\S+)")
_SET = re.compile(r"\bset\s*=\s*(\([^)]*\)|\S+)")
_FLAGS = re.compile(r"^\s*profile\s+\S+[^{\n]*flags\s*=\s*\(([^)]*)\)", re.M)
_RECEIVE = {"receive", "read", "r", "rw"}


def _code(text: str) -> str:
    """The profile without comments (``#include`` is a directive, not a comment)."""
    return "\n".join(line if re.match(r"\s*#include", line) else line.split("#", 1)[0]
                     for line in text.splitlines())


def _lets_unconfined_kill(options: str) -> bool:
    """Whether one signal rule's options cover receiving SIGKILL from an unconfined sender."""
    without_peer_and_set = _SET.sub(" ", _PEER.sub(" ", options))
    perms = {p.strip() for m in _PERMS.finditer(without_peer_and_set) for p in (m.group(1) or m.group(2)).split(",")
             if p.strip()}
    peer = _PEER.search(options)
    signals = _SET.search(options)
    return ((not perms or bool(perms & _RECEIVE))
            and (peer is None or fnmatch.fnmatchcase("unconfined", peer.group(1)))
            and (signals is None or "kill" in re.split(r"[\s(),\"]+", signals.group(1))))


def runtime_signal_problem(text: str) -> str:
    """"" when the runtime can signal (so stop) a process under the profile; else why not.

    Complain mode lets signals through, so only enforce-mode profiles are judged.
    """
    code = _code(text)
    flags = _FLAGS.search(code)
    if flags and "complain" in re.split(r"[\s,]+", flags.group(1)):
        return ""
    rules = [(bool(m.group(1)), m.group(2)) for m in _SIGNAL.finditer(code)]
    denied = [options for deny, options in rules if deny and _lets_unconfined_kill(options)]
    if denied:
        return (f"`deny signal{denied[0]},` refuses the container runtime's signals: "
                "the kubelet cannot stop the container")
    if _BASE.search(code) or any(_lets_unconfined_kill(options) for deny, options in rules if not deny):
        return ""
    return ("no rule lets the container runtime signal the container: the kubelet stops a container "
            "with SIGTERM then SIGKILL from the runtime, which is unconfined, so `kubectl delete pod` would "
            "leave the pod Terminating (event FailedKillPod: unable to signal init: permission denied) "
            "until the profile is unloaded")
