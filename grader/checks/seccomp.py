"""Static checks on a submitted seccomp profile (pure: no Docker, no cluster).

Validation itself is ``labs.seccomp``'s job; this module adds the grading questions:
does the default deny, which action does a given syscall get, which dangerous syscalls are
allowed without a ``comment`` giving a reason, is the profile larger than needed, and does a
refused syscall report success (``errnoRet`` 0: the program believes ``mkdir`` worked while
nothing happened).
"""
from __future__ import annotations

import platform

from labs import seccomp
from labs.errors import ProfileError
from labs.seccomp.validate import profile_warnings
from labs.syscalls import SCMP_ARCH, danger

__all__ = [
    "DENY_ACTIONS",
    "node_arch",
    "load_submitted_profile",
    "require_denies_by_default",
    "effective_action",
    "PROBE_ARGS",
    "require_blocked_with_eperm",
    "unjustified_dangerous",
    "require_arch",
    "require_size_within",
    "silent_success",
    "silent_success_in",
    "require_honoured_by_containerd",
]

DENY_ACTIONS = frozenset({"SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
                          "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP"})
_ARCH_OF_MACHINE = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}
EPERM = 1


def node_arch() -> str:
    """The kind nodes run on this machine's CPU, so this is the architecture that must match."""
    return _ARCH_OF_MACHINE.get(platform.machine().lower(), "x86_64")


def load_submitted_profile(ctx, role: str = "profile") -> dict:
    """Parse and validate the submitted profile once per grading run."""
    def load() -> dict:
        data = ctx.json(role)
        if not isinstance(data, dict):
            kinds = {list: "array", str: "string", int: "number", float: "number", bool: "boolean"}
            kind = kinds.get(type(data), "null")
            raise ProfileError(f"{ctx.filename(role)} holds a JSON {kind}, not an object",
                               fix='a profile is a JSON object: {"defaultAction": ..., "syscalls": [...]}')
        return seccomp.load_profile(data)
    return ctx.memo(f"profile:{role}", load)


def require_denies_by_default(profile: dict) -> str:
    action = profile.get("defaultAction")
    if action not in DENY_ACTIONS:
        raise ProfileError(f"defaultAction is {action}, which lets every unlisted syscall through",
                           "$.defaultAction", fix="use SCMP_ACT_ERRNO so anything you did not list is refused")
    if action == "SCMP_ACT_ERRNO" and profile.get("defaultErrnoRet") == 0:
        raise ProfileError("defaultErrnoRet is 0: every syscall you did not list is refused but reports success, "
                           "so programs believe it worked while nothing happened", "$.defaultErrnoRet",
                           fix="remove defaultErrnoRet (the default errno is EPERM, 1)")
    return f"defaultAction {action} refuses unlisted syscalls"


def _applies_to_arch(entry: dict, arch: str) -> bool:
    includes = (entry.get("includes") or {}).get("arches") or []
    excludes = (entry.get("excludes") or {}).get("arches") or []
    names = {arch, SCMP_ARCH[arch], {"x86_64": "amd64", "aarch64": "arm64"}.get(arch, arch)}  # Docker: Go names
    if includes and not names & set(includes):
        return False
    return not names & set(excludes)


#: Arguments of the attack probe `mkdir DIR` (coreutils: mode 0777; mkdirat with AT_FDCWD).
PROBE_ARGS = {"mkdir": (0, 0o777), "mkdirat": (-100 & 0xFFFFFFFFFFFFFFFF, 0, 0o777)}
_OPS = {
    "SCMP_CMP_EQ": lambda a, v, v2: a == v, "SCMP_CMP_NE": lambda a, v, v2: a != v,
    "SCMP_CMP_LT": lambda a, v, v2: a < v, "SCMP_CMP_LE": lambda a, v, v2: a <= v,
    "SCMP_CMP_GT": lambda a, v, v2: a > v, "SCMP_CMP_GE": lambda a, v, v2: a >= v,
    "SCMP_CMP_MASKED_EQ": lambda a, v, v2: (a & v) == v2,
}


def _args_match(conditions: list[dict], args: tuple[int, ...]) -> bool:
    for cond in conditions:
        index = cond.get("index", 0)
        if index >= len(args):
            return False
        op = _OPS.get(cond.get("op", ""))
        if op is None or not op(args[index], cond.get("value", 0), cond.get("valueTwo", 0)):
            return False
    return True


def _decide(profile: dict, syscall: str, args: tuple[int, ...], arch: str) -> tuple[str, int | None, str]:
    """(action, errno, JSON path of the rule or default that decided) -- first matching rule wins.
    A rule's SCMP_ACT_ERRNO without errnoRet means EPERM; defaultErrnoRet applies to the
    default action only (runc's getAction for rules and for the default)."""
    for i, entry in enumerate(profile.get("syscalls") or []):
        names = entry.get("names") or ([entry["name"]] if entry.get("name") else [])
        if syscall not in names or not _applies_to_arch(entry, arch):
            continue
        if entry.get("args") and not _args_match(entry["args"], args):
            continue
        return entry.get("action", ""), entry.get("errnoRet"), f"$.syscalls[{i}]"
    return profile.get("defaultAction", ""), profile.get("defaultErrnoRet"), "$.defaultAction"


def effective_action(profile: dict, syscall: str, args: tuple[int, ...] = (),
                     arch: str | None = None) -> tuple[str, int | None]:
    """(action, errno) the filter gives ``syscall`` called with ``args`` (first matching rule wins)."""
    action, errno, _ = _decide(profile, syscall, args, arch or node_arch())
    return action, errno


def silent_success(profile: dict, syscalls: tuple[str, ...] | None = None, arch: str | None = None) -> list[str]:
    """Where the profile refuses a syscall with errno 0, which the caller sees as success: one
    "JSON path is 0 (names)" string per rule or default that does it. With ``syscalls``, only
    where those syscalls (called as the grader's probes call them) end up."""
    arch = arch or node_arch()
    found: dict[str, list[str]] = {}
    if syscalls is None:
        if profile.get("defaultAction") == "SCMP_ACT_ERRNO" and profile.get("defaultErrnoRet") == 0:
            found["$.defaultErrnoRet"] = ["every syscall the profile does not allow"]
        for i, entry in enumerate(profile.get("syscalls") or []):
            if isinstance(entry, dict) and entry.get("action") == "SCMP_ACT_ERRNO" and entry.get("errnoRet") == 0:
                found[f"$.syscalls[{i}].errnoRet"] = list(entry.get("names") or [])
    else:
        for name in syscalls:
            action, errno, path = _decide(profile, name, PROBE_ARGS.get(name, ()), arch)
            if action == "SCMP_ACT_ERRNO" and errno == 0:
                key = "$.defaultErrnoRet" if path == "$.defaultAction" else f"{path}.errnoRet"
                found.setdefault(key, []).append(name)
    return [f"{path} is 0 ({', '.join(names)})" for path, names in found.items()]


#: The syscalls a grader probe command makes that a profile may refuse.
_COMMAND_SYSCALLS = {"mkdir": ("mkdir", "mkdirat"), "unshare": ("unshare",)}


def silent_success_in(ctx, command: list[str]) -> str | None:
    """Why ``command`` may have "succeeded": a profile submitted in this grading run refuses the
    syscalls it makes with errno 0. None when no loaded profile does that."""
    syscalls = _COMMAND_SYSCALLS.get(command[0].rsplit("/", 1)[-1]) if command else None
    for key, value in sorted(getattr(ctx, "cache", {}).items()):
        if not key.startswith("profile:"):   # the cache also holds other memos (e.g. why checks were skipped)
            continue
        ok, profile = value
        if not ok or not isinstance(profile, dict):
            continue
        found = silent_success(profile, syscalls)
        if found:
            role = key.split(":", 1)[1]
            try:
                where = ctx.filename(role)
            except Exception:  # noqa: BLE001 - a role the exercise does not name: use it as is
                where = role
            return f"{where}: {'; '.join(found)}"
    return None


def require_blocked_with_eperm(profile: dict, syscalls: tuple[str, ...]) -> str:
    wrong = []
    for name in syscalls:
        action, errno = effective_action(profile, name, PROBE_ARGS.get(name, ()))
        if action != "SCMP_ACT_ERRNO" or errno not in (None, EPERM):
            wrong.append(f"{name} -> {action}" + (f" errno {errno}" if errno not in (None, EPERM) else ""))
    silent = silent_success(profile, syscalls)
    if silent:
        raise ProfileError("errnoRet 0 makes the refused call report success: `mkdir DIR` would print nothing "
                           "and create nothing, so the program believes it worked: " + "; ".join(silent),
                           silent[0].split(" ", 1)[0],
                           fix="remove errnoRet/defaultErrnoRet (EPERM, 1, is the default) or set it to 1")
    if wrong:
        raise ProfileError("a plain `mkdir DIR` would not be refused with EPERM: " + ", ".join(wrong), "$.syscalls",
                           fix="give them action SCMP_ACT_ERRNO (errnoRet 1 = EPERM, the default)")
    return f"{', '.join(syscalls)} from `mkdir DIR` get SCMP_ACT_ERRNO (EPERM)"


def unjustified_dangerous(profile: dict) -> list[str]:
    """Allowed syscalls that labs.syscalls flags as dangerous, in entries without a comment."""
    flagged = []
    for entry in profile.get("syscalls") or []:
        if entry.get("action") not in ("SCMP_ACT_ALLOW", "SCMP_ACT_LOG") or str(entry.get("comment", "")).strip():
            continue
        for name in entry.get("names") or []:
            reason = danger(name)
            if reason:
                flagged.append(f"{name} ({reason})")
    return sorted(set(flagged))


def require_arch(profile: dict, arch: str | None = None) -> str:
    arch = arch or node_arch()
    arches = profile.get("architectures") or []
    if SCMP_ARCH[arch] not in arches:
        raise ProfileError(f"architectures {arches} does not include {SCMP_ARCH[arch]}, the nodes' architecture",
                           "$.architectures", fix=f"add \"{SCMP_ARCH[arch]}\" to architectures")
    return f"{SCMP_ARCH[arch]} is listed"


def require_size_within(allowed: set[str], reference: set[str] | int, *, ratio: float, slack: int,
                        workload: str = "nginx") -> str:
    """The profile may allow a little more than the reference (tolerance), not everything.

    ``reference`` may be just its size: the learner edition ships the count, not the names;
    ``workload`` names what was recorded, in the message."""
    size = reference if isinstance(reference, int) else len(reference)
    limit = int(size * ratio) + slack
    if len(allowed) > limit:
        extra = sorted(allowed - reference) if isinstance(reference, set) else []
        listed = (f". Not needed by the recording: {', '.join(extra[:15])}{' ...' if len(extra) > 15 else ''}"
                  if extra else "")
        raise ProfileError(f"the profile allows {len(allowed)} syscalls; a recorded {workload} run needs about "
                           f"{size} (limit {limit}){listed}",
                           "$.syscalls", fix="build the allow list from your audit recording, not from a big list")
    return f"{len(allowed)} syscalls allowed (recorded reference: {size}, limit {limit})"


def require_honoured_by_containerd(profile: dict) -> str:
    """For profiles graded on Kubernetes: no Docker-only condition that containerd drops
    (``includes``/``excludes``/``archMap``), since the rule then applies to every container."""
    ignored = [w for w in profile_warnings(profile) if w.kind == "ignored-by-containerd"]
    if ignored:
        raise ProfileError("; ".join(f"{w.path}: {w.message}" for w in ignored), ignored[0].path,
                           fix="Kubernetes Localhost profiles are read by containerd, which keeps only the OCI "
                               "keys: write each rule for the containers that will really get it")
    return "every key is one containerd reads"
