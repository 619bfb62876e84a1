"""What a profile from outside the course may contain before the course loads it (pure).

Why: an AppArmor profile loaded from inside a kind node lives in the host kernel that every
node and container on the machine shares. A learner's or a submission's profile must not be
able to replace a profile the system relies on, escape confinement, or change policy itself.
Each problem names its line and the fix; :func:`require_safe_profile` raises the first one.

Refused (issue: "AppArmor grading that cannot touch the host"):
- more than one profile, or any hat or child profile, in the file;
- a name the system already uses (``docker-default``, ``cri-containerd.apparmor.d``,
  ``unconfined``, or any name passed in ``system_profiles``);
- ``flags=(unconfined)``, ``change_profile``, exec modes that leave confinement
  (``ux``, ``Ux``, ``pux``, ``PUx``, ``cux``, ``CUx``) and ``-> unconfined`` targets;
- ``include`` of anything but the system's ``<abstractions/...>`` and ``<tunables/...>``;
- ``capability sys_admin``, ``mac_admin`` or ``mac_override`` (each lets a process change
  policy). A bare ``capability,`` is not refused: it is still bounded by the container's
  capability set, and the grader refuses pods that add capabilities or run privileged.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from ..errors import ProfileError

__all__ = ["SYSTEM_PROFILE_NAMES", "profile_safety_problems", "require_safe_profile", "require_safe_include",
           "without_comment"]

#: Profiles a container host relies on; a file naming one would replace it for every container.
SYSTEM_PROFILE_NAMES = frozenset({"docker-default", "cri-containerd.apparmor.d", "unconfined"})

_INCLUDE = re.compile(r"^\s*#?include(?:\s+if\s+exists)?\s+(\S+)")
_INCLUDE_OK = re.compile(r"^<(?:abstractions|tunables)/[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)*>$")
_HEADER = re.compile(r"^\s*(?:profile\s+(?P<name>[^\s{]+)(?:\s+(?!flags\b)[^\s{]+)?|(?P<path>/\S*?))"
                     r"\s*(?:flags\s*=\s*\((?P<flags>[^)]*)\))?\s*\{\s*(?:\}\s*)?$")
_HAT = re.compile(r"^\s*(?:\^(?P<caret>\S+)|hat\s+(?P<hat>\S+))\s*(?:flags\s*=\s*\([^)]*\))?\s*\{\s*(?:\}\s*)?$")
_LEAVING_EXEC = re.compile(r"(?<![A-Za-z])[pc]?[uU]x\b|\b[PC][uU]x\b")
_PERMS_RULE = re.compile(r"^\s*(?:audit\s+)?(?:owner\s+)?(?:file\s+)?"
                         r"(?:[/@\"]\S*\s+(?P<perms>[A-Za-z]+)|(?P<lead>[A-Za-z]+)\s+[/@\"]\S*)")
_CAPABILITY = re.compile(r"^\s*(?:audit\s+)?(?P<deny>deny\s+)?capability\s+(?P<caps>[^,]*),")
_POLICY_CAPS = ("sys_admin", "mac_admin", "mac_override")


def without_comment(line: str) -> str:
    """The line without its comment (``#include`` is a directive, not a comment)."""
    if _INCLUDE.match(line):
        return line
    return line.split("#", 1)[0]


def require_safe_include(target: str, where: str = "include") -> None:
    """Only the system's abstractions and tunables: any other include would make
    apparmor_parser read an arbitrary file of the grading host (and echo it in errors)."""
    if not _INCLUDE_OK.match(target) or ".." in target:
        raise ProfileError(f"include {target} is not accepted", path=where,
                           fix="include only <abstractions/...> or <tunables/...>, or write the rules out")


def _line_problems(number: int, code: str, system: set[str]) -> Iterable[ProfileError]:
    where = f"line {number}"
    include = _INCLUDE.match(code)
    if include:
        try:
            require_safe_include(include.group(1), where)
        except ProfileError as exc:
            yield exc
        return
    header = _HEADER.match(code)
    if header:
        name = header.group("name") or header.group("path")
        if name in system:
            yield ProfileError(f"the profile is named {name}, a profile this host already uses", path=where,
                               fix="give your profile its own name (the course's start with course-)")
        if header.group("flags") and "unconfined" in re.split(r"[\s,]+", header.group("flags")):
            yield ProfileError("flags=(unconfined) turns confinement off", path=where,
                               fix="remove unconfined from the flags (use complain while you record)")
    if re.search(r"\bchange_profile\b", code):
        yield ProfileError("change_profile lets the process switch to another profile", path=where,
                           fix="remove the change_profile rule")
    if re.search(r"->\s*unconfined\b", code):
        yield ProfileError("a transition to unconfined leaves confinement", path=where,
                           fix="remove the -> unconfined target")
    rule = _PERMS_RULE.match(code)
    if rule and _LEAVING_EXEC.search(rule.group("perms") or rule.group("lead") or ""):
        yield ProfileError("an unconfined exec mode (ux/Ux/pux/PUx/cux/CUx) runs the program without confinement",
                           path=where, fix="use ix (inherit this profile) or px to a profile of yours")
    cap = _CAPABILITY.match(code)
    if cap and not cap.group("deny"):
        granted = [c for c in re.split(r"[\s,]+", cap.group("caps")) if c in _POLICY_CAPS]
        if granted:
            yield ProfileError(f"capability {', '.join(granted)} lets the process change security policy",
                               path=where, fix=f"remove {', '.join(granted)} from the capability rule")


def profile_safety_problems(text: str, *, system_profiles: Iterable[str] = ()) -> list[ProfileError]:
    """Every reason the course must not load ``text``, each naming its line (empty: safe)."""
    system = set(SYSTEM_PROFILE_NAMES) | set(system_profiles)
    problems: list[ProfileError] = []
    depth, profiles = 0, 0
    for number, raw in enumerate(text.splitlines(), start=1):
        code = without_comment(raw)
        if _HAT.match(code):
            problems.append(ProfileError("the file defines a hat; only one profile is graded", path=f"line {number}",
                                         fix="remove the hat (^name { ... }) and keep its rules in the profile"))
        elif _HEADER.match(code):
            profiles += 1
            if profiles > 1:
                kind = "a child profile" if depth else "a second profile"
                problems.append(ProfileError(f"the file defines {kind}; only one profile is graded",
                                             path=f"line {number}", fix="keep exactly one profile in the file"))
        problems.extend(_line_problems(number, code, system))
        depth += code.count("{") - code.count("}")
    return problems


def require_safe_profile(text: str, *, system_profiles: Iterable[str] = ()) -> None:
    """Raise the first problem of :func:`profile_safety_problems`, with how many more there are."""
    problems = profile_safety_problems(text, system_profiles=system_profiles)
    if problems:
        first = problems[0]
        if len(problems) > 1:
            first.message += f" (and {len(problems) - 1} more problem(s) after it)"
        raise first
