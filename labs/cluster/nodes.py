"""Files, seccomp profiles and capabilities on the cluster's nodes.

Why on the nodes: a Localhost seccomp profile is a file on the node's own disk, under the
kubelet's seccomp root (``/var/lib/kubelet/seccomp``), read by the container runtime when it
creates the container; there is no Kubernetes API for them. On kind a node is a
container (``docker exec``, the commands the lessons show); on any other cluster the course's
node agent does the same through the API (:mod:`labs.nodeops`).
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass

from .. import engine
from ..errors import LabError
from ..names import KUBELET_SECCOMP_DIR as SECCOMP_ROOT
from ..names import NODE_PROFILES_DIR as PROFILES_DIR
from ..names import localhost_profile
from ..nodeops import current_cluster, on_cluster
from ..paths import workspace_dir
from ..results import Applied, Result
from .handle import ClusterRef, as_cluster

__all__ = [
    "SECCOMP_ROOT",
    "PROFILES_DIR",
    "NodeCapabilities",
    "write_node_file",
    "install_seccomp_profile",
    "seccomp_install_commands",
    "keep_local_copy",
    "remove_seccomp_profile",
    "installed_seccomp_profiles",
    "parse_capabilities",
    "node_capabilities",
]

_FILENAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*$")


@dataclass
class NodeCapabilities(Result):
    """What a node can enforce. containerd applies AppArmor only when its ``container``
    variable is empty, /sbin/apparmor_parser exists and the kernel has AppArmor enabled."""

    name: str
    seccomp: bool
    apparmor_lsm: bool
    securityfs_apparmor: bool
    apparmor_parser: bool
    containerd_running: bool
    container_env: str
    containerd_apparmor: bool


def write_node_file(node: str, path: str, content: str | bytes) -> None:
    """Write ``content`` to ``path`` on ``node`` (parent folders created), through stdin, on the
    cluster of the surrounding :func:`labs.nodeops.on_cluster` (default: the default cluster)."""
    as_cluster(current_cluster()).node_ops().write_file(node, path, content)


def _check_filename(filename: str) -> None:
    if not _FILENAME.match(filename):
        raise LabError(f"bad seccomp profile file name {filename!r}",
                       fix="use a plain file name such as audit.json (letters, digits, . _ -)")


def seccomp_install_commands(filename: str, nodes: list[str], ops=None, source: str | None = None) -> list[str]:
    """What a person types to put ``filename`` (the local file ``source``, by default the same
    name) on each node: on kind (a node is a container) ``docker cp``; through the node agent
    ``kubectl exec``."""
    source = source or filename
    commands = []
    for node in nodes or ["<node>"]:
        if ops is not None and ops.mode != "kind":
            commands.append(ops.shown(node, ["sh", "-c", f"cat > {PROFILES_DIR}/{filename}"], stdin=source))
            continue
        commands += [f"{engine.binary()} exec {node} mkdir -p {PROFILES_DIR}",
                     f"{engine.binary()} cp {source} {node}:{PROFILES_DIR}/{filename}"]
    return commands


def keep_local_copy(filename: str, text: str) -> str:
    """Save a profile the course installs from memory as ``<workspace>/profiles/<filename>``, so
    the command it shows names a file the learner has: the path as typed from the working
    directory (the notebook's folder). Where the workspace cannot be written (a read-only
    grading container) the bare file name is shown, as a name to save it under."""
    path = workspace_dir() / "profiles" / filename
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    except OSError:
        return filename
    return os.path.relpath(path)


def install_seccomp_profile(filename: str, profile: dict, *, config: ClusterRef = "default",
                            nodes: list[str] | None = None) -> Applied:
    """Write ``profile`` as PROFILES_DIR/<filename> on every node (or ``nodes``).

    Pods then use ``seccompProfile: {type: Localhost, localhostProfile: profiles/<filename>}``.
    Every node a pod may land on needs the file; returns the nodes written (a list that, in
    Jupyter, also shows the JSON written, the node path and the equivalent commands).
    """
    _check_filename(filename)
    if not isinstance(profile, dict):
        raise LabError("a seccomp profile must be a dict (the parsed JSON)",
                       fix="load it first: labs.seccomp.load_profile(path)")
    text = json.dumps(profile, indent=2) + "\n"
    cluster = as_cluster(config)
    ops = cluster.node_ops() if nodes is None else None
    targets = list(nodes) if nodes is not None else ops.nodes()
    with on_cluster(cluster):
        for node in targets:
            write_node_file(node, f"{PROFILES_DIR}/{filename}", text)
    return Applied(
        targets, action=f"wrote {PROFILES_DIR}/{filename} on {len(targets)} node(s): {', '.join(targets)}",
        commands=seccomp_install_commands(filename, targets, ops, keep_local_copy(filename, text)), content=text,
        content_label=f"{filename} ({len(text.splitlines())} lines of JSON)",
        note=f"Localhost profiles are files under {SECCOMP_ROOT} on the node that runs the pod (the runtime "
             f"reads them when it creates the container): a pod "
             f"references this one as localhostProfile: {localhost_profile(filename)}. On a real cluster copy the file "
             "to that path on every node (scp, a DaemonSet, or the Security Profiles Operator).")


def remove_seccomp_profile(filename: str, *, config: ClusterRef = "default",
                           nodes: list[str] | None = None) -> Applied:
    """Delete PROFILES_DIR/<filename> from every node (or ``nodes``); absent files are fine."""
    _check_filename(filename)
    ops = as_cluster(config).node_ops()
    targets = list(nodes) if nodes is not None else ops.nodes()
    commands = [ops.remove_file(node, f"{PROFILES_DIR}/{filename}") for node in targets]
    return Applied(targets, action=f"removed {PROFILES_DIR}/{filename} from {len(targets)} node(s)",
                   commands=commands,
                   note="Pods already running keep the filter they started with; new pods that name the "
                        "file fail with CreateContainerError until it is back.")


def installed_seccomp_profiles(node: str, config: ClusterRef = "default") -> list[str]:
    """File names in the node's PROFILES_DIR, sorted (empty when the folder does not exist)."""
    return as_cluster(config).node_ops().list_dir(node, PROFILES_DIR)


def parse_capabilities(node: str, text: str) -> NodeCapabilities:
    """Turn the probe's key=value lines into NodeCapabilities (pure). From the node agent
    (``in_pod=yes``) containerd is out of sight, so only the kernel and the parser count."""
    values = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    apparmor_lsm = values.get("apparmor_enabled", "").startswith("Y")
    securityfs = values.get("securityfs_apparmor") == "yes"
    parser = values.get("apparmor_parser") == "yes"
    running = values.get("containerd_pid", "0") not in ("", "0")
    container_env = values.get("container_env", "")
    if values.get("in_pod") == "yes":   # the node agent cannot see containerd: trust the kernel and parser
        running, container_env = True, ""
    return NodeCapabilities(
        name=node,
        seccomp=values.get("seccomp", "0") != "0",
        apparmor_lsm=apparmor_lsm,
        securityfs_apparmor=securityfs,
        apparmor_parser=parser,
        containerd_running=running,
        container_env=container_env,
        containerd_apparmor=apparmor_lsm and securityfs and parser and running and container_env == "",
    )


def node_capabilities(config: ClusterRef = "default", nodes: list[str] | None = None) -> list[NodeCapabilities]:
    """Probe each node: seccomp in the kernel, AppArmor LSM, and whether containerd will apply
    AppArmor profiles (it silently does not when any of its conditions is missing)."""
    ops = as_cluster(config).node_ops()
    return [parse_capabilities(node, ops.probe(node)) for node in (list(nodes) if nodes is not None else ops.nodes())]
