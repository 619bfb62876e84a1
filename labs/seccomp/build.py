"""Build least-privilege profiles from observed syscalls (audit first, enforce later).

Design decisions (taught in the course, so written down here):

- **One rule.** The profile allows the observed names in a single ``SCMP_ACT_ALLOW`` rule,
  sorted, so two runs over the same observations give byte-identical files that diff well.
- **Native architectures only.** Docker and containerd list ``SCMP_ARCH_X86`` and
  ``SCMP_ARCH_X32`` next to ``SCMP_ARCH_X86_64`` so 32-bit binaries keep working. A profile
  built from x86_64 observations has no evidence that the workload makes 32-bit syscalls, and
  the 32-bit entry points are extra kernel surface, so we list only the architectures asked
  for; syscalls made through an unlisted ABI are refused (the filter's bad-architecture
  action). Pass ``architectures=("x86_64", "aarch64")`` for a multi-arch image.
- **Runtime start-up syscalls.** runc installs the filter *before* it finishes setting up the
  process and calls ``execve`` on the workload, so those syscalls never reach the workload's
  audit trace when the profile was built from it, yet the container cannot start without
  them. :data:`RUNTIME_STARTUP_REASONS` says why each one is needed.
- **Staging.** ``staging=True`` keeps the allow rule but makes the default action
  ``SCMP_ACT_LOG``: nothing breaks, and every syscall the profile would refuse shows up in the
  audit log. That is the "audit first" half of the workflow.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from ..errors import ProfileError
from ..syscalls import ARCHITECTURES, SCMP_ARCH, architectures_knowing, unknown_syscall_hint
from .validate import ACTIONS, ALLOWING_ACTIONS, load_profile

__all__ = [
    "RUNTIME_STARTUP_REASONS",
    "RUNTIME_STARTUP_SYSCALLS",
    "audit_profile",
    "build_profile",
    "allow_only_with_argument",
    "write_profile",
]

#: What runc and the Go runtime it is written in do between loading the filter and ``execve``
#: of the workload. The first group was observed with the audit collector (Docker 20.10 and
#: runc 1.1.5 as in Debian bookworm, which the course's kind nodes also run; container user
#: root): a staging profile that allowed only the workload's own syscalls logged exactly these
#: for the ``runc:[2:INIT]`` process. The second group is what the Go runtime may do at any
#: moment (scheduler, garbage collector, signals); the third covers runc paths our observation
#: did not take (a non-root container user). Refusing any observed one except fcntl, getpid,
#: epoll_ctl and rt_sigreturn stopped the container from starting ("unable to apply caps",
#: "chdir to cwd ... failed", "exec ...: operation not permitted", ...); refusing fcntl would
#: leave inherited descriptors open in the container, so it stays.
RUNTIME_STARTUP_REASONS = {
    # observed
    "execve": "runc's last step replaces itself with the workload's program",
    "capget": "runc reads capability sets before dropping to the container's",
    "capset": "runc sets the container's capability sets",
    "prctl": "runc keeps capabilities across the user switch (PR_SET_KEEPCAPS) and drops the "
             "bounding set one capability at a time",
    "setgroups": "runc sets the supplementary groups of the container user",
    "setgid": "runc switches to the container's group",
    "setuid": "runc switches to the container's user",
    "chdir": "runc enters the container's working directory",
    "getcwd": "runc verifies the working directory is inside the container (the CVE-2024-21626 fix)",
    "faccessat2": "runc checks that the program it will exec is executable",
    "fstatfs": "runc checks that /proc/self/fd is on procfs before touching descriptors",
    "getdents64": "runc lists /proc/self/fd to mark inherited descriptors close-on-exec",
    "fcntl": "runc sets close-on-exec on inherited descriptors",
    "openat": "runc opens /proc/self/fd and the exec fifo",
    "close": "runc closes its own descriptors",
    "newfstatat": "runc looks up the program on PATH",
    "fstat": "runc inspects open descriptors",
    "read": "runc reads the parent's go-ahead from its sync pipe",
    "write": "runc writes to the sync pipe and the exec fifo",
    "getpid": "runc reads its own pid",
    "getppid": "runc checks that its parent is still alive",
    "futex": "Go runtime: thread wake-ups and locks",
    "epoll_ctl": "Go runtime: registers descriptors with its network poller",
    "rt_sigreturn": "Go runtime: returns from a signal handler",
    # Go runtime, not in every start
    "epoll_pwait": "Go runtime: waits in its network poller",
    "nanosleep": "Go runtime: short sleeps in the scheduler",
    "sched_yield": "Go runtime: yields while spinning",
    "rt_sigaction": "Go runtime: installs and resets signal handlers",
    "rt_sigprocmask": "Go runtime: blocks and unblocks signals around exec",
    "sigaltstack": "Go runtime: per-thread signal stacks",
    "gettid": "Go runtime: thread identity for preemption signals",
    "tgkill": "Go runtime: preempts its own threads with signals",
    "mmap": "Go runtime: allocates memory",
    "munmap": "Go runtime: frees memory",
    "madvise": "Go runtime: returns memory to the kernel",
    "exit_group": "runc exits with an error if a set-up step fails",
    # runc paths not taken in the observation
    "fchown": "runc hands the standard streams to a non-root container user",
}
RUNTIME_STARTUP_SYSCALLS = frozenset(RUNTIME_STARTUP_REASONS)


def _check_architectures(architectures: Iterable[str]) -> list[str]:
    arches = list(dict.fromkeys(architectures))
    bad = [a for a in arches if a not in ARCHITECTURES]
    if bad or not arches:
        raise ProfileError(f"unsupported architectures {bad or arches}", path="architectures",
                           fix=f"use names from {', '.join(ARCHITECTURES)} (not SCMP_ARCH_* tokens)")
    return arches


def build_profile(
    syscalls: Iterable[str],
    *,
    architectures: Iterable[str] = ("x86_64",),
    default_action: str = "SCMP_ACT_ERRNO",
    include_runtime_startup: bool = True,
    staging: bool = False,
) -> dict:
    """An allow-list profile for the observed ``syscalls`` (any iterable, e.g. a Counter).

    Unknown names raise :class:`ProfileError` listing every one with a suggestion.
    ``staging=True`` makes the default action ``SCMP_ACT_LOG`` whatever ``default_action`` says.
    """
    arches = _check_architectures(architectures)
    if default_action not in ACTIONS or default_action in ALLOWING_ACTIONS:
        raise ProfileError(f"default_action {default_action!r} cannot enforce an allow-list",
                           path="default_action",
                           fix="use SCMP_ACT_ERRNO (refuse) or SCMP_ACT_KILL_PROCESS; "
                               "use staging=True to only log")
    observed = set(syscalls)
    unknown = sorted(n for n in observed if not set(architectures_knowing(n)) & set(arches))
    if unknown:
        hints = "; ".join(f"{n}: {unknown_syscall_hint(n, arches)}" for n in unknown)
        raise ProfileError(f"unknown syscalls for {', '.join(arches)}: {', '.join(unknown)}",
                           path="syscalls", fix=hints)
    if include_runtime_startup:
        observed |= {n for n in RUNTIME_STARTUP_SYSCALLS if set(architectures_knowing(n)) & set(arches)}
    return {
        "defaultAction": "SCMP_ACT_LOG" if staging else default_action,
        "architectures": [SCMP_ARCH[a] for a in arches],
        "syscalls": [{"names": sorted(observed), "action": "SCMP_ACT_ALLOW"}],
    }


def allow_only_with_argument(profile: dict, syscall: str, *, index: int, value: int,
                             op: str = "SCMP_CMP_EQ") -> dict:
    """A copy of ``profile`` that allows ``syscall`` only when argument ``index`` matches.

    Why: an audit records which syscalls ran, never their arguments, so a syscall the app
    itself needs (nginx's ``mkdir(path, 0700)`` for its temp folders) stays allowed for every
    caller. Narrowing it by an argument refuses other uses (``mkdir DIR`` asks for 0777).
    """
    rules = [dict(rule, names=[n for n in rule["names"] if n != syscall])
             if rule.get("action") == "SCMP_ACT_ALLOW" and not rule.get("args") else rule
             for rule in profile.get("syscalls", [])]
    rules = [rule for rule in rules if rule.get("names")]
    rules.append({"names": [syscall], "action": "SCMP_ACT_ALLOW",
                  "args": [{"index": index, "value": value, "op": op}]})
    narrowed = dict(profile, syscalls=rules)
    load_profile(narrowed)
    return narrowed


def audit_profile() -> dict:
    """The "audit first" profile: allow and log every syscall (needs no list at all)."""
    return {"defaultAction": "SCMP_ACT_LOG"}


def write_profile(profile: dict, path: str | Path) -> Path:
    """Validate ``profile`` and write it as stable, diff-friendly JSON; returns the path."""
    load_profile(profile)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(profile, indent=2, sort_keys=True) + "\n")
    return path
