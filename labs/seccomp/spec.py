"""The seccomp profile format's vocabulary: actions, operators, flags and keys.

One place for what the OCI runtime-spec (``LinuxSeccomp``: defaultAction, defaultErrnoRet,
architectures, flags, listenerPath, listenerMetadata, syscalls; ``LinuxSyscall``: names, action,
errnoRet, args) and Docker's profile format (moby ``profiles/seccomp``: archMap; per rule name,
comment, includes, excludes with caps, arches, minKernel) allow, so the checker, the warnings and
the profile builder agree on it.
"""
from __future__ import annotations

__all__ = [
    "ACTIONS",
    "ALLOWING_ACTIONS",
    "ERRNO_ACTIONS",
    "OPERATORS",
    "FLAGS",
    "MAX_PROFILE_BYTES",
    "TOP_KEYS",
    "RULE_KEYS",
    "ARG_KEYS",
    "FILTER_KEYS",
    "ARCHMAP_KEYS",
    "CONTAINERD_IGNORED_KEYS",
    "GO_ARCH",
]

ACTIONS = frozenset({
    "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
    "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY",
})
#: Actions under which the syscall runs (LOG runs it and writes an audit record).
ALLOWING_ACTIONS = frozenset({"SCMP_ACT_ALLOW", "SCMP_ACT_LOG"})
#: Actions that take an errno / tracer value in ``errnoRet``.
ERRNO_ACTIONS = frozenset({"SCMP_ACT_ERRNO", "SCMP_ACT_TRACE"})
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
TOP_KEYS = ("defaultAction", "defaultErrnoRet", "architectures", "flags", "listenerPath",
            "listenerMetadata", "syscalls", "archMap")
#: runtime-spec ``LinuxSyscall`` keys, then Docker's extra ones.
RULE_KEYS = ("names", "action", "errnoRet", "args", "comment", "includes", "excludes", "name")
ARG_KEYS = ("index", "value", "valueTwo", "op")
FILTER_KEYS = ("caps", "arches", "minKernel")
ARCHMAP_KEYS = ("architecture", "subArchitectures")
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
GO_ARCH = {"amd64": "x86_64", "arm64": "aarch64", "386": "x86", "loong64": "loongarch64"}
