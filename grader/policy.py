"""Refuse dangerous manifests and copy only the graded fields out of a submission.

The grader never applies a submitted manifest. It builds pods from its own templates
(``grader/templates``) and copies in the few fields an exercise grades (security contexts,
AppArmor annotations). Before that, :func:`manifest_violations` names everything a grading
cluster must not run (privileged, host namespaces, hostPath, extra capabilities, another
namespace) and every seccomp ``localhostProfile`` the API server would refuse (absolute, or
with a ``..`` element) or the kubelet would not find (outside ``profiles/``), so the student
sees why the submission was refused before any cluster does.
"""
from __future__ import annotations

import copy
from collections.abc import Iterable
from pathlib import PurePosixPath
from typing import Any

from labs.errors import ManifestError
from labs.names import APPARMOR_ANNOTATION_PREFIX
from labs.pod_security import pod_security_violations
from labs.podspec import container_entries, find_pod, security_contexts, spec_path
from labs.profile_settings import localhost_profile_problem

__all__ = [
    "ALLOWED_CAPABILITIES",
    "APPARMOR_ANNOTATION_PREFIX",
    "GRADING_CONTROLS",
    "manifest_violations",
    "require_safe",
    "pod_spec_of",
    "graded_pod_fields",
    "apply_graded_fields",
]

#: Capabilities a student may add: nginx binding port 80 as non-root needs this one only.
ALLOWED_CAPABILITIES = frozenset({"NET_BIND_SERVICE"})
#: Pod Security controls (labs.pod_security.RULES) a grading cluster enforces as baseline does;
#: what else it refuses is stricter than baseline (any sysctl, any added capability but one,
#: a hostPath outside the folders an exercise allows), so it is checked below.
GRADING_CONTROLS = ("Host Namespaces", "Privileged Containers", "/proc Mount Type", "Host Ports")
_POD_SC_KEYS = ("runAsNonRoot", "runAsUser", "runAsGroup", "fsGroup", "supplementalGroups",
                "seccompProfile", "appArmorProfile")
_CONTAINER_SC_KEYS = ("allowPrivilegeEscalation", "capabilities", "runAsNonRoot", "runAsUser",
                      "runAsGroup", "readOnlyRootFilesystem", "seccompProfile", "appArmorProfile",
                      "privileged")
_REFUSED_KINDS = ("Namespace", "ClusterRole", "ClusterRoleBinding", "RoleBinding", "Role", "ServiceAccount", "Secret",
                  "CustomResourceDefinition", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
                  "Node", "PersistentVolume")


def pod_spec_of(obj: dict) -> tuple[dict, dict] | None:
    """Return (metadata, spec) of a Pod or of a workload's pod template, else None."""
    return find_pod(obj)


def _named_containers(spec: dict) -> Iterable[tuple[str, dict]]:
    for _, c in container_entries(spec, ""):
        yield str(c.get("name", "?")), c


def _seccomp_path_problems(obj: dict, spec: dict, label: str) -> list[str]:
    """A message for each seccompProfile.localhostProfile that is not a descending path under profiles/."""
    problems = []
    for path, sc in security_contexts(spec, spec_path(obj["kind"])):
        block = sc.get("seccompProfile") if isinstance(sc, dict) else None
        if not isinstance(block, dict) or (block.get("type") != "Localhost" and "localhostProfile" not in block):
            continue
        problem = localhost_profile_problem(block.get("localhostProfile"))
        if problem:
            problems.append(f"{label}: {path}.seccompProfile.localhostProfile {problem[0]}; {problem[1]}")
    return problems


def _host_path_problems(spec: dict, label: str, allowed_host_paths: tuple[str, ...]) -> list[str]:
    problems = []
    for vol in spec.get("volumes") or []:
        if isinstance(vol, dict) and "hostPath" in vol:
            path = str((vol.get("hostPath") or {}).get("path", ""))
            inside = ".." not in PurePosixPath(path).parts and any(
                path == p or path.startswith(p.rstrip("/") + "/") for p in allowed_host_paths)
            if not inside:
                problems.append(f"{label}: volume {vol.get('name', '?')!r} mounts the node path {path!r} "
                                "(hostPath is not allowed here)")
    return problems


def _container_problems(spec: dict, label: str) -> list[str]:
    problems = []
    for name, c in _named_containers(spec):
        sc = c.get("securityContext") or {}
        if not isinstance(sc, dict):
            problems.append(f"{label}: container {name!r} securityContext is not a mapping")
            continue
        added = ((sc.get("capabilities") or {}).get("add") or []) if isinstance(sc.get("capabilities"), dict) else []
        extra = sorted({str(a).upper().removeprefix("CAP_") for a in added} - ALLOWED_CAPABILITIES)
        if extra:
            problems.append(f"{label}: container {name!r} adds capabilities {', '.join(extra)} "
                            f"(only {', '.join(sorted(ALLOWED_CAPABILITIES))} may be added)")
    return problems


def _pod_problems(obj: dict, spec: dict, label: str, allowed_host_paths: tuple[str, ...]) -> list[str]:
    problems = [f"{label}: {v.message}; {v.fix}"
                for v in pod_security_violations(obj, "baseline", controls=GRADING_CONTROLS)]
    problems += _host_path_problems(spec, label, allowed_host_paths)
    problems += _seccomp_path_problems(obj, spec, label)
    security = spec.get("securityContext")
    if isinstance(security, dict) and security.get("sysctls"):
        problems.append(f"{label}: securityContext.sysctls are not accepted")
    return problems + _container_problems(spec, label)


def manifest_violations(objects: list[dict], *, allowed_host_paths: tuple[str, ...] = ()) -> list[str]:
    """Everything in ``objects`` that a grading cluster refuses to run, one message each."""
    problems: list[str] = []
    for obj in objects:
        kind = obj.get("kind", "?")
        meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
        label = f"{kind} {meta.get('name', '?')}"
        ns = meta.get("namespace")
        if ns not in (None, "", "default"):
            problems.append(f"{label}: asks for namespace {ns!r}; leave metadata.namespace out")
        if kind in _REFUSED_KINDS:
            problems.append(f"{label}: {kind} objects are not accepted in a submission")
        found = pod_spec_of(obj)
        if found is None:
            continue
        if not isinstance(found[1], dict):
            problems.append(f"{label}: spec is not a mapping")
            continue
        problems += _pod_problems(obj, found[1], label, allowed_host_paths)
    return problems


def require_safe(objects: list[dict], name: str, **kwargs: Any) -> None:
    """Raise ManifestError listing every violation, or return quietly."""
    problems = manifest_violations(objects, **kwargs)
    if problems:
        raise ManifestError(f"{name} was refused: " + "; ".join(problems),
                            fix="the grading cluster never runs privileged or host-sharing pods; "
                                "remove those settings")


def _pick(source: Any, keys: tuple[str, ...]) -> dict:
    if not isinstance(source, dict):
        return {}
    return {k: copy.deepcopy(source[k]) for k in keys if k in source}


def graded_pod_fields(obj: dict) -> dict:
    """The graded fields of a submitted pod: security contexts per container + AppArmor annotations."""
    found = pod_spec_of(obj)
    if found is None:
        raise ManifestError(f"expected a Pod, got {obj.get('kind', 'no kind')}",
                            fix="set kind: Pod (apiVersion: v1)")
    meta, spec = found
    annotations = meta.get("annotations") or {}
    return {
        "pod": _pick(spec.get("securityContext"), _POD_SC_KEYS),
        "containers": {name: _pick(c.get("securityContext"), _CONTAINER_SC_KEYS)
                       for name, c in _named_containers(spec)},
        "annotations": {k: str(v) for k, v in annotations.items()
                        if isinstance(annotations, dict) and str(k).startswith(APPARMOR_ANNOTATION_PREFIX)},
    }


def apply_graded_fields(template: dict, fields: dict, *, container_map: dict[str, str] | None = None) -> dict:
    """Copy graded fields into a grader template pod. ``container_map`` maps template -> submitted names."""
    pod = copy.deepcopy(template)
    spec = pod["spec"]
    if fields["pod"]:
        spec["securityContext"] = {**(spec.get("securityContext") or {}), **fields["pod"]}
    annotations = pod.setdefault("metadata", {}).setdefault("annotations", {})
    for c in spec["containers"]:
        submitted = (container_map or {}).get(c["name"], c["name"])
        sc = fields["containers"].get(submitted)
        if sc is not None:
            c["securityContext"] = sc
        value = fields["annotations"].get(APPARMOR_ANNOTATION_PREFIX + submitted)
        if value is not None:
            annotations[APPARMOR_ANNOTATION_PREFIX + c["name"]] = value
    return pod
