"""Live building blocks: a grading namespace, profiles on nodes, the grader's pods, probes.

Everything created here is registered on ``ctx.cleanup`` (namespace, node profile files,
AppArmor profiles) and is also findable by the run's token, so :func:`remove_token_objects`
can clean up after a grading process that was killed by its timeout.
"""
from __future__ import annotations

import copy
import re
from functools import lru_cache
from pathlib import Path

import yaml

from labs.errors import LabError, WorkloadFailed
from labs.images import NGINX_IMAGE

from ..model import NotChecked

__all__ = [
    "LAB_IMAGE",
    "MANAGED_LABEL",
    "TOKEN_LABEL",
    "SECCOMP_NODE_DIR",
    "require_cluster",
    "require_apparmor_nodes",
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
MANAGED_LABEL = "course.seccomp-lab/managed"
TOKEN_LABEL = "course.seccomp-lab/grader-token"
SECCOMP_NODE_DIR = "/var/lib/kubelet/seccomp/profiles"
_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
_DENIED = re.compile(r"operation not permitted|permission denied", re.I)


def require_cluster(ctx) -> None:
    """Raise NotChecked (not a failure) when no cluster answers: the learner's work is not at fault."""
    def probe():
        try:
            from labs.pods import core_api

            core_api(ctx.config).list_node(_request_timeout=10)
        except ImportError:
            raise NotChecked("the cluster helpers (labs.pods) are not installed here") from None
        except Exception:  # noqa: BLE001 - any failure to reach the API means "no cluster"
            raise NotChecked(f"no '{ctx.config}' cluster is running here (start it with `make cluster`)") from None
    ctx.memo(f"cluster:{ctx.config}", probe)


def require_apparmor_nodes(ctx) -> list[str]:
    """Nodes that can enforce AppArmor, or NotChecked with the message the brief asks for."""
    require_cluster(ctx)

    def probe():
        from labs.cluster import node_capabilities

        capable = [n.name for n in node_capabilities(ctx.config) if n.apparmor_lsm and n.containerd_apparmor]
        if not capable:
            raise NotChecked("this machine's nodes have no AppArmor")
        return capable
    return ctx.memo(f"apparmor:{ctx.config}", probe)


@lru_cache(maxsize=None)
def _template_text(name: str) -> str:
    return (_TEMPLATES / name).read_text()


def template(name: str, **replace: str) -> dict:
    """Load a grader template; IMAGE (and any other upper-case placeholders) substituted."""
    obj = yaml.safe_load(_template_text(name))
    text = yaml.safe_dump(obj)
    for key, value in {"IMAGE": LAB_IMAGE, **replace}.items():
        text = text.replace(key, value)
    return yaml.safe_load(text)


def grading_namespace(ctx, *, labels: dict[str, str] | None = None) -> str:
    """Create this run's namespace once (the first caller's ``labels`` apply, e.g. Pod Security
    enforcement); deleted, and waited for, when grading ends."""
    def create():
        from kubernetes import client

        from labs.pods import core_api

        api = core_api(ctx.config)
        meta = client.V1ObjectMeta(name=ctx.namespace,
                                   labels={MANAGED_LABEL: "true", TOKEN_LABEL: ctx.token, **(labels or {})})
        api.create_namespace(client.V1Namespace(metadata=meta))
        ctx.cleanup.callback(remove_token_objects, ctx.token, ctx.config)
        return ctx.namespace
    return ctx.memo("namespace", create)


def install_profile(ctx, name: str, profile: dict) -> str:
    """Put the profile on every node under a per-run name; return the localhostProfile value."""
    from labs.cluster import install_seccomp_profile, remove_seccomp_profile

    filename = ctx.node_file(name)
    ctx.cleanup.callback(remove_seccomp_profile, filename, config=ctx.config)
    install_seccomp_profile(filename, profile, config=ctx.config)
    return f"profiles/{filename}"


def run_pod(ctx, pod: dict, *, timeout: float = 90):
    """Run one of the grader's pods in the grading namespace; WorkloadFailed unless Running and Ready."""
    from labs.pods import run_pod as run

    pod = copy.deepcopy(pod)
    pod["metadata"].setdefault("labels", {})[TOKEN_LABEL] = ctx.token
    outcome = run(pod, grading_namespace(ctx), timeout=timeout, config=ctx.config)
    if not (outcome.ok and outcome.ready):
        raise WorkloadFailed(f"the pod did not start under your settings: {outcome.reason}"
                             + (f": {outcome.message}" if outcome.message else ""), reason=outcome.reason,
                             fix=outcome.fix or "a container that cannot start usually lacks a syscall it needs "
                                                "at startup; re-run the audit and compare")
    return outcome


def exec_ok(ctx, pod: str, container: str, command: list[str]):
    from labs.pods import exec_in_pod

    return exec_in_pod(pod, grading_namespace(ctx), command, container=container, config=ctx.config)


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
        from .seccomp import silent_success_in

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


def remove_token_objects(token: str, config: str = "default") -> None:
    """Delete the namespace and node files of one grading run (idempotent, waits for deletion)."""
    import time

    from kubernetes.client.rest import ApiException

    from labs.cluster import node_names
    from labs.pods import core_api
    from labs.runner import run

    api = core_api(config)
    name = f"grade-{token}"
    try:
        api.delete_namespace(name, grace_period_seconds=0)
    except ApiException as exc:
        if exc.status != 404:
            raise
    for node in node_names(config):
        run(["docker", "exec", node, "find", SECCOMP_NODE_DIR, "-maxdepth", "1",
             "-name", f"grader-{token}*", "-exec", "rm", "-rf", "{}", "+"], check=False)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            api.read_namespace(name)
        except ApiException as exc:
            if exc.status == 404:
                return
            raise
        time.sleep(1)
    raise LabError(f"namespace {name} was still terminating after 120 s",
                   fix=f"kubectl delete namespace {name} --force")
