"""Which node operations a cluster gets: kind's ``docker exec`` or the node agent.

``auto`` (the default) picks kind only when every node the API lists is a running container
of this machine's Docker engine; a cluster elsewhere, or a machine without ``docker``, gets the
agent. ``COURSE_NODE_OPS`` (``python -m grader ... --nodes``) forces one.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from .. import engine
from ..errors import LabError
from .agent import NodeAgent
from .base import NodeCluster, NodeOps
from .kind import KindNodeOps

__all__ = ["MODES", "NODE_OPS_ENV", "choose_mode", "node_ops", "on_cluster", "current_cluster", "forget"]

MODES = ("auto", "kind", "agent")
NODE_OPS_ENV = "COURSE_NODE_OPS"
_CLUSTER: ContextVar[NodeCluster | None] = ContextVar("course_cluster", default=None)
_CHOSEN: dict[tuple[str, str], NodeOps] = {}


def choose_mode(requested: str, api_nodes: list[str] | None, local_containers: set[str] | None) -> tuple[str, str]:
    """(mode, why) from what is known (pure). ``local_containers`` None: no docker here;
    ``api_nodes`` None: the API was not asked or did not answer."""
    if requested not in MODES:
        raise LabError(f"unknown node operations {requested!r}", fix=f"use one of {', '.join(MODES)}")
    if requested != "auto":
        return requested, f"asked for {requested}"
    if local_containers is None:
        return "agent", f"{engine.binary()} is not on PATH, so the nodes cannot be local kind containers"
    if api_nodes is None:
        return ("kind", "the API did not answer; the cluster's kind containers run here") if local_containers \
            else ("agent", "no kind container of this cluster runs here")
    foreign = sorted(set(api_nodes) - local_containers)
    if foreign or not api_nodes:
        return "agent", f"node(s) {', '.join(foreign) or '(none listed)'} are not containers on this machine"
    return "kind", "every node is a kind container on this machine"


def _local_containers(cluster: NodeCluster) -> set[str] | None:
    if not engine.available():
        return None
    try:
        return {n.name for n in cluster.node_containers() if n.container_state == "running"}
    except LabError:
        return None


def _api_nodes(cluster: NodeCluster) -> list[str] | None:
    try:
        from ..pods import core_api  # slow import: the kubernetes client

        return [n.metadata.name for n in core_api(cluster).list_node(_request_timeout=15).items]
    except Exception:  # noqa: BLE001 - no answer is a fact for choose_mode, not an error here
        return None


def current_cluster() -> NodeCluster | None:
    """The cluster of the surrounding :func:`on_cluster` (None outside one)."""
    return _CLUSTER.get()


@contextmanager
def on_cluster(cluster: NodeCluster) -> Iterator[NodeCluster]:
    """Node helpers that take a node name only (``write_node_file``) act on ``cluster``."""
    token = _CLUSTER.set(cluster)
    try:
        yield cluster
    finally:
        _CLUSTER.reset(token)


def node_ops(cluster: NodeCluster | None = None, mode: str | None = None) -> NodeOps:
    """The node operations of ``cluster`` (a :class:`labs.cluster.Cluster`; default: the one of the
    surrounding :func:`on_cluster`), chosen once per config and mode. A config name is resolved
    by the layer above (``labs.cluster.get_cluster(name).node_ops()``)."""
    cluster = cluster or current_cluster()
    if cluster is None:
        raise LabError("node operations need a cluster, and none was given",
                       fix="call labs.cluster.get_cluster(name).node_ops(), or node_ops() inside "
                           "labs.nodeops.on_cluster(cluster)")
    requested = mode or os.environ.get(NODE_OPS_ENV) or "auto"
    key = (cluster.config, requested)
    if key not in _CHOSEN:
        local = _local_containers(cluster) if requested == "auto" else set()
        api = _api_nodes(cluster) if requested == "auto" and local else None
        chosen, _why = choose_mode(requested, api, local)
        _CHOSEN[key] = KindNodeOps(cluster) if chosen == "kind" else NodeAgent(cluster)
    return _CHOSEN[key]


def forget() -> None:
    """Drop the choices (a test that changes PATH or the cluster)."""
    _CHOSEN.clear()
