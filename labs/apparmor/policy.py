"""What a profile from outside the course may contain before the course loads it (pure).

Why: an AppArmor profile loaded from inside a kind node lives in the host kernel that every
node and container on the machine shares. A learner's or a submission's profile must not be
able to replace a profile the system relies on, escape confinement, or change policy itself.
Each problem names its line and the fix; :func:`require_safe_profile` raises the first one.
Rules are read as apparmor_parser reads them (:mod:`.statements`): several on a line, one over
several lines, any qualifiers (``audit``, ``allow``, ``priority=``) before them.

Refused (issue: "AppArmor grading that cannot touch the host"):
- more than one profile, or any hat or child profile, in the file;
- a name the system already uses (``docker-default``, ``cri-containerd.apparmor.d``,
  ``unconfined``, or any name passed in ``system_profiles``);
- ``flags=(unconfined)``, ``change_profile``, exec modes that leave confinement
  (``ux``, ``Ux``, ``pux``, ``PUx``, ``cux``, ``CUx``) and ``-> unconfined`` targets;
- ``include`` of anything but the system's ``<abstractions/...>`` and ``<tunables/...>``;
- a ``#`` joined to a word (part of a path in some rules, a comment in others), and a block
  that is not the profile, a hat or a qualifier block (``audit { ... }``);
- ``capability sys_admin``, ``mac_admin`` or ``mac_override`` (each lets a process change
  policy). A bare ``capability,`` is not refused: it is still bounded by the container's
  capability set, and the grader refuses pods that add capabilities or run privileged.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from ..errors import ProfileError
from .statements import INCLUDE, layout_problems, split_profile

__all__ = ["SYSTEM_PROFILE_NAMES", "profile_safety_problems", "require_safe_profile", "require_safe_include"]

#: Profiles a container host relies on; a file naming one would replace it for every container.
SYSTEM_PROFILE_NAMES = frozenset({"docker-default", "cri-containerd.apparmor.d", "unconfined"})

_INCLUDE_OK = re.compile(r"^<(?:abstractions|tunables)/[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)*>$")
#: a profile's header without its ``{``: ``profile NAME [ATTACHMENT]`` or an attachment path
_HEADER = re.compile(r'^(?:profile\s+(?P<name>"[^"]*"|[^\s(]+)(?:\s+(?!flags\b)(?:"[^"]*"|[^\s(]+))?'
                     r'|(?P<path>(?:/|@\{|")[^\s(]*))\s*(?:(?:flags\s*=\s*)?\((?P<flags>[^)]*)\))?$')
_HAT = re.compile(r"^(?:\^\S+|hat\s+\S+)\s*(?:flags\s*=\s*\([^)]*\))?$")
#: what may stand before a rule: ``audit``, ``allow``/``deny``, ``owner`` and the like, ``priority=N``
_QUALIFIERS = re.compile(r"^(?:(?:audit|quiet|allow|deny|owner|other|kill|prompt)\s+|priority\s*=\s*-?\d+\s+)*")
#: in a file rule's permissions (``ux``, ``rUx``, ``pux``, ``CUx``, ...): u only ever means unconfined
_LEAVING_EXEC = re.compile(r"[uU]x")
#: a file rule: ``[file] PATH PERMS`` or ``[file] PERMS PATH``, the path maybe quoted
_FILE_RULE = re.compile(r'^(?:file\s+)?(?:(?:"[^"]*"|[/@]\S*)\s+(?P<perms>[^\s,]+)|(?P<lead>[^\s/@"]+)\s+(?:"|/|@))')
_POLICY_CAPS = ("sys_admin", "mac_admin", "mac_override")


def require_safe_include(target: str, where: str = "include") -> None:
    """Only the system's abstractions and tunables: any other include would make
    apparmor_parser read an arbitrary file of the grading host (and echo it in errors)."""
    if not _INCLUDE_OK.match(target) or ".." in target:
        raise ProfileError(f"include {target} is not accepted", path=where,
                           fix="include only <abstractions/...> or <tunables/...>, or write the rules out")


def _header_problems(header, where: str, system: set[str]) -> Iterable[ProfileError]:
    name = (header.group("name") or header.group("path")).strip('"')
    if name.startswith(":") or "//" in name:
        yield ProfileError(f"the profile name {name} reaches into another profile or namespace (:ns: or //)",
                           path=where, fix="give your profile a plain name (the course's start with course-)")
    if name in system:
        yield ProfileError(f"the profile is named {name}, a profile this host already uses", path=where,
                           fix="give your profile its own name (the course's start with course-)")
    if header.group("flags") and "unconfined" in re.split(r"[\s,]+", header.group("flags")):
        yield ProfileError("flags=(unconfined) turns confinement off", path=where,
                           fix="remove unconfined from the flags (use complain while you record)")


def _exec_perms(rule: str) -> str:
    """The permission word of a file rule (``/bin/sh ux`` or ``ux /bin/sh``), "" for other rules."""
    match = _FILE_RULE.match(rule)
    return (match.group("perms") or match.group("lead")) if match else ""


def _rule_problems(text: str, where: str) -> Iterable[ProfileError]:
    qualifiers = _QUALIFIERS.match(text).group(0)
    rule = text[len(qualifiers):]
    if re.search(r"\bchange_profile\b", rule):
        yield ProfileError("change_profile lets the process switch to another profile", path=where,
                           fix="remove the change_profile rule")
    if re.search(r'->\s*"?(?::[^:\s]*:)?unconfined(?=[\s,"/]|$)', rule):
        yield ProfileError("a transition to unconfined leaves confinement", path=where,
                           fix="remove the -> unconfined target")
    elif re.search(r'->\s*"?:', rule):
        yield ProfileError("a transition into a policy namespace (-> :ns:...) leaves this profile's control",
                           path=where, fix="transition only to profiles of yours, by plain name")
    if _LEAVING_EXEC.search(_exec_perms(rule)):
        yield ProfileError("an unconfined exec mode (ux/Ux/pux/PUx/cux/CUx) runs the program without confinement",
                           path=where, fix="use ix (inherit this profile) or px to a profile of yours")
    capability = re.match(r"capability\b(?P<caps>[^,]*)", rule)
    if capability and "deny" not in qualifiers.split():
        granted = [c for c in re.split(r"[\s,]+", capability.group("caps")) if c in _POLICY_CAPS]
        if granted:
            yield ProfileError(f"capability {', '.join(granted)} lets the process change security policy",
                               path=where, fix=f"remove {', '.join(granted)} from the capability rule")


def _block_problems(header: str, where: str, profiles: int, depth: int,
                    system: set[str]) -> Iterable[ProfileError]:
    """Problems of one block header; ``profiles`` counts this one if it is a profile."""
    if _HAT.match(header):
        yield ProfileError("the file defines a hat; only one profile is graded", path=where,
                           fix="remove the hat (^name { ... }) and keep its rules in the profile")
        return
    profile = _HEADER.match(header)
    if profile is None:
        if _QUALIFIERS.match(header + " ").group(0).strip() != header:
            yield ProfileError(f"`{header} {{` opens a block the course cannot check", path=where,
                               fix="keep one profile (profile NAME { ... }) with its rules inside")
        return
    if profiles > 1:
        kind = "a child profile" if depth else "a second profile"
        yield ProfileError(f"the file defines {kind}; only one profile is graded", path=where,
                           fix="keep exactly one profile in the file")
    yield from _header_problems(profile, where, system)


def profile_safety_problems(text: str, *, system_profiles: Iterable[str] = ()) -> list[ProfileError]:
    """Every reason the course must not load ``text``, each naming its line (empty: safe)."""
    system = set(SYSTEM_PROFILE_NAMES) | set(system_profiles)
    unread = layout_problems(text)
    if unread:   # refused, not guessed at: the parser might read these parts otherwise
        return [ProfileError(why, path=f"line {line}", fix="write the profile in plain ASCII, one rule per comma")
                for line, why in unread]
    problems: list[ProfileError] = []
    depth, profiles = 0, 0
    for statement in split_profile(text):
        where = f"line {statement.line}"
        if statement.kind == "include":
            try:
                require_safe_include(INCLUDE.match(statement.text).group(1), where)
            except ProfileError as exc:
                problems.append(exc)
        elif statement.kind == "stray-hash":
            problems.append(ProfileError("a # joined to a word: apparmor_parser reads it as part of a path in "
                                         "some rules and as the start of a comment in others", path=where,
                                         fix="put a blank before a comment's #, and quote a path that has a #"))
        elif statement.kind == "open":
            profiles += bool(_HEADER.match(statement.text))
            problems.extend(_block_problems(statement.text, where, profiles, depth, system))
            depth += 1
        elif statement.kind == "close":
            depth = max(0, depth - 1)
        elif statement.kind == "unclosed":
            problems.append(ProfileError(f"`{statement.text[:60]}` leaves a {{a,b}} alternation or a (...) group "
                                         "open", path=where, fix="close it within its word (or its line) and end "
                                         "the rule with a comma"))
        else:
            problems.extend(_rule_problems(statement.text, where))
    if not profiles:
        problems.append(ProfileError("the file defines no profile", path="line 1",
                                     fix="write one profile: profile NAME flags=(...) { rules }"))
    return problems


def require_safe_profile(text: str, *, system_profiles: Iterable[str] = ()) -> None:
    """Raise the first problem of :func:`profile_safety_problems`, with how many more there are."""
    problems = profile_safety_problems(text, system_profiles=system_profiles)
    if problems:
        first = problems[0]
        if len(problems) > 1:
            first.message += f" (and {len(problems) - 1} more problem(s) after it)"
        raise first
