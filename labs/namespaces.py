"""Throw-away namespaces: one per lab run or test, labelled, deleted on exit.

Why: every exercise and test gets a clean space whose pods cannot clash with another run's,
and a crashed notebook kernel leaves nothing behind for long: entering a new lab namespace
sweeps those whose owning process is gone.
"""
from __future__ import annotations

import os
import re
import secrets
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from .errors import EnvironmentProblem, LabTimeout, ManifestError, WorkloadFailed
from .kube import ClusterLike, call, core_api
from .names import MANAGED_LABEL, POD_SECURITY_ENFORCE_LABEL, POD_SECURITY_VERSION_LABEL

__all__ = ["lab_namespace", "create_namespace", "delete_namespace", "namespace_exists", "namespace_name",
           "sweep_stale_namespaces", "is_stale", "owner_token",
           "service_account_wait", "number_from_env", "slow_cluster_factor", "SLOW_CLUSTER_FACTOR_ENV",
           "LAB_NAMESPACE_LABEL", "OWNER_ANNOTATION", "POD_SECURITY_LEVELS",
           "SERVICE_ACCOUNT_WAIT_ENV"]

LAB_NAMESPACE_LABEL = ("course.seccomp-lab/lab-namespace", "true")
OWNER_ANNOTATION = "course.seccomp-lab/owner"      # "<host>:<pid>:<process start ticks>"
POD_SECURITY_LEVELS = ("privileged", "baseline", "restricted")
#: A namespace owned by another machine (e.g. a grader container) counts as stale after this.
FOREIGN_MAX_AGE = 6 * 3600
#: environment variable: seconds a new namespace may wait for its default ServiceAccount
SERVICE_ACCOUNT_WAIT_ENV = "COURSE_SERVICE_ACCOUNT_WAIT"


def namespace_name(prefix: str) -> str:
    """``<prefix>-<6 hex>``, made a valid namespace name (lowercase, '-', at most 63 chars)."""
    base = re.sub(r"[^a-z0-9-]+", "-", prefix.lower()).strip("-")[:55].strip("-") or "lab"
    return f"{base}-{secrets.token_hex(3)}"


def _start_ticks(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]   # field 22: start time since boot
    except (OSError, IndexError):
        return None


def owner_token(pid: int | None = None) -> str:
    """Who owns a namespace: host, pid and the pid's start time (so a reused pid differs)."""
    pid = pid or os.getpid()
    return f"{socket.gethostname()}:{pid}:{_start_ticks(pid)}"


def is_stale(namespace: dict, *, host: str, now: float) -> bool:
    """Whether a lab namespace (as the API returns it) has lost its owner.

    Owned on this host: stale once the owning process is gone. Owned elsewhere (or without
    an owner): stale after :data:`FOREIGN_MAX_AGE`.
    """
    meta = namespace.get("metadata") or {}
    if meta.get("deletionTimestamp"):
        return False
    owner = (meta.get("annotations") or {}).get(OWNER_ANNOTATION, "")
    owner_host, _, rest = owner.partition(":")
    pid, _, ticks = rest.partition(":")
    if owner_host == host and pid.isdigit():
        return _start_ticks(int(pid)) != ticks
    created = meta.get("creationTimestamp")
    if not created:
        return False
    return now - datetime.fromisoformat(created).timestamp() > FOREIGN_MAX_AGE


def sweep_stale_namespaces(config: ClusterLike | str = "default") -> list[str]:
    """Delete lab namespaces whose owner is gone; returns their names."""
    api = core_api(config)
    selector = "=".join(LAB_NAMESPACE_LABEL)
    listed = call("list lab namespaces", api.list_namespace, label_selector=selector)
    items = api.api_client.sanitize_for_serialization(listed).get("items") or []
    host, now, swept = socket.gethostname(), time.time(), []
    for ns in items:
        if is_stale(ns, host=host, now=now):
            _delete_namespace(ns["metadata"]["name"], config)
            swept.append(ns["metadata"]["name"])
    return swept


def _delete_namespace(name: str, config: ClusterLike | str) -> None:
    api = core_api(config)
    try:   # kill pods at once: `sleep` as PID 1 ignores SIGTERM and would hold the node 30 s
        call(f"delete pods in {name}", api.delete_collection_namespaced_pod, name, grace_period_seconds=0)
        call(f"delete namespace {name}", api.delete_namespace, name, propagation_policy="Background")
    except WorkloadFailed as exc:
        if exc.reason != "NotFound":
            raise


def number_from_env(name: str, default: float, example: str) -> float:
    """A number a slow host sets in the environment (``default`` when unset); a clear error otherwise."""
    value = os.environ.get(name, str(default))
    try:
        return float(value)
    except ValueError:
        raise EnvironmentProblem(f"{name}={value!r} is not a number",
                                 fix=f"set it to e.g. {example}, or unset {name}") from None


#: multiplies the waits on a cluster's pods and node operations on a slow cluster (an emulated
#: node, a busy shared one): the grader's pod waits and the node agent's commands
SLOW_CLUSTER_FACTOR_ENV = "COURSE_POD_WAIT_FACTOR"


def slow_cluster_factor() -> float:
    """``$COURSE_POD_WAIT_FACTOR`` (1 when unset)."""
    return number_from_env(SLOW_CLUSTER_FACTOR_ENV, 1, "3")


def service_account_wait() -> float:
    """Seconds a new namespace may wait for its ServiceAccount: 60, or ``$COURSE_SERVICE_ACCOUNT_WAIT``
    on a slow host (an emulated one restarts its controller manager while it starts)."""
    return number_from_env(SERVICE_ACCOUNT_WAIT_ENV, 60, "300")


def _wait_for_default_service_account(name: str, config: ClusterLike | str, timeout: float | None = None) -> None:
    """Pods are refused until the controller manager has made the namespace's ``default``
    ServiceAccount (a fresh namespace has none for a moment)."""
    timeout = service_account_wait() if timeout is None else timeout
    api, deadline = core_api(config), time.monotonic() + timeout
    while True:
        try:
            call("read service account", api.read_namespaced_service_account, "default", name)
            return
        except WorkloadFailed as exc:
            if exc.reason != "NotFound":
                raise
        if time.monotonic() > deadline:
            raise LabTimeout(f"namespace {name} got no default ServiceAccount in {timeout:g}s",
                             fix="the kube-controller-manager may not be running: check "
                                 "labs.cluster.cluster_status()")
        time.sleep(0.3)


def create_namespace(name: str, *, labels: dict[str, str] | None = None,
                     annotations: dict[str, str] | None = None, config: ClusterLike | str = "default",
                     exist_ok: bool = False) -> str:
    """Create a namespace with the course label and wait until pods can be created in it
    (its default ServiceAccount exists). ``exist_ok``: an existing one is fine."""
    body = {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": {**dict([MANAGED_LABEL]), **(labels or {})},
                         "annotations": dict(annotations or {})}}
    try:
        call(f"create namespace {name}", core_api(config).create_namespace, body)
    except ManifestError as exc:
        if not (exist_ok and "already exists" in exc.message):
            raise
    _wait_for_default_service_account(name, config)
    return name


def namespace_exists(name: str, config: ClusterLike | str = "default") -> bool:
    try:
        call(f"read namespace {name}", core_api(config).read_namespace, name)
    except WorkloadFailed as exc:
        if exc.reason == "NotFound":
            return False
        raise
    return True


def delete_namespace(name: str, config: ClusterLike | str = "default", *, wait: bool = True,
                     timeout: float = 120) -> bool:
    """Delete a namespace and its pods at once (absent is fine); with ``wait``, until it is gone.
    Returns whether it existed."""
    existed = namespace_exists(name, config)
    if existed:
        _delete_namespace(name, config)
    deadline = time.monotonic() + timeout
    while wait and existed and namespace_exists(name, config):
        if time.monotonic() > deadline:
            raise LabTimeout(f"namespace {name} was still terminating after {timeout:g} s",
                             fix=f"look at what holds it: kubectl get all -n {name}; "
                                 f"then kubectl delete namespace {name} --force")
        time.sleep(0.5)
    return existed


@contextmanager
def lab_namespace(prefix: str, config: ClusterLike | str = "default", *, pod_security: str | None = None,
                  keep: bool = False) -> Iterator[str]:
    """Create a labelled namespace ``<prefix>-<random>``, yield its name, delete it on exit.

    ``pod_security`` ("baseline", "restricted", ...) makes the PodSecurity admission enforce
    that level there (version latest). ``keep=True`` leaves it for inspection (it is swept
    once this process ends). Entering also sweeps stale lab namespaces.
    """
    if pod_security is not None and pod_security not in POD_SECURITY_LEVELS:
        raise ManifestError(f"unknown Pod Security level {pod_security!r}",
                            fix=f"use one of {', '.join(POD_SECURITY_LEVELS)}")
    sweep_stale_namespaces(config)
    name = namespace_name(prefix)
    labels = dict([LAB_NAMESPACE_LABEL])
    if pod_security:
        labels[POD_SECURITY_ENFORCE_LABEL] = pod_security
        labels[POD_SECURITY_VERSION_LABEL] = "latest"
    try:
        create_namespace(name, labels=labels, annotations={OWNER_ANNOTATION: owner_token()}, config=config)
        yield name
    finally:
        if not keep:
            _delete_namespace(name, config)
