"""Where a manifest keeps its pod: the pod template of each workload kind, and its containers
with the field path a message names them by (``spec.template.spec.containers[0]``).

Why one walker: validation, the seccomp/AppArmor readers, the Pod Security rules and the
grader's policy all visit the same places; the readers here never change the document and
skip what is not a mapping, so they serve untrusted submissions as well as loaded manifests.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .errors import ManifestError

__all__ = ["TEMPLATE_PATH", "CONTAINER_LISTS", "find_pod", "spec_path", "pod_template", "containers",
           "container_entries", "security_contexts", "find_container"]

#: Where each workload kind keeps its pod template (keys from the top of the document).
TEMPLATE_PATH = {
    "Pod": (),
    "Deployment": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}
#: The container lists of a pod spec, in the order the kubelet starts them.
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


def _mapping(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def spec_path(kind: str) -> str:
    """The pod spec's field path in a ``kind`` document: ``spec``, ``spec.template.spec``, ..."""
    return ".".join((*TEMPLATE_PATH[kind], "spec"))


def find_pod(doc: dict) -> tuple[Any, Any] | None:
    """``(metadata, spec)`` of the pod a document describes, or None for a kind without pods.

    Read-only: a missing level reads as empty; the values are returned as written (the
    caller decides what a spec that is not a mapping means)."""
    path = TEMPLATE_PATH.get(doc.get("kind"))
    if path is None:
        return None
    template: Any = doc
    for key in path:
        template = _mapping(template).get(key)
    template = _mapping(template)
    return template.get("metadata") or {}, template.get("spec") or {}


def pod_template(doc: dict) -> dict:
    """The object holding the pod's ``metadata`` and ``spec`` (the Pod itself, or the
    template of a Deployment, DaemonSet, StatefulSet, ReplicaSet, Job or CronJob)."""
    kind = doc.get("kind")
    if kind not in TEMPLATE_PATH:
        raise ManifestError(f"a {kind} has no pods, so it has no security settings",
                            fix=f"use one of: {', '.join(TEMPLATE_PATH)}")
    node = doc
    for key in TEMPLATE_PATH[kind]:
        node = node.setdefault(key, {})
    return node


def container_entries(spec: Any, base: str) -> Iterator[tuple[str, dict]]:
    """``(path, container)`` for every container of a pod spec, paths below ``base``."""
    for key in CONTAINER_LISTS:
        listed = _mapping(spec).get(key)
        for i, container in enumerate(listed if isinstance(listed, list) else []):
            if isinstance(container, dict):
                yield f"{base}.{key}[{i}]", container


def containers(doc: dict) -> list[dict]:
    """Every container of the pod: init containers, containers, ephemeral containers."""
    return [c for _, c in container_entries(pod_template(doc).get("spec"), "")]


def security_contexts(spec: Any, base: str) -> Iterator[tuple[str, Any]]:
    """``(path, securityContext)``: the pod's, then each container's, as written (maybe None)."""
    yield f"{base}.securityContext", _mapping(spec).get("securityContext")
    for path, container in container_entries(spec, base):
        yield f"{path}.securityContext", container.get("securityContext")


def find_container(doc: dict, name: str) -> dict:
    """The container called ``name``; the error lists the names there are."""
    found = containers(doc)
    for c in found:
        if c.get("name") == name:
            return c
    names = ", ".join(repr(c.get("name")) for c in found)
    raise ManifestError(f"the pod has no container named {name!r}", fix=f"use one of: {names}")
