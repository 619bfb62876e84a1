"""Kubernetes manifests as plain dicts: load and validate them, label them as the course's.

Why pure functions on dicts: lessons, the grader and :mod:`labs.pods` all need the same answers
without a cluster, and learners edit YAML files, not client objects. This module is also the
one import for the manifest helpers beside it: :mod:`labs.podspec` (where the pod and its
containers are), :mod:`labs.profile_settings` (set and read seccomp/AppArmor) and
:mod:`labs.pod_security` (the Pod Security Standards).
"""
from __future__ import annotations

import copy
import difflib
import re
from pathlib import Path
from typing import Any

import yaml

from .errors import ManifestError
from .names import APPARMOR_ANNOTATION_PREFIX, MANAGED_LABEL, SECCOMP_PROFILES_PREFIX
from .pod_security import PodSecurityReport, PodSecurityViolation, check_pod_security
from .podspec import TEMPLATE_PATH, containers, find_pod, pod_template, security_contexts, spec_path
from .profile_settings import (
    APPARMOR_TYPES,
    SECCOMP_TYPES,
    AppArmorSetting,
    SeccompSetting,
    apparmor_settings,
    apparmor_style,
    localhost_profile_problem,
    seccomp_settings,
    set_apparmor,
    set_seccomp,
)

__all__ = [
    "MANAGED_LABEL",
    "SUPPORTED_KINDS",
    "SECCOMP_TYPES",
    "APPARMOR_TYPES",
    "APPARMOR_ANNOTATION_PREFIX",
    "load_manifests",
    "with_managed_label",
    "pod_template",
    "containers",
    "set_seccomp",
    "seccomp_settings",
    "SeccompSetting",
    "set_apparmor",
    "apparmor_settings",
    "apparmor_style",
    "AppArmorSetting",
    "check_pod_security",
    "PodSecurityReport",
    "PodSecurityViolation",
    "SECCOMP_PROFILES_PREFIX",
    "localhost_profile_problem",
]

#: Namespaced kinds ``apply_manifest`` handles, with the apiVersion each must declare.
SUPPORTED_KINDS = {
    "Pod": "v1",
    "ConfigMap": "v1",
    "Secret": "v1",
    "Service": "v1",
    "ServiceAccount": "v1",
    "PersistentVolumeClaim": "v1",
    "Deployment": "apps/v1",
    "DaemonSet": "apps/v1",
    "StatefulSet": "apps/v1",
    "ReplicaSet": "apps/v1",
    "Job": "batch/v1",
    "CronJob": "batch/v1",
    "NetworkPolicy": "networking.k8s.io/v1",
    "Role": "rbac.authorization.k8s.io/v1",
    "RoleBinding": "rbac.authorization.k8s.io/v1",
}
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def load_manifests(source: str | Path | dict | list) -> list[dict]:
    """Documents from a file path, a YAML/JSON string (multi-document), a dict or a list.

    Every document is checked for the fields ``apply_manifest`` needs; the error names the
    document and says how to fix it. ``kind: List`` documents are expanded.
    """
    origin = "the manifest"
    if isinstance(source, dict):
        docs: list[Any] = [source]
    elif isinstance(source, list):
        docs = list(source)
    else:
        text, origin = _read_source(source)
        docs = _parse_yaml(text, origin)
    expanded: list[Any] = []
    for doc in docs:
        if isinstance(doc, dict) and doc.get("kind") == "List":
            expanded.extend(doc.get("items") or [])
        elif doc is not None:
            expanded.append(doc)
    if not expanded:
        raise ManifestError(f"{origin} holds no Kubernetes objects",
                            fix="write at least one document with apiVersion, kind and metadata.name")
    for index, doc in enumerate(expanded, 1):
        _validate(doc, f"document {index} of {origin}")
    return [copy.deepcopy(d) for d in expanded]


def _read_source(source: str | Path) -> tuple[str, str]:
    looks_like_path = isinstance(source, Path) or (
        "\n" not in source and source.strip().endswith((".yaml", ".yml", ".json")))
    if not looks_like_path:
        return str(source), "the manifest text"
    path = Path(source)
    try:
        return path.read_text(), str(path)
    except FileNotFoundError:
        raise ManifestError(f"manifest file {path} does not exist",
                            fix="check the path (relative paths start at the notebook's folder)") from None
    except OSError as exc:
        raise ManifestError(f"cannot read manifest file {path}: {exc.strerror}",
                            fix="check the file's permissions") from None


def _parse_yaml(text: str, origin: str) -> list[Any]:
    try:
        return list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ManifestError(
            f"{origin} is not valid YAML{where}: {problem}",
            fix="check the indentation there (spaces only, no tabs; list items start with '- ' "
                "and keys line up under their parent)") from None


def _validate(doc: Any, where: str) -> None:
    if not isinstance(doc, dict):
        raise ManifestError(f"{where} is a {type(doc).__name__}, not a Kubernetes object",
                            fix="each document needs `apiVersion:`, `kind:` and `metadata:` keys at the top level")
    kind = doc.get("kind")
    if not kind:
        raise ManifestError(f"{where} has no `kind`",
                            fix=f"add a top-level `kind:` (one of {', '.join(SUPPORTED_KINDS)})")
    metadata = doc.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    label = f"{where} ({kind}"
    if not name:
        raise ManifestError(f"{label}) has no `metadata.name`",
                            fix="add `metadata:` with a `name:` (lowercase letters, digits and '-')")
    label += f" {name!r})"
    if kind not in SUPPORTED_KINDS:
        close = difflib.get_close_matches(str(kind), SUPPORTED_KINDS, n=1)
        hint = f"did you mean `kind: {close[0]}`? " if close else ""
        raise ManifestError(f"{label}: unknown or unsupported kind {kind!r}",
                            fix=f"{hint}supported kinds: {', '.join(SUPPORTED_KINDS)}")
    expected = SUPPORTED_KINDS[kind]
    if doc.get("apiVersion") != expected:
        raise ManifestError(f"{label}: apiVersion is {doc.get('apiVersion')!r}, but {kind} is served as {expected!r}",
                            fix=f"set `apiVersion: {expected}`")
    if not isinstance(name, str) or len(name) > 253 or not _DNS_SUBDOMAIN.match(name):
        raise ManifestError(f"{label}: {name!r} is not a valid object name",
                            fix="use lowercase letters, digits, '-' and '.', starting and ending with a letter or "
                                "digit")
    if kind in TEMPLATE_PATH:
        spec = find_pod(doc)[1]
        path = spec_path(kind)
        if not isinstance(spec, dict) or not spec.get("containers"):
            raise ManifestError(f"{label} has no `{path}.containers`",
                                fix=f"add `{path}.containers:` with at least one container (name and image)")
        for i, container in enumerate(spec["containers"]):
            if not isinstance(container, dict) or not container.get("name") or not container.get("image"):
                raise ManifestError(f"{label}: `{path}.containers[{i}]` needs a `name` and an `image`",
                                    fix="give every container `name:` and `image:` "
                                        "(course images: course/nginx, course/tools)")
        _check_seccomp_fields(spec, path, label)


def _check_seccomp_fields(spec: dict, base: str, label: str) -> None:
    """Refuse a seccompProfile the API server would refuse, naming the field path."""
    for path, sc in security_contexts(spec, base):
        block = sc.get("seccompProfile") if isinstance(sc, dict) else None
        if not isinstance(block, dict):
            continue
        if block.get("type") != "Localhost":
            if "localhostProfile" in block:
                raise ManifestError(f"{label}: {path}.seccompProfile.localhostProfile can only be set when "
                                    f"seccomp type is Localhost (it is {block.get('type')!r})",
                                    fix="use type: Localhost, or drop localhostProfile")
            continue
        problem = localhost_profile_problem(block.get("localhostProfile"))
        if problem:
            raise ManifestError(f"{label}: {path}.seccompProfile.localhostProfile {problem[0]}", fix=problem[1])


def with_managed_label(doc: dict) -> dict:
    """A copy of ``doc`` labelled as the course's (and its pod template too, so pods are)."""
    doc = copy.deepcopy(doc)
    key, value = MANAGED_LABEL
    doc.setdefault("metadata", {}).setdefault("labels", {})[key] = value
    if doc.get("kind") in TEMPLATE_PATH and doc["kind"] != "Pod":
        template = pod_template(doc)
        template.setdefault("metadata", {}).setdefault("labels", {})[key] = value
    return doc
