"""Live building blocks: a grading namespace, profiles on nodes, the grader's pods, probes.

Everything created here is registered on ``ctx.cleanup`` (namespace, node profile files,
AppArmor profiles) and is also findable by the run's token, so :func:`remove_token_objects`
can clean up after a grading process that was killed by its timeout. Nodes are reached through
``labs.nodeops`` (kind's ``docker exec``, or the node agent through the API on any other
cluster); this module talks to the cluster only through ``labs``.
"""
from __future__ import annotations

import copy
import re
import time
from functools import cache
from pathlib import Path

import yaml

from labs.cluster import install_seccomp_profile, node_capabilities, remove_seccomp_profile
from labs.cluster.handle import Cluster, ClusterRef, as_cluster
from labs.errors import EnvironmentProblem, LabError, WorkloadFailed
from labs.images import NGINX_IMAGE
from labs.names import NODE_PROFILES_DIR, localhost_profile
from labs.namespaces import slow_cluster_factor
from labs.nodeops import image_prefix, image_ref, pull_policy, registry_step
from labs.nodeops.images import nodes_lacking

from ..model import NotChecked
from .seccomp import silent_success_in

__all__ = [
    "LAB_IMAGE",
    "TOKEN_LABEL",
    "SECCOMP_NODE_DIR",
    "lab_image",
    "require_cluster",
    "require_apparmor_nodes",
    "preflight",
    "template",
    "grading_namespace",
    "install_profile",
    "run_pod",
    "exec_ok",
    "seccomp_mode_of",
    "attack_denied",
    "remove_token_objects",
]

#: The lab image with nginx + curl + coreutils (built by ``labs.images``, loaded into kind).
LAB_IMAGE = f"{NGINX_IMAGE}:latest"
TOKEN_LABEL = "course.seccomp-lab/grader-token"
SECCOMP_NODE_DIR = NODE_PROFILES_DIR
_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
#: how long the preflight waits for the nodes' status to list a just-loaded lab image: the
#: kubelet refreshes its image list every 30 s and posts node status every 10 s (up to 40 s
#: on an idle node), and a busy 2-core machine is slower still
IMAGE_STATUS_WAIT = 90
_DENIED = re.compile(r"operation not permitted|permission denied", re.I)


def lab_image() -> str:
    """LAB_IMAGE as the cluster's nodes know it (with ``--image-prefix``: from the registry)."""
    return image_ref(LAB_IMAGE)


def _nodes_ready(cluster: Cluster) -> None:
    """The node operations answer on every node (the agent is deployed and running there)."""
    ops = cluster.node_ops()
    if ops.mode == "agent":
        ops.ensure()


def _images_present(cluster: Cluster, images: tuple[str, ...] = (LAB_IMAGE,)) -> None:
    """Without a registry prefix the nodes must already hold the images the grader's pods run
    (pods never pull them)."""
    if image_prefix():
        return   # pulled IfNotPresent from the registry; the node agent pulls it up front
    api = cluster.core_api()
    # an image that `kind load` (or a lesson's start) has just imported shows up in the node
    # status late (IMAGE_STATUS_WAIT), so ask again a while
    deadline = time.monotonic() + IMAGE_STATUS_WAIT
    while True:
        nodes = api.api_client.sanitize_for_serialization(api.list_node(_request_timeout=15)).get("items") or []
        lacking = {image: names for image in images if (names := nodes_lacking(nodes, image))}
        if not lacking or time.monotonic() > deadline:
            break
        time.sleep(3)
    if lacking:
        image, names = next(iter(lacking.items()))
        raise EnvironmentProblem(f"the cluster's node(s) {', '.join(names)} do not have the lab image {image}",
                                 fix=registry_step(image))


def preflight(config: ClusterRef) -> None:
    """Before grading a class: the cluster has the lab images and the node operations work.
    Raises the LabError to show (nothing is graded then); no cluster at all is fine (live checks
    are then reported as not checked)."""
    cluster = as_cluster(config)
    try:
        cluster.core_api().list_node(_request_timeout=10)
    except Exception:  # noqa: BLE001 - no cluster: live checks report it per submission
        return
    _images_present(cluster)
    _nodes_ready(cluster)


def require_cluster(ctx, images: tuple[str, ...] = (LAB_IMAGE,)) -> None:
    """Raise NotChecked (not a failure) when no cluster answers, it lacks an image the grader's
    pods run (``images``), or the nodes cannot be reached: the learner's work is not at fault."""
    def probe():
        try:
            ctx.cluster.core_api().list_node(_request_timeout=10)
        except ImportError:
            raise NotChecked("the Kubernetes client (labs.kube) is not installed here") from None
        except Exception:  # noqa: BLE001 - any failure to reach the API means "no cluster"
            raise NotChecked(f"no '{ctx.cluster}' cluster is running here (start it with `make cluster`)") from None
        try:
            _images_present(ctx.cluster, images)
            _nodes_ready(ctx.cluster)
        except EnvironmentProblem as exc:
            raise NotChecked(f"{exc.message} (the grader's setup, not your work: {exc.fix})") from None
    ctx.memo(f"cluster:{ctx.cluster.config}:{','.join(images)}", probe)


def require_apparmor_nodes(ctx) -> list[str]:
    """Nodes that can enforce AppArmor, or NotChecked with the message the brief asks for."""
    require_cluster(ctx)

    def probe():
        capable = [n.name for n in node_capabilities(ctx.cluster) if n.apparmor_lsm and n.containerd_apparmor]
        if not capable:
            raise NotChecked("this machine's nodes have no AppArmor")
        return capable
    return ctx.memo(f"apparmor:{ctx.cluster.config}", probe)


@cache
def _template_text(name: str) -> str:
    return (_TEMPLATES / name).read_text()


def template(name: str, **replace: str) -> dict:
    """Load a grader template; IMAGE (and any other upper-case placeholders) substituted, and
    every container's pull policy set for where the images come from (kind-loaded or registry)."""
    obj = yaml.safe_load(_template_text(name))
    text = yaml.safe_dump(obj)
    for key, value in {"IMAGE": lab_image(), **replace}.items():
        text = text.replace(key, value)
    obj = yaml.safe_load(text)
    spec = obj["spec"]["template"]["spec"] if obj.get("kind") == "DaemonSet" else obj["spec"]
    for container in spec.get("initContainers", []) + spec.get("containers", []):
        container["imagePullPolicy"] = pull_policy()
    return obj


def grading_namespace(ctx, *, labels: dict[str, str] | None = None, cluster: Cluster | None = None) -> str:
    """Create this run's namespace once per cluster (default: the run's; the first caller's
    ``labels`` apply, e.g. Pod Security enforcement); deleted, and waited for, when grading ends."""
    cluster = cluster or ctx.cluster

    def create():
        from labs.namespaces import create_namespace  # slow import: the kubernetes client

        ctx.cleanup.callback(remove_token_objects, ctx.token, cluster)
        return create_namespace(ctx.namespace, labels={TOKEN_LABEL: ctx.token, **(labels or {})},
                                config=cluster)
    return ctx.memo(f"namespace:{cluster.config}", create)


def install_profile(ctx, name: str, profile: dict) -> str:
    """Put the profile on every node under a per-run name; return the localhostProfile value."""
    filename = ctx.node_file(name)
    ctx.cleanup.callback(remove_seccomp_profile, filename, config=ctx.cluster)
    install_seccomp_profile(filename, profile, config=ctx.cluster)
    return localhost_profile(filename)


def run_pod(ctx, pod: dict, *, timeout: float = 90, cluster: Cluster | None = None):
    """Run one of the grader's pods in the grading namespace (of ``cluster``, default the run's);
    WorkloadFailed unless Running and Ready within ``timeout`` (times ``$COURSE_POD_WAIT_FACTOR``)."""
    from labs.pods import run_pod as run  # slow import: the kubernetes client

    cluster = cluster or ctx.cluster
    pod = copy.deepcopy(pod)
    pod["metadata"].setdefault("labels", {})[TOKEN_LABEL] = ctx.token
    timeout *= slow_cluster_factor()
    outcome = run(pod, grading_namespace(ctx, cluster=cluster), timeout=timeout, config=cluster)
    if not (outcome.ok and outcome.ready):
        raise WorkloadFailed(f"the pod did not start under your settings: {outcome.reason}"
                             + (f": {outcome.message}" if outcome.message else ""), reason=outcome.reason,
                             fix=outcome.fix or "a container that cannot start usually lacks a syscall it needs "
                                                "at startup; re-run the audit and compare")
    return outcome


def exec_ok(ctx, pod: str, container: str, command: list[str]):
    from labs.pods import exec_in_pod  # slow import: the kubernetes client

    return exec_in_pod(pod, grading_namespace(ctx), command, container=container, config=ctx.cluster)


def seccomp_mode_of(ctx, pod: str, comm: str) -> str:
    """Seccomp: line of the first process named ``comm``, read from the grader's probe container."""
    script = (f'for d in /proc/[0-9]*; do [ "$(cat $d/comm 2>/dev/null)" = "{comm}" ] && '
              'grep "^Seccomp:" $d/status && exit 0; done; exit 1')
    result = exec_ok(ctx, pod, "probe", ["sh", "-c", script])
    if result.returncode != 0:
        raise WorkloadFailed(f"no process named {comm} is running in the pod", fix="check the pod's logs")
    return result.stdout.split(":", 1)[1].strip()


def attack_denied(ctx, pod: str, container: str, command: list[str]) -> str:
    """Run an attack command; it must fail with EPERM/EACCES (message from the kernel's errno)."""
    result = exec_ok(ctx, pod, container, command)
    output = (result.stdout + result.stderr).strip()
    if result.returncode == 0:
        silent = silent_success_in(ctx, command)
        if silent:
            raise LabError(f"`{' '.join(command)}` reported success, but your profile did refuse it with errno 0 "
                           f"({silent}): the kernel skipped the call and told the program it worked",
                           fix="remove errnoRet/defaultErrnoRet (EPERM, 1, is the default) so a refused call fails")
        raise LabError(f"`{' '.join(command)}` succeeded under your profile",
                       fix="make sure the syscall it needs is not in your allow list")
    if not _DENIED.search(output):
        raise LabError(f"`{' '.join(command)}` failed, but not with EPERM/EACCES: {output[-200:]}",
                       fix="the attack should be refused by seccomp (Operation not permitted)")
    return next(line for line in output.splitlines() if _DENIED.search(line))


def remove_token_objects(token: str, config: ClusterRef = "default") -> None:
    """Delete the namespace, node files and AppArmor profiles of one grading run (idempotent,
    waits for the namespace to be gone); works after the grading process was killed."""
    from labs.namespaces import delete_namespace  # slow import: the kubernetes client

    cluster = as_cluster(config)
    delete_namespace(f"grade-{token}", cluster, timeout=120)
    cluster.node_ops().sweep(token)
