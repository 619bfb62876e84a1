"""Set and read the seccomp and AppArmor profile each container of a manifest asks for.

Why pure functions on dicts: lessons, the grader and :mod:`labs.pods` need the same answers
("which seccomp profile does container X get, and from which level?") without a cluster, and
learners edit YAML files, not client objects. Setters return a modified deep copy and never
touch their input.
"""
from __future__ import annotations

import copy
import difflib
from dataclasses import dataclass
from typing import Any

from .errors import ManifestError
from .names import APPARMOR_ANNOTATION_PREFIX, KUBELET_SECCOMP_DIR, SECCOMP_PROFILES_PREFIX
from .podspec import containers, find_container, pod_template
from .results import Result

__all__ = ["SECCOMP_TYPES", "APPARMOR_TYPES", "localhost_profile_problem", "SeccompSetting", "set_seccomp",
           "seccomp_settings", "AppArmorSetting", "set_apparmor", "apparmor_settings", "apparmor_style"]

SECCOMP_TYPES = ("RuntimeDefault", "Localhost", "Unconfined")
APPARMOR_TYPES = ("RuntimeDefault", "Localhost", "Unconfined")


def localhost_profile_problem(value: Any) -> tuple[str, str] | None:
    """(problem, fix) when a seccomp ``localhostProfile`` is not a descending path under
    ``profiles/``, else None.

    The API server refuses an absolute path ("must be a relative path") and any ``..`` element
    ("must not contain '..'"): ``validateLocalDescendingPath`` in Kubernetes'
    pkg/apis/core/validation. The kubelet resolves what is left below its seccomp directory,
    and the course installs every profile in ``profiles/`` there.
    """
    fix = (f"write the path below {KUBELET_SECCOMP_DIR}/ on the node, e.g. "
           f"localhostProfile: {SECCOMP_PROFILES_PREFIX}audit.json")
    if not isinstance(value, str) or not value:
        return "is missing: the API server requires it when seccomp type is Localhost", fix
    if value.startswith("/"):
        return f"{value!r} is absolute: the API server refuses it (\"must be a relative path\")", fix
    if ".." in value.split("/"):
        return f"{value!r} contains '..': the API server refuses it (\"must not contain '..'\")", fix
    if not value.startswith(SECCOMP_PROFILES_PREFIX) or value.endswith("/"):
        return (f"{value!r} is not a file under {SECCOMP_PROFILES_PREFIX}: the course installs profiles in "
                f"{KUBELET_SECCOMP_DIR}/{SECCOMP_PROFILES_PREFIX}, so the kubelet would not find it "
                "(the pod would wait in CreateContainerError)", fix)
    return None


# --------------------------------------------------------------------------- seccomp

@dataclass(frozen=True)
class SeccompSetting(Result):
    """The seccomp profile a container gets and where that comes from.

    ``source`` is ``container`` / ``pod`` (securityContext at that level) or ``none``: then the
    kubelet's default applies (Unconfined, or RuntimeDefault with ``seccompDefault: true``).
    """

    container: str
    type: str | None
    localhost_profile: str | None
    source: str


def _profile_block(profile_type: str, localhost_profile: str | None, types: tuple[str, ...], what: str) -> dict:
    if profile_type not in types:
        close = difflib.get_close_matches(profile_type, types, n=1)
        raise ManifestError(f"{profile_type!r} is not a {what} profile type",
                            fix=f"use one of {', '.join(types)}" + (f" (did you mean {close[0]}?)" if close else ""))
    if profile_type == "Localhost":
        if not localhost_profile:
            raise ManifestError(f"a Localhost {what} profile needs localhost_profile",
                                fix="name the profile, e.g. localhost_profile='profiles/audit.json'")
        problem = localhost_profile_problem(localhost_profile) if what == "seccomp" else None
        if problem:
            raise ManifestError(f"localhostProfile {problem[0]}", fix=problem[1])
        return {"type": profile_type, "localhostProfile": localhost_profile}
    if localhost_profile:
        raise ManifestError(f"localhost_profile is only used with type Localhost, not {profile_type}",
                            fix="drop localhost_profile or use type 'Localhost'")
    return {"type": profile_type}


def set_seccomp(doc: dict, profile_type: str, localhost_profile: str | None = None, *,
                container: str | None = None) -> dict:
    """A copy of ``doc`` with ``securityContext.seccompProfile`` set at pod level
    (``container=None``) or for one container (which then overrides the pod level)."""
    block = _profile_block(profile_type, localhost_profile, SECCOMP_TYPES, "seccomp")
    doc = copy.deepcopy(doc)
    target = find_container(doc, container) if container else pod_template(doc).setdefault("spec", {})
    target.setdefault("securityContext", {})["seccompProfile"] = block
    return doc


def seccomp_settings(doc: dict) -> list[SeccompSetting]:
    """The effective seccomp setting of every container (container level beats pod level)."""
    pod = ((pod_template(doc).get("spec") or {}).get("securityContext") or {}).get("seccompProfile")
    out = []
    for c in containers(doc):
        own = (c.get("securityContext") or {}).get("seccompProfile")
        chosen, source = (own, "container") if own else (pod, "pod") if pod else (None, "none")
        out.append(SeccompSetting(c.get("name", ""), (chosen or {}).get("type"),
                                  (chosen or {}).get("localhostProfile"), source))
    return out


# --------------------------------------------------------------------------- AppArmor

@dataclass(frozen=True)
class AppArmorSetting(Result):
    """The AppArmor profile a container asks for, and whether it says so in the
    ``securityContext.appArmorProfile`` field (GA in 1.31) or the deprecated annotation.

    ``source``: ``container-field``, ``pod-field``, ``annotation`` or ``none`` (the runtime's
    default applies). ``conflict`` explains a field and an annotation that disagree, which
    the API server rejects.
    """

    container: str
    type: str | None
    localhost_profile: str | None
    source: str
    conflict: str | None = None


_ANNOTATION_VALUE = {"RuntimeDefault": "runtime/default", "Unconfined": "unconfined"}


def _annotation_to_block(value: str) -> dict:
    if value.startswith("localhost/"):
        return {"type": "Localhost", "localhostProfile": value[len("localhost/"):]}
    for profile_type, text in _ANNOTATION_VALUE.items():
        if value == text:
            return {"type": profile_type}
    return {"type": f"invalid annotation value {value!r}"}


def set_apparmor(doc: dict, profile_type: str, localhost_profile: str | None = None, *,
                 container: str | None = None, style: str = "field") -> dict:
    """A copy of ``doc`` with AppArmor set for one container or (``container=None``) all.

    ``style="field"`` writes ``securityContext.appArmorProfile`` (pod level when
    ``container=None``); ``style="annotation"`` writes the deprecated per-container annotation
    ``container.apparmor.security.beta.kubernetes.io/<name>``. The other style's setting for
    the same containers is removed, because the API server rejects the two when they differ.
    """
    if style not in ("field", "annotation"):
        raise ManifestError(f"unknown AppArmor style {style!r}", fix="use style='field' or style='annotation'")
    block = _profile_block(profile_type, localhost_profile, APPARMOR_TYPES, "AppArmor")
    doc = copy.deepcopy(doc)
    template = pod_template(doc)
    spec = template.setdefault("spec", {})
    targets = [find_container(doc, container)] if container else containers(doc)
    annotations = template.setdefault("metadata", {}).setdefault("annotations", {})
    for c in targets:
        key = APPARMOR_ANNOTATION_PREFIX + c["name"]
        if style == "field":
            annotations.pop(key, None)
        else:
            (c.get("securityContext") or {}).pop("appArmorProfile", None)
            annotations[key] = (f"localhost/{localhost_profile}" if profile_type == "Localhost"
                                else _ANNOTATION_VALUE[profile_type])
    if style == "field":
        target = targets[0] if container else spec
        target.setdefault("securityContext", {})["appArmorProfile"] = block
    elif container is None:
        (spec.get("securityContext") or {}).pop("appArmorProfile", None)
    if not annotations:
        del template["metadata"]["annotations"]
    return doc


def apparmor_settings(doc: dict) -> list[AppArmorSetting]:
    """The AppArmor profile every container asks for, and where it is written."""
    template = pod_template(doc)
    pod_field = ((template.get("spec") or {}).get("securityContext") or {}).get("appArmorProfile")
    annotations = (template.get("metadata") or {}).get("annotations") or {}
    out = []
    for c in containers(doc):
        name = c.get("name", "")
        own = (c.get("securityContext") or {}).get("appArmorProfile")
        note = annotations.get(APPARMOR_ANNOTATION_PREFIX + name)
        from_note = _annotation_to_block(note) if note is not None else None
        chosen, source = ((own, "container-field") if own else (pod_field, "pod-field") if pod_field
                          else (from_note, "annotation") if from_note else (None, "none"))
        conflict = None
        if from_note and chosen is not from_note and _normal(from_note) != _normal(chosen):
            conflict = (f"annotation says {note!r} but the {source} says {chosen.get('type')}"
                        f"{' ' + chosen['localhostProfile'] if chosen.get('localhostProfile') else ''}")
        out.append(AppArmorSetting(name, (chosen or {}).get("type"), (chosen or {}).get("localhostProfile"),
                                   source, conflict))
    return out


def _normal(block: dict | None) -> tuple:
    block = block or {}
    return block.get("type"), block.get("localhostProfile")


def apparmor_style(doc: dict) -> str:
    """How the manifest sets AppArmor: ``field``, ``annotation``, ``both`` or ``none``."""
    template = pod_template(doc)
    annotations = (template.get("metadata") or {}).get("annotations") or {}
    uses_annotation = any(k.startswith(APPARMOR_ANNOTATION_PREFIX) for k in annotations)
    pod_field = ((template.get("spec") or {}).get("securityContext") or {}).get("appArmorProfile")
    uses_field = bool(pod_field) or any((c.get("securityContext") or {}).get("appArmorProfile")
                                        for c in containers(doc))
    return {(True, True): "both", (True, False): "field", (False, True): "annotation"}.get(
        (uses_field, uses_annotation), "none")
