"""The Kubernetes client for the course cluster, and its errors turned into LabErrors.

Why one place: every helper that talks to the API needs the same client (the course
kubeconfig, never ``~/.kube/config``) and the same translation of ``ApiException`` into an
error that says what to do next (a Pod Security rejection lists its violations). The
``kubernetes`` package is slow to import (about a second), so only modules that talk to the
cluster import this one.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import urllib3
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException

from .errors import EnvironmentProblem, LabError, ManifestError, WorkloadFailed
from .paths import kubeconfig_file
from .pod_fixes import FIXES

__all__ = ["ClusterLike", "api_client", "core_api", "apps_api", "call", "plain", "translate_api_error",
           "pod_security_violations", "PodSecurityRejected"]


class PodSecurityRejected(ManifestError):
    """The namespace's Pod Security level refused the object; ``violations`` lists why."""

    reason = "PodSecurityRejected"

    def __init__(self, message: str, violations: list[str]):
        self.violations = violations
        super().__init__(message, FIXES["PodSecurityRejected"])


class ClusterLike(Protocol):
    """What this module needs of a :class:`labs.cluster.Cluster` (it sits below labs.cluster)."""

    config: str
    kubeconfig: Path


_CLIENTS: dict[tuple[str, int], k8s.ApiClient] = {}


def _kubeconfig(config: ClusterLike | str) -> Path:
    """The kubeconfig of a Cluster, or of a config name (the form callers are leaving)."""
    name, path = (config, kubeconfig_file(config)) if isinstance(config, str) else (config.config, config.kubeconfig)
    if not path.exists():
        raise EnvironmentProblem(f"no kubeconfig for the {name!r} cluster at {path}: the cluster does not exist",
                                 fix="create it with `make cluster` (or labs.cluster.ensure_cluster())")
    return path


def api_client(config: ClusterLike | str = "default", *, fresh: bool = False) -> k8s.ApiClient:
    """An ApiClient for the course cluster, reused until its kubeconfig changes.

    ``fresh=True`` returns a private one (exec streams patch the client they use)."""
    path = _kubeconfig(config)
    key = (str(path), path.stat().st_mtime_ns)
    if fresh or key not in _CLIENTS:
        made = k8s_config.new_client_from_config(config_file=str(path), persist_config=False)
        if fresh:
            return made
        for old in [k for k in _CLIENTS if k[0] == key[0]]:   # the cluster was re-created
            _CLIENTS.pop(old).close()
        _CLIENTS[key] = made
    return _CLIENTS[key]


def core_api(config: ClusterLike | str = "default") -> k8s.CoreV1Api:
    """The CoreV1Api of the course cluster (pods, events, namespaces, logs)."""
    return k8s.CoreV1Api(api_client(config))


def apps_api(config: ClusterLike | str = "default") -> k8s.AppsV1Api:
    """The AppsV1Api of the course cluster (DaemonSets, Deployments)."""
    return k8s.AppsV1Api(api_client(config))


def _api_message(exc: ApiException) -> str:
    try:
        return json.loads(exc.body).get("message") or exc.reason or ""
    except (TypeError, ValueError, AttributeError):
        return (exc.body if isinstance(exc.body, str) and exc.body else exc.reason) or str(exc.status)


def pod_security_violations(message: str) -> list[str]:
    """The violations in a PodSecurity rejection (``violates PodSecurity "restricted:latest":
    a (detail), b (detail)``), one string each."""
    _, _, tail = message.partition('":')
    items, depth, current = [], 0, ""
    for char in tail.strip():
        depth += (char == "(") - (char == ")")
        if char == "," and depth == 0:
            items.append(current.strip())
            current = ""
        else:
            current += char
    if current.strip():
        items.append(current.strip())
    return items


def translate_api_error(exc: ApiException, what: str) -> LabError:
    """A LabError for a failed API call; ``what`` says what was being done (``create Pod web``)."""
    message = _api_message(exc)
    if exc.status == 403 and "violates PodSecurity" in message:
        return PodSecurityRejected(f"{what}: {message}", pod_security_violations(message))
    if exc.status == 422 and ("may not change fields" in message or "field is immutable" in message):
        return ManifestError(f"{what}: the API server refused the change: {message}",
                             fix="that field cannot change on a live object: delete it first (delete_pod(name, "
                                 "namespace) for a pod), then apply again")
    if exc.status in (400, 422):
        return ManifestError(f"{what}: the API server refused it: {message}",
                             fix="fix the field the message names (labs.manifests helpers show the current values)")
    if exc.status == 404:
        return WorkloadFailed(f"{what}: not found: {message}", reason="NotFound",
                              fix="check the name and namespace (the object may have been deleted)")
    if exc.status == 401:
        return EnvironmentProblem(f"{what}: the API server did not accept our credentials: {message}",
                                  fix="the kubeconfig is stale (the cluster was re-created?): re-run `make cluster`")
    if exc.status == 403:
        return ManifestError(f"{what}: forbidden: {message}",
                             fix="an admission rule refused it: read the message (a namespace being deleted, "
                                 "a missing service account, a quota)")
    if exc.status == 409:
        return ManifestError(f"{what}: conflict: {message}", fix="delete the old object first, then apply again")
    return EnvironmentProblem(f"{what}: the API server answered {exc.status}: {message}",
                              fix="check the cluster with labs.cluster.cluster_status(); re-run `make cluster`")


def call(what: str, fn: Callable, *args: Any, **kwargs: Any) -> Any:
    """Run one API call, turning client exceptions into LabErrors."""
    try:
        return fn(*args, **kwargs)
    except ApiException as exc:
        raise translate_api_error(exc, what) from None
    except urllib3.exceptions.HTTPError as exc:
        raise EnvironmentProblem(f"{what}: cannot reach the cluster's API server ({type(exc).__name__})",
                                 fix="is the kind cluster running? check with labs.cluster.cluster_status(), "
                                     "start it with `make cluster`") from None


def plain(obj: Any, config: ClusterLike | str) -> dict:
    """A client object as the JSON dict the API sent (camelCase keys)."""
    return api_client(config).sanitize_for_serialization(obj)
