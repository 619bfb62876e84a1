"""Create, reuse, inspect and delete the course's kind clusters.

Every kind and kubectl call names the course kubeconfig (``<state>/kubeconfig``), so the
learner's ``~/.kube/config`` is never read or changed, and uses the kind and kubectl that
``make cluster`` installed into ``.venv/bin`` (not an unrelated system kubectl).
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from .. import engine
from ..errors import EnvironmentProblem, LabError, LabTimeout
from ..paths import tools_dir
from ..results import Result
from ..runner import CommandResult, run
from .configs import CONFIGS, get_config
from .handle import ClusterRef, NodeStatus, as_cluster, parse_node_rows

__all__ = [
    "NodeStatus",
    "ClusterStatus",
    "ClusterInfo",
    "kind",
    "kubectl",
    "kubeconfig_path",
    "cluster_exists",
    "node_names",
    "parse_node_rows",
    "node_readiness",
    "pods_not_running",
    "wait_until_ready",
    "cluster_status",
    "ensure_cluster",
    "delete_cluster",
    "delete_all_clusters",
    "load_images",
]

@dataclass
class ClusterStatus(Result):
    """What exists of a config's cluster right now."""

    config: str
    cluster_name: str
    exists: bool
    kubeconfig: str
    nodes: list[NodeStatus] = field(default_factory=list)
    node_image: str | None = None

    @property
    def ready(self) -> bool:
        return self.exists and bool(self.nodes) and all(n.ready for n in self.nodes)


@dataclass
class ClusterInfo(Result):
    """A running cluster, as ``ensure_cluster`` leaves it."""

    config: str
    cluster_name: str
    kubeconfig: str
    nodes: list[str]
    node_image: str
    created: bool
    seconds: float


def _tool(name: str) -> str:
    installed = tools_dir() / name
    return str(installed) if installed.is_file() else name


def kind(args: list[str], **kwargs) -> CommandResult:
    """Run the course's kind (``.venv/bin/kind``)."""
    return run([_tool("kind"), *args], **kwargs)


def kubectl(args: list[str], config: ClusterRef = "default", **kwargs) -> CommandResult:
    """Run the course's kubectl against the cluster's own kubeconfig."""
    return run([_tool("kubectl"), "--kubeconfig", str(kubeconfig_path(config)), *args], **kwargs)


def kubeconfig_path(config: ClusterRef = "default") -> Path:
    """The cluster's kubeconfig file (it may not exist yet)."""
    return as_cluster(config).kubeconfig


def cluster_exists(config: ClusterRef = "default") -> bool:
    return as_cluster(config).name in kind(["get", "clusters"]).stdout.split()


def node_names(config: ClusterRef = "default") -> list[str]:
    """Names of the cluster's node containers (what ``docker exec`` needs), sorted."""
    return as_cluster(config).nodes()


def node_readiness(nodes_json: dict) -> dict[str, tuple[bool, str]]:
    """``kubectl get nodes -o json`` -> node -> (Ready?, the Ready condition's message)."""
    result = {}
    for item in nodes_json.get("items", []):
        ready = next((c for c in item.get("status", {}).get("conditions", []) if c["type"] == "Ready"), {})
        result[item["metadata"]["name"]] = (ready.get("status") == "True", ready.get("message", ""))
    return result


def pods_not_running(pods_json: dict) -> list[str]:
    """``kubectl get pods -o json`` -> 'name: phase' of every pod not Running with all containers ready."""
    waiting = []
    for pod in pods_json.get("items", []):
        status = pod.get("status", {})
        statuses = status.get("containerStatuses") or []
        if status.get("phase") != "Running" or not statuses or not all(s.get("ready") for s in statuses):
            waiting.append(f"{pod['metadata']['name']}: {status.get('phase', 'Unknown')}")
    return waiting


def wait_until_ready(config: ClusterRef = "default", timeout: float = 240) -> None:
    """Wait until every node is Ready and every kube-system pod runs; LabTimeout says which not."""
    cluster = as_cluster(config)
    deadline = time.monotonic() + timeout
    expected = set(cluster.nodes())
    problem = "the API server did not answer"
    while time.monotonic() < deadline:
        nodes = kubectl(["get", "nodes", "-o", "json"], cluster, check=False, timeout=30)
        if nodes.ok:
            readiness = node_readiness(json.loads(nodes.stdout))
            not_ready = [f"{n} ({readiness.get(n, (False, 'not registered'))[1]})"
                         for n in sorted(expected) if not readiness.get(n, (False,))[0]]
            problem = f"nodes not Ready: {', '.join(not_ready)}"
            if not not_ready:
                pods = kubectl(["get", "pods", "-n", "kube-system", "-o", "json"], cluster,
                               check=False, timeout=30)
                waiting = pods_not_running(json.loads(pods.stdout)) if pods.ok else ["(no answer)"]
                problem = f"kube-system pods not running: {', '.join(waiting)}"
                if pods.ok and not waiting:
                    return
        time.sleep(2)
    node, name = sorted(expected)[0], cluster.config
    raise LabTimeout(f"the {name!r} cluster was not ready after {timeout:.0f}s: {problem}",
                     fix=f"read the kubelet log: {engine.binary()} exec {node} journalctl -u kubelet --no-pager "
                         "| tail -50; "
                         f"then recreate: python -m labs.cluster delete {name} && python -m labs.cluster ensure {name}")


def cluster_status(config: ClusterRef = "default") -> ClusterStatus:
    """Exists? Which nodes, in which Docker state, Ready or not (a Result for notebooks)."""
    cluster = as_cluster(config)
    nodes = cluster.node_containers()
    status = ClusterStatus(cluster.config, cluster.name, bool(nodes), str(cluster.kubeconfig), nodes)
    if not nodes:
        return status
    status.node_image = engine.inspect(nodes[0].name, "{{.Config.Image}}").stdout.strip()
    if cluster.kubeconfig.is_file() and all(n.container_state == "running" for n in nodes):
        answer = kubectl(["get", "nodes", "-o", "json"], cluster, check=False, timeout=30)
        if answer.ok:
            readiness = node_readiness(json.loads(answer.stdout))
            for node in nodes:
                node.ready = readiness.get(node.name, (False,))[0]
    return status


def _built_from_outdated_image(node: str, image: str) -> bool:
    """True when ``node`` runs another image than ``image``, its config's current node image
    (the recipe changed since the cluster was made), so a reused cluster never hides a
    node-image change."""
    current = engine.image_id(image)
    running = engine.inspect(node, "{{.Image}}").stdout.strip()
    return running != current


def _restart(cluster, nodes, timeout: float) -> str:
    """Start the stopped nodes of an existing cluster, wait until Ready; returns its image.
    A cluster that was running gets the whole ``timeout``: on a busy machine a kube-system pod
    may be restarting (a lost leader lease), which is no reason to re-create the cluster; one
    that had to be started gets at most 120 s (after a reboot it either comes back or not)."""
    stopped = [n.name for n in nodes if n.container_state != "running"]
    if stopped:
        engine.start(*stopped)
    kind(["export", "kubeconfig", "--name", cluster.name, "--kubeconfig", str(cluster.kubeconfig)])
    wait_until_ready(cluster, timeout=min(timeout, 120) if stopped else timeout)
    return engine.inspect(nodes[0].name, "{{.Config.Image}}").stdout.strip()


def ensure_cluster(config: ClusterRef = "default", *, timeout: float = 240, create_timeout: float = 900) -> ClusterInfo:
    """Create ``config``'s cluster, or reuse it (starting stopped nodes); wait until Ready.

    ``create_timeout`` bounds ``kind create`` (kubeadm init included), ``timeout`` the wait for
    Ready nodes and kube-system pods after it; a much slower host (an emulated VM) raises both.

    Idempotent: calling it again on a ready cluster only re-exports the kubeconfig. A cluster
    on an outdated node image, or one that does not come back after a restart (a reboot, a
    killed engine), is re-created rather than left half-working.
    """
    cluster = as_cluster(config)
    cfg = get_config(cluster.config)
    started = time.monotonic()
    image = cfg.ensure_node_image()
    nodes = cluster.node_containers()
    if nodes and _built_from_outdated_image(nodes[0].name, image):
        print(f"cluster {cluster.name} runs an outdated node image: re-creating it", flush=True)
        delete_cluster(cluster)
        nodes = []
    if nodes:
        try:
            running = _restart(cluster, nodes, timeout=timeout)
            return ClusterInfo(cluster.config, cluster.name, str(cluster.kubeconfig), cluster.nodes(), running,
                               False, round(time.monotonic() - started, 1))
        except LabError as exc:
            print(f"cluster {cluster.name} did not come back ({exc.message.splitlines()[0]}): "
                  "re-creating it", flush=True)
            delete_cluster(cluster)
    kind(["create", "cluster", "--name", cluster.name, "--image", image,
          "--config", str(cfg.kind_config_file(image)), "--kubeconfig", str(cluster.kubeconfig)],
         timeout=create_timeout,
         fix=f"read the output above; kind removed the half-made nodes. Retry with "
             f"`python -m labs.cluster ensure {cluster.config}`; `kind export logs --name {cluster.name}` "
             "collects node logs")
    wait_until_ready(cluster, timeout=timeout)
    return ClusterInfo(cluster.config, cluster.name, str(cluster.kubeconfig), cluster.nodes(), image,
                       True, round(time.monotonic() - started, 1))


def delete_cluster(config: ClusterRef = "default") -> None:
    """Delete the cluster, its kubeconfig and generated kind config (nothing else); no-op if absent."""
    cluster = as_cluster(config)
    if cluster_exists(cluster):
        kind(["delete", "cluster", "--name", cluster.name, "--kubeconfig", str(cluster.kubeconfig)],
             timeout=300)
    cluster.kubeconfig.unlink(missing_ok=True)
    get_config(cluster.config).generated_kind_config.unlink(missing_ok=True)


def delete_all_clusters() -> list[str]:
    """Delete every registered config's cluster (never other kind clusters on this engine)."""
    deleted = []
    for name, cfg in CONFIGS.items():
        if cfg.file.is_file() and cluster_exists(name):
            delete_cluster(name)
            deleted.append(name)
    return deleted


def load_images(images: list[str], config: ClusterRef = "default") -> list[str]:
    """Copy local Docker images into every node's containerd (``kind load``, works offline).

    Pods must then use ``imagePullPolicy: Never`` or ``IfNotPresent``: no registry is asked.
    """
    missing = [image for image in images if not engine.image_exists(image)]
    if missing:
        raise EnvironmentProblem(f"image(s) not in the local Docker engine: {', '.join(missing)}",
                                 fix="build the course images first: `make images`")
    kind(["load", "docker-image", "--name", as_cluster(config).name, *images], timeout=900)
    return list(images)
