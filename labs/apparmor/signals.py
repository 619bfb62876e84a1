"""Can the container runtime stop a process that an AppArmor profile confines? (pure)

Why: AppArmor mediates signals as it mediates files. The kubelet stops a container through
the runtime (containerd, runc: unconfined processes on the node), which sends SIGTERM (or the
image's STOPSIGNAL) and, after the grace period, SIGKILL. A profile without a rule that lets
unconfined processes signal it refuses both: `kubectl delete pod` then leaves the pod
Terminating, with the event ``FailedKillPod ... unable to signal init: permission denied``,
until the profile is fixed and reloaded or removed (measured with Debian 12's 6.1 kernel in
tests/apparmor_vm; moby/moby#36809 is the same for Docker). The rule sits in
``abstractions/base`` (``signal (receive) peer=unconfined,``). AppArmor 4.0 (Ubuntu 23.10 and
later) runs /usr/sbin/runc under a profile named ``runc``, so profiles for such nodes also need
``signal (receive) peer=runc,`` (moby/moby#47749); the course's clusters run runc unconfined,
so the check here asks for the unconfined peer.

Only the first profile's own rules count: a hat or child profile's rules are not its rules.
"""
from __future__ import annotations

import fnmatch
import re

from .statements import Statement, split_profile

__all__ = ["RUNTIME_SIGNAL_RULE", "RUNC_SIGNAL_RULE", "runtime_signal_problem"]

#: the rule abstractions/base carries for this (AppArmor 3.0's /etc/apparmor.d/abstractions/base)
RUNTIME_SIGNAL_RULE = "signal (receive) peer=unconfined,"
#: the same for nodes with AppArmor 4.0's profile for /usr/sbin/runc
RUNC_SIGNAL_RULE = "signal (receive) peer=runc,"

_BASE = re.compile(r"^#?include\s+(?:if\s+exists\s+)?[<\"]abstractions/base[>\"]$")
#: a signal rule: its qualifiers (``deny``?) and its options
_SIGNAL = re.compile(r"^(?P<qualifiers>(?:(?:audit|allow|deny|quiet)\s+)*)signal\b(?P<options>.*?),?$")
_PEER = re.compile(r"\bpeer\s*=\s*(\"[^\"]*\"|\S+)")
_SET = re.compile(r"\bset\s*=\s*(\([^)]*\)|\S+)")
_FLAGS = re.compile(r"\bflags\s*=\s*\(([^)]*)\)")
_RECEIVE = {"receive", "read", "r", "rw"}


def _own_statements(text: str) -> tuple[str, list[Statement]]:
    """(header, statements) of the first profile: its own rules and includes, not its hats'."""
    header, own, depth = "", [], 0
    for statement in split_profile(text):
        if statement.kind == "open":
            header = header or statement.text
            depth += 1
        elif statement.kind == "close":
            depth -= 1
            if depth == 0 and header:
                break
        elif depth == 1:
            own.append(statement)
    return header, own


def _words(value: str) -> list[str]:
    return [w for w in re.split(r"[\s(),\"]+", value) if w]


def _peer_matches(pattern: str, label: str) -> bool:
    """AppArmor's peer pattern (quotes, {a,b} alternation, * and ?) against one label."""
    pattern = pattern.strip('"')
    alternation = re.search(r"\{([^{}]*)\}", pattern)
    if alternation:
        return any(_peer_matches(pattern[:alternation.start()] + choice + pattern[alternation.end():], label)
                   for choice in alternation.group(1).split(","))
    return fnmatch.fnmatchcase(label, pattern)


def _lets_unconfined_kill(options: str) -> bool:
    """Whether one signal rule's options cover receiving SIGKILL from an unconfined sender."""
    perms = set(_words(_SET.sub(" ", _PEER.sub(" ", options))))
    peer = _PEER.search(options)
    signals = _SET.search(options)
    return ((not perms or bool(perms & _RECEIVE))
            and (peer is None or _peer_matches(peer.group(1), "unconfined"))
            and (signals is None or "kill" in _words(signals.group(1))))


def runtime_signal_problem(text: str) -> str:
    """"" when the runtime can signal (so stop) a process under the profile; else why not.

    Complain mode lets signals through, so only enforce-mode profiles are judged.
    """
    header, own = _own_statements(text)
    flags = _FLAGS.search(header)
    if flags and "complain" in _words(flags.group(1)):
        return ""
    signals = [m for m in (_SIGNAL.match(s.text) for s in own if s.kind == "rule") if m]
    rules = [("deny" in m.group("qualifiers").split(), m.group("options").strip()) for m in signals]
    denied = [options for deny, options in rules if deny and _lets_unconfined_kill(options)]
    if denied:
        return (f"`deny signal{' ' + denied[0] if denied[0] else ''},` refuses the container runtime's signals: "
                "the kubelet cannot stop the container")
    if (any(s.kind == "include" and _BASE.match(s.text) for s in own)
            or any(_lets_unconfined_kill(options) for deny, options in rules if not deny)):
        return ""
    return ("no rule lets the container runtime signal the container: the kubelet stops a container "
            "with SIGTERM then SIGKILL from the runtime, which is unconfined, so `kubectl delete pod` would "
            "leave the pod Terminating (event FailedKillPod: unable to signal init: permission denied) "
            "until the profile is fixed and reloaded")
