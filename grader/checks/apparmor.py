"""Static checks on a submitted AppArmor profile and on how a pod refers to it.

Syntax is ``apparmor_parser``'s verdict (through ``labs.apparmor``). The rule reading here is
deliberately small: enough to ask "is there a deny-write rule", "is the profile still in
complain mode" and "does some allow rule cover each recorded access".
"""
from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

from labs.apparmor import (
    RUNC_SIGNAL_RULE,
    RUNTIME_SIGNAL_RULE,
    check_profile_syntax,
    require_safe_profile,
    runtime_signal_problem,
)
from labs.errors import ManifestError, ProfileError
from labs.manifests import apparmor_settings

from ..model import NotChecked

__all__ = ["syntax_name", "deny_write_rules", "is_complain", "file_rules", "glob_matches",
           "uncovered_records", "require_named", "require_stoppable"]

_RULE = re.compile(r"^\s*(?:audit\s+)?(deny\s+)?(?:owner\s+)?(?:file\s+)?([/@]\S*)\s+([rwaklmixpucPUCX]+)\s*,", re.M)
_FLAGS = re.compile(r"^\s*(?:profile\s+\S+|/\S+)[^{\n]*flags\s*=\s*\(([^)]*)\)", re.M)
_VARS = {"@{PROC}": "/proc", "@{pid}": "[0-9]+", "@{pids}": "[0-9]+", "@{HOME}": "/(?:root|home/[^/]+)"}


def syntax_name(ctx, role: str = "apparmor") -> str:
    """The profile's name as apparmor_parser reads it; NotChecked when the parser is absent."""
    def parse():

        require_safe_profile(ctx.text(role))

        if shutil.which("apparmor_parser") is None:
            raise NotChecked("apparmor_parser is not installed on this machine (apt-get install apparmor)")
        with tempfile.TemporaryDirectory(prefix="grader-aa-") as tmp:
            path = Path(tmp) / ctx.filename(role)
            path.write_text(ctx.text(role))
            try:
                return check_profile_syntax(path)
            except ProfileError as exc:  # show the learner's file name, not our temp path
                exc.message = exc.message.replace(str(path), ctx.filename(role))
                raise
    return ctx.memo(f"aa-name:{role}", parse)


def file_rules(text: str) -> list[tuple[bool, str, str]]:
    """(is_deny, path glob, permissions) for each file rule."""
    return [(bool(m.group(1)), m.group(2), m.group(3)) for m in _RULE.finditer(text)]


def deny_write_rules(text: str) -> list[str]:
    return [f"deny {path} {perms}" for deny, path, perms in file_rules(text) if deny and ("w" in perms or "a" in perms)]


def is_complain(text: str) -> bool:
    return any("complain" in m.group(1).split(",") or "complain" in m.group(1).split()
               for m in _FLAGS.finditer(text))


def _glob_regex(glob: str) -> str:
    out, i = [], 0
    while i < len(glob):
        for var, rx in _VARS.items():
            if glob.startswith(var, i):
                out.append(rx)
                i += len(var)
                break
        else:
            ch = glob[i]
            if glob.startswith("**", i):
                out.append(".*")
                i += 2
                continue
            if ch == "*":
                out.append("[^/]*")
            elif ch == "?":
                out.append("[^/]")
            elif ch == "[" and glob.find("]", i + 1) > i:
                end = glob.find("]", i + 1)
                body = glob[i + 1:end]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = end
            elif ch == "{":
                end = glob.find("}", i)
                if end < 0:
                    out.append(re.escape(ch))
                else:
                    out.append("(?:" + "|".join(_glob_regex(p) for p in glob[i + 1:end].split(",")) + ")")
                    i = end
            elif ch == "@" and glob.startswith("@{", i):
                end = glob.find("}", i)
                out.append(".*")
                i = end if end > 0 else i
            else:
                out.append(re.escape(ch))
            i += 1
    return "".join(out)


def glob_matches(glob: str, path: str) -> bool:
    return re.fullmatch(_glob_regex(glob), path) is not None


def _perms_cover(rule: str, requested: str) -> bool:
    for ch in requested:
        if ch in "wcd" and "w" not in rule:
            return False
        if ch == "a" and not ({"a", "w"} & set(rule)):
            return False
        if ch in "rlkm" and ch not in rule:
            return False
        if ch == "x" and not re.search(r"[ipcu]x|[IPCU]x|x", rule):
            return False
    return True


def uncovered_records(text: str, records) -> list[str]:
    """File accesses from the records that no allow rule of ``text`` covers (or a deny rule blocks)."""
    rules = file_rules(text)
    missing = []
    for rec in records:
        name, mask = getattr(rec, "name", None), getattr(rec, "requested_mask", None)
        if not name or not mask or not str(name).startswith("/"):
            continue
        denied = any(d and glob_matches(g, name) for d, g, _ in rules)
        allowed = any(not d and glob_matches(g, name) and _perms_cover(p, mask) for d, g, p in rules)
        if denied or not allowed:
            missing.append(f"{name} ({mask})")
    return sorted(set(missing))


def require_named(obj: dict, name: str, container: str | None = None) -> str:
    """The pod (or one container) asks for the Localhost AppArmor profile ``name``."""
    settings = [s for s in apparmor_settings(obj) if container in (None, s.container)]
    if not settings:
        raise ManifestError("the pod has no containers", fix="add the container the exercise describes")
    for setting in settings:
        if setting.conflict:
            raise ManifestError(setting.conflict, fix="keep only the securityContext.appArmorProfile field")
        if setting.source == "none":
            raise ManifestError(f"container {setting.container!r} does not ask for an AppArmor profile",
                                fix="add securityContext.appArmorProfile: {type: Localhost, localhostProfile: NAME}")
        if setting.type != "Localhost" or setting.localhost_profile != name:
            raise ProfileError(f"container {setting.container!r} asks for {setting.type} "
                               f"{setting.localhost_profile or ''} but your profile is named {name}".rstrip(),
                               fix=f"use type: Localhost with localhostProfile: {name}")
    how = {s.source for s in settings}
    style = ("the securityContext.appArmorProfile field" if how <= {"container-field", "pod-field"}
             else "the annotation (deprecated since Kubernetes 1.30; prefer the field)")
    return f"the pod uses {name} through {style}"


def require_stoppable(ctx, role: str = "apparmor") -> str:
    """The kubelet can stop a container under the profile: the runtime's signals get through."""
    name = syntax_name(ctx, role)
    problem = runtime_signal_problem(ctx.text(role))
    if problem:
        raise ProfileError(problem, fix=f"add `#include <abstractions/base>` inside the profile (with "
                                        f"`#include <tunables/global>` at the top of the file), or the rule "
                                        f"`{RUNTIME_SIGNAL_RULE}` (and `{RUNC_SIGNAL_RULE}` for nodes whose "
                                        f"AppArmor 4.0 confines runc)")
    return f"{name} lets the container runtime signal it, so the kubelet can stop the pod"
