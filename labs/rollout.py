"""Is it up? A DaemonSet or Deployment rolled out and the nodes Ready, read through the API.

Why here: lessons and the grader wait for the same things (exercise 08's installer on every
node, the doctor's "nodes Ready"), and each wait needs the course client, its error
translation and a deadline; the grader then imports no ``kubernetes`` module of its own.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from .cluster.handle import ClusterRef, as_cluster
from .cluster.lifecycle import node_readiness
from .errors import LabError
from .kube import call, plain
from .results import Result

__all__ = ["Rollout", "rollout_progress", "wait_for_rollout", "nodes_ready"]

#: kind -> the AppsV1Api method that reads its status
_READ_STATUS = {
    "DaemonSet": "read_namespaced_daemon_set_status",
    "Deployment": "read_namespaced_deployment_status",
    "StatefulSet": "read_namespaced_stateful_set_status",
}


@dataclass(frozen=True)
class Rollout(Result):
    """How far a workload got: ``ready`` of ``desired`` pods (a DaemonSet: of the nodes it
    schedules to); ``ok`` when all are ready, on ``expected`` pods if that was asked."""

    kind: str
    name: str
    namespace: str
    ready: int
    desired: int
    ok: bool


def rollout_progress(kind: str, obj: dict) -> tuple[int, int]:
    """``(ready, desired)`` of a DaemonSet, Deployment or StatefulSet as the API returns it."""
    status = obj.get("status") or {}
    if kind == "DaemonSet":
        return status.get("numberReady") or 0, status.get("desiredNumberScheduled") or 0
    replicas = (obj.get("spec") or {}).get("replicas")
    return status.get("readyReplicas") or 0, 1 if replicas is None else replicas


def wait_for_rollout(kind: str, name: str, namespace: str, *, expected: int | None = None,
                     timeout: float = 120, poll: float = 2, config: ClusterRef = "default") -> Rollout:
    """Wait until every pod of the workload is ready (and, with ``expected``, that many are
    wanted: a DaemonSet on every node); return how far it got, ``ok`` False at ``timeout``."""
    if kind not in _READ_STATUS:
        raise LabError(f"wait_for_rollout cannot follow a {kind}", fix=f"use one of: {', '.join(_READ_STATUS)}")
    cluster = as_cluster(config)
    read = getattr(cluster.apps_api(), _READ_STATUS[kind])
    deadline = time.monotonic() + timeout
    while True:
        ready, desired = rollout_progress(kind, plain(call(f"read {kind} {name}", read, name, namespace), cluster))
        done = desired > 0 and ready == desired and expected in (None, desired)
        if done or time.monotonic() >= deadline:
            return Rollout(kind, name, namespace, ready, desired, done)
        time.sleep(poll)


def nodes_ready(config: ClusterRef = "default", *, timeout: float = 10) -> dict[str, tuple[bool, str]]:
    """node -> (Ready?, the Ready condition's message), as the API server reports them."""
    cluster = as_cluster(config)
    listed = call("list nodes", cluster.core_api().list_node, _request_timeout=timeout)
    return node_readiness(plain(listed, cluster))
