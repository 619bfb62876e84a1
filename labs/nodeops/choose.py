"""Which node operations a cluster gets: kind's ``docker exec`` or the node agent.

``auto`` (the default) picks kind only when every node the API lists is a running container
of this machine's Docker engine; a cluster elsewhere, or a machine without ``docker``, gets the
agent. ``COURSE_NODE_OPS`` (``python -m grader ... --nodes``) forces one.
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from ..errors import LabError
from .base import NodeOps

__all__ = ["MODES", "NODE_OPS_ENV", "choose_mode", "node_ops", "on_cluster", "current_config", "forget"]

MODES = ("auto", "kind", "agent")
NODE_OPS_ENV = "COURSE_NODE_OPS"
_CONFIG: ContextVar[str] = ContextVar("course_cluster_config", default="default")
_CHOSEN: dict[tuple[str, str], NodeOps] = {}


def choose_mode(requested: str, api_nodes: list[str] | None, local_containers: set[str] | None) -> tuple[str, str]:
    """(mode, why) from what is known (pure). ``local_containers`` None: no docker here;
    ``api_nodes`` None: the API was not asked or did not answer."""
    if requested not in MODES:
        raise LabError(f"unknown node operations {requested!r}", fix=f"use one of {', '.join(MODES)}")
    if requested != "auto":
        return requested, f"asked for {requested}"
    if local_containers is None:
        return "agent", "docker is not on PATH, so the nodes cannot be local kind containers"
    if api_nodes is None:
        return ("kind", "the API did not answer; the cluster's kind containers run here") if local_containers \
            else ("agent", "no kind container of this cluster runs here")
    foreign = sorted(set(api_nodes) - local_containers)
    if foreign or not api_nodes:
        return "agent", f"node(s) {', '.join(foreign) or '(none listed)'} are not containers on this machine"
    return "kind", "every node is a kind container on this machine"


def _local_containers(config: str) -> set[str] | None:
    if shutil.which("docker") is None:
        return None
    from ..cluster.lifecycle import _node_containers

    try:
        return {n.name for n in _node_containers(config) if n.container_state == "running"}
    except LabError:
        return None


def _api_nodes(config: str) -> list[str] | None:
    try:
        from ..pods import core_api

        return [n.metadata.name for n in core_api(config).list_node(_request_timeout=15).items]
    except Exception:  # noqa: BLE001 - no answer is a fact for choose_mode, not an error here
        return None


def current_config() -> str:
    return _CONFIG.get()


@contextmanager
def on_cluster(config: str) -> Iterator[str]:
    """Node helpers that take a node name only (``write_node_file``) act on ``config``'s cluster."""
    token = _CONFIG.set(config)
    try:
        yield config
    finally:
        _CONFIG.reset(token)


def node_ops(config: str | None = None, mode: str | None = None) -> NodeOps:
    """The node operations of ``config``'s cluster (chosen once per process and mode)."""
    config = config or current_config()
    requested = mode or os.environ.get(NODE_OPS_ENV) or "auto"
    key = (config, requested)
    if key not in _CHOSEN:
        local = _local_containers(config) if requested == "auto" else set()
        api = _api_nodes(config) if requested == "auto" and local else None
        chosen, _why = choose_mode(requested, api, local)
        if chosen == "kind":
            from .kind import KindNodeOps

            _CHOSEN[key] = KindNodeOps(config)
        else:
            from .agent import NodeAgent

            _CHOSEN[key] = NodeAgent(config)
    return _CHOSEN[key]


def forget() -> None:
    """Drop the choices (a test that changes PATH or the cluster)."""
    _CHOSEN.clear()
