"""One course cluster, resolved once: what every helper that acts on a cluster is handed.

Why an object: a config name ("default", "multi-node", ...) used to be re-resolved at every
step (the kind name re-read from the YAML file each time). A :class:`Cluster` reads it once and
carries the kind name and kubeconfig; the node list, node operations and API clients are asked
of it when needed, the way kind passes a Provider and lightkube a Client. Lessons get the
default one with ``get_cluster()``; helpers still take a config name during the migration and
turn it into the object with :func:`as_cluster` (the one coercion).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import engine
from ..errors import EnvironmentProblem
from ..nodeops.choose import node_ops
from ..paths import kubeconfig_file
from ..results import Result
from .configs import get_config

if TYPE_CHECKING:
    from ..nodeops.base import NodeOps

__all__ = ["Cluster", "ClusterRef", "NodeStatus", "as_cluster", "get_cluster", "forget_clusters",
           "parse_node_rows", "KIND_LABEL", "ROLE_LABEL"]

KIND_LABEL = "io.x-k8s.kind.cluster"
ROLE_LABEL = "io.x-k8s.kind.role"


@dataclass
class NodeStatus(Result):
    """One node container: its Docker state and whether Kubernetes reports it Ready."""

    name: str
    role: str
    container_state: str
    ready: bool | None = None


def parse_node_rows(text: str) -> list[NodeStatus]:
    """``docker ps --format '{{.Names}}\\t{{.State}}\\t<role label>'`` rows -> NodeStatus."""
    nodes = []
    for line in text.splitlines():
        if line.strip():
            name, state, role = ([*line.split("\t"), "", ""])[:3]
            nodes.append(NodeStatus(name=name, role=role, container_state=state))
    return sorted(nodes, key=lambda n: n.name)


@dataclass(frozen=True)
class Cluster:
    """A course cluster: its config name, kind name and kubeconfig, fixed when it is made."""

    #: the course config ("default", "multi-node", "seccomp-default", "apparmor")
    config: str
    #: the kind cluster name (the config file's ``name:``)
    name: str
    #: the cluster's own kubeconfig file (it may not exist yet)
    kubeconfig: Path

    @classmethod
    def from_config(cls, config: str) -> Cluster:
        """Resolve a config name (reads its kind config file once)."""
        found = get_config(config)
        return cls(config=config, name=found.cluster_name, kubeconfig=found.kubeconfig)

    def __str__(self) -> str:
        return self.config

    def node_containers(self) -> list[NodeStatus]:
        """The cluster's kind node containers on this machine's engine (any state), sorted."""
        rows = engine.ps(all=True, filters=[f"label={KIND_LABEL}={self.name}"],
                         format=f'{{{{.Names}}}}\t{{{{.State}}}}\t{{{{.Label "{ROLE_LABEL}"}}}}')
        return parse_node_rows("\n".join(rows))

    def nodes(self) -> list[str]:
        """Names of the node containers (what ``docker exec`` needs), asked each time (nodes come and go)."""
        names = [n.name for n in self.node_containers()]
        if not names:
            raise EnvironmentProblem(f"the {self.config!r} cluster has no nodes",
                                     fix=f"create it: python -m labs.cluster ensure {self.config}")
        return names

    def node_ops(self, mode: str | None = None) -> NodeOps:
        """How the course reaches this cluster's nodes (kind's docker exec or the node agent)."""
        return node_ops(self, mode)

    def api_client(self, *, fresh: bool = False) -> Any:
        """The Kubernetes ApiClient for this cluster: made on first use, kept until the kubeconfig changes."""
        from ..kube import api_client  # the kubernetes package: about a second to import

        return api_client(self, fresh=fresh)

    def core_api(self) -> Any:
        from ..kube import core_api  # slow import: the kubernetes client

        return core_api(self)

    def apps_api(self) -> Any:
        from ..kube import apps_api  # slow import: the kubernetes client

        return apps_api(self)


#: what a helper accepts while callers migrate: the object, or a config name
ClusterRef = Cluster | str

_CLUSTERS: dict[tuple[str, Path], Cluster] = {}


def get_cluster(config: str = "default") -> Cluster:
    """The course cluster of ``config``, resolved once per process and state folder
    (``$COURSE_STATE_DIR`` holds the kubeconfigs); ``get_cluster()`` in a lesson."""
    key = (config, kubeconfig_file(config))
    if key not in _CLUSTERS:
        _CLUSTERS[key] = Cluster.from_config(config)
    return _CLUSTERS[key]


def as_cluster(cluster: ClusterRef | None) -> Cluster:
    """The one coercion: a Cluster stays itself, a config name (None: "default") is resolved."""
    if isinstance(cluster, Cluster):
        return cluster
    return get_cluster(cluster or "default")


def forget_clusters() -> None:
    """Drop the resolved clusters (a test or workshop that registers a config under an old name)."""
    _CLUSTERS.clear()
