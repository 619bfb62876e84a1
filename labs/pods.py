"""Pods on the course cluster through the official ``kubernetes`` client: apply, wait, exec,
logs, delete.

Why the client and not kubectl text: statuses, events and exec exit codes arrive as data, so
a failure keeps the reason Kubernetes itself reports (``CreateContainerError``,
``CrashLoopBackOff``, ``AppArmor``, ...: what ``kubectl describe pod`` shows, never relabelled)
with advice, never a raw ``ApiException`` traceback. The one reason of our own is
``PodSecurityRejected``: the API server refused to create the pod, so there is no pod status.

Nothing is magic: every helper that changes the cluster shows, in Jupyter, the YAML it applied
and the ``kubectl`` command a learner types to do or inspect the same (:class:`labs.results.Applied`,
:attr:`PodOutcome.commands`, :attr:`ExecResult.kubectl`).

The verbs live here; beside them :mod:`labs.kube` (the client and its errors),
:mod:`labs.pod_status` (pure status reading) and :mod:`labs.pod_fixes` (what to do about each
reason). Their public names are importable from here too.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import time
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException
from kubernetes.stream import stream

from .errors import LabError, LabTimeout, ManifestError, WorkloadFailed
from .kube import (
    ClusterLike,
    PodSecurityRejected,
    api_client,
    call,
    core_api,
    plain,
    pod_security_violations,
    translate_api_error,
)
from .manifests import load_manifests, with_managed_label
from .names import MANAGED_LABEL
from .paths import REPO_ROOT
from .pod_fixes import FIXES, SECCOMP_FILE_MISSING_FIX, fix_for
from .pod_status import ExecResult, PodOutcome, exec_returncode, format_events, handshake_status, pod_outcome
from .results import Applied

__all__ = [
    "api_client",
    "core_api",
    "apply_manifest",
    "run_pod",
    "wait_for_pod",
    "read_pod",
    "PodOutcome",
    "exec_in_pod",
    "ExecResult",
    "pod_logs",
    "delete_pod",
    "manifest_yaml",
    "fix_for",
    "kubectl_apply_command",
    "PodSecurityRejected",
    "pod_outcome",
    "format_events",
    "exec_returncode",
    "handshake_status",
    "pod_security_violations",
    "translate_api_error",
    "FIXES",
    "SECCOMP_FILE_MISSING_FIX",
]

FIELD_MANAGER = "course-labs"


def kubectl_apply_command(namespace: str, source: str | Path | None = None) -> str:
    """``kubectl apply -f <file> -n <ns>`` for a manifest file (or ``<file>.yaml`` for a dict)."""
    if isinstance(source, Path) or (isinstance(source, str) and "\n" not in source
                                    and source.strip().endswith((".yaml", ".yml", ".json"))):
        path = Path(source).resolve()
        inside = path.is_relative_to(REPO_ROOT.resolve())
        shown = os.path.relpath(path, Path.cwd().resolve()) if inside else str(path)   # from the notebook's folder
    else:
        shown = "manifest.yaml"   # a dict or YAML text: save the YAML shown to this file
    return f"kubectl apply -f {shlex.quote(shown)} -n {namespace}"


# --------------------------------------------------------------------------- apply

_API_CLASSES = {
    "v1": k8s.CoreV1Api,
    "apps/v1": k8s.AppsV1Api,
    "batch/v1": k8s.BatchV1Api,
    "networking.k8s.io/v1": k8s.NetworkingV1Api,
    "rbac.authorization.k8s.io/v1": k8s.RbacAuthorizationV1Api,
}


def _snake(kind: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", kind).lower()


def _to_send(docs: list[dict], namespace: str) -> list[dict]:
    """The documents exactly as they are applied: course label added, namespace set."""
    sent = []
    for doc in docs:
        doc = with_managed_label(doc)
        doc["metadata"]["namespace"] = namespace
        sent.append(doc)
    return sent


def manifest_yaml(docs: list[dict]) -> str:
    """Documents as one multi-document YAML text (what ``kubectl apply -f`` would read)."""
    return "---\n".join(yaml.safe_dump(doc, sort_keys=False) for doc in docs)


_APPLY_NOTE = ("The course applies server-side (kubectl apply --server-side --force-conflicts is the exact "
               f"equivalent) and adds the label {MANAGED_LABEL[0]}={MANAGED_LABEL[1]} so clean-up finds its objects.")


def apply_manifest(manifest: str | Path | dict | list, namespace: str,
                   config: ClusterLike | str = "default") -> Applied:
    """Server-side apply every document into ``namespace``; returns the stored objects (a list
    that, in Jupyter, also shows the YAML applied and the ``kubectl apply`` line).

    The ``namespace`` argument wins over any ``metadata.namespace`` in the file. Objects get
    the course label. Re-applying an unchanged manifest is a no-op; changing a field Pods
    cannot change raises a ManifestError that says to delete the pod first.
    """
    applied = []
    sent = _to_send(load_manifests(manifest), namespace)
    for doc in sent:
        kind, name = doc["kind"], doc["metadata"]["name"]
        api = _API_CLASSES[doc["apiVersion"]](api_client(config))
        patch = getattr(api, f"patch_namespaced_{_snake(kind)}")
        stored = call(f"apply {kind} {name} in namespace {namespace}", patch, name, namespace, doc,
                       field_manager=FIELD_MANAGER, force=True, _content_type="application/apply-patch+yaml")
        applied.append(plain(stored, config))
    names = ", ".join(f"{d['kind']}/{d['metadata']['name']}" for d in sent)
    return Applied(applied, action=f"applied {names} in namespace {namespace}",
                   commands=[kubectl_apply_command(namespace, manifest)], content=manifest_yaml(sent),
                   content_label="applied YAML", note=_APPLY_NOTE)


def _pod_events(name: str, namespace: str, config: ClusterLike | str, uid: str | None = None) -> list[str]:
    """This pod's events; with ``uid``, only this incarnation's (a deleted pod of the same
    name leaves its events behind for an hour)."""
    selector = f"involvedObject.kind=Pod,involvedObject.name={name}" + (f",involvedObject.uid={uid}" if uid else "")
    listed = call(f"list events of pod {name}", core_api(config).list_namespaced_event, namespace,
                   field_selector=selector)
    return format_events(plain(listed, config).get("items") or [])


def read_pod(name: str, namespace: str, config: ClusterLike | str = "default") -> dict:
    """The pod as the API returns it (a plain dict, camelCase keys)."""
    pod = call(f"read pod {name} in {namespace}", core_api(config).read_namespaced_pod, name, namespace)
    return plain(pod, config)


def _restarts(pod: dict) -> int:
    status = pod.get("status") or {}
    return sum(cs.get("restartCount") or 0 for key in ("initContainerStatuses", "containerStatuses")
               for cs in status.get(key) or [])


_read_pod = read_pod   # the name tests/cluster/test_cluster_seccomp.py imports; use read_pod


def wait_for_pod(name: str, namespace: str, *, timeout: float = 120, config: ClusterLike | str = "default",
                 until: str = "ready", settle: float = 2.0, poll: float = 0.5) -> PodOutcome:
    """Wait until the pod is Running and Ready, Succeeded, or failed; return the outcome.

    ``until="ready"``: Running and Ready must hold for ``settle`` seconds without a restart,
    because a container killed by a too-tight profile is often Running for an instant first.
    ``until="completed"``: wait for Succeeded or Failed (run-once pods; the exit code matters).
    Failures (``outcome.ok`` False) are returned, not raised: lessons show them. Only running
    out of time raises :class:`LabTimeout`, with the last status and the pod's events.
    """
    if until not in ("ready", "completed"):
        raise LabError(f"wait_for_pod: until={until!r} is not a goal", fix="use until='ready' or until='completed'")
    deadline = time.monotonic() + timeout
    ready_since: tuple[float, int] | None = None   # (when, restarts) Running+Ready was first seen
    while True:
        try:
            pod = read_pod(name, namespace, config)
        except WorkloadFailed as exc:
            if exc.reason != "NotFound":
                raise
            listed = call("list pods", core_api(config).list_namespaced_pod, namespace)
            names = ", ".join(p.metadata.name for p in listed.items) or "none"
            raise WorkloadFailed(f"there is no pod {name!r} in namespace {namespace!r}", reason="NotFound",
                                 fix=f"apply it first; pods in {namespace}: {names}") from None
        outcome, final = pod_outcome(pod)
        if final and outcome.reason == "Running":
            if until == "completed":
                final = False
            else:
                if ready_since is None or ready_since[1] != _restarts(pod):
                    ready_since = (time.monotonic(), _restarts(pod))
                final = time.monotonic() - ready_since[0] >= settle
        else:
            ready_since = None
        if final:
            outcome.events = _pod_events(name, namespace, config, (pod.get("metadata") or {}).get("uid"))
            return outcome
        if time.monotonic() >= deadline:
            outcome.events = _pod_events(name, namespace, config, (pod.get("metadata") or {}).get("uid"))
            goal = "not ready" if until == "ready" else "not finished"
            raise LabTimeout(f"pod {name} in {namespace} {goal} after {timeout:g}s\n{outcome}",
                             fix="read the status and events above; wait longer with wait_for_pod(..., timeout=300)")
        time.sleep(poll)


def run_pod(manifest: str | Path | dict | list, namespace: str, *, timeout: float = 120,
            until: str = "ready", config: ClusterLike | str = "default") -> PodOutcome:
    """Apply a manifest holding one Pod (plus e.g. ConfigMaps) and wait for that pod.

    A Pod Security rejection at create time comes back as an outcome with reason
    ``PodSecurityRejected`` (its message lists the violations), like any other failure.
    """
    docs = load_manifests(manifest)
    pods = [d for d in docs if d["kind"] == "Pod"]
    if len(pods) != 1:
        raise ManifestError(f"run_pod needs exactly one Pod in the manifest, found {len(pods)}",
                            fix="split the manifest, or use apply_manifest() and wait_for_pod() for each pod")
    name = pods[0]["metadata"]["name"]
    applied_yaml = manifest_yaml(_to_send(docs, namespace))
    apply_command = kubectl_apply_command(namespace, manifest)
    try:
        apply_manifest(docs, namespace, config)
    except PodSecurityRejected as exc:
        return PodOutcome(name, namespace, False, None, False, PodSecurityRejected.reason,
                          "; ".join(exc.violations) or exc.message, exc.fix,
                          commands=[apply_command], applied=applied_yaml)
    outcome = wait_for_pod(name, namespace, timeout=timeout, until=until, config=config)
    outcome.commands = [apply_command, *outcome.commands]
    outcome.applied = applied_yaml
    return outcome


# --------------------------------------------------------------------------- exec, logs, delete

def exec_in_pod(name: str, namespace: str, command: list[str], *, container: str | None = None,
                config: ClusterLike | str = "default", timeout: float = 60, check: bool = False) -> ExecResult:
    """Run ``command`` in the pod (like ``kubectl exec``); the exit code comes from the
    API's error channel. ``check=True`` raises WorkloadFailed on a non-zero exit."""
    what = f"exec {' '.join(command)} in pod {name}"
    api = k8s.CoreV1Api(api_client(config, fresh=True))
    kwargs = {"command": command, "stderr": True, "stdin": False, "stdout": True, "tty": False,
              "_preload_content": False}
    if container:
        kwargs["container"] = container
    try:
        ws = stream(api.connect_get_namespaced_pod_exec, name, namespace, **kwargs)
    except ApiException as exc:
        if exc.status == 0:   # websocket handshake refused: the API's Status is in the text
            status = handshake_status(str(exc.reason))
            raise WorkloadFailed(f"{what}: {status.get('message', exc.reason)}",
                                 reason="NotFound" if status.get("code") == 404 else "ExecFailed",
                                 fix="the pod and container must exist and run: check the names, "
                                     "wait_for_pod() first") from None
        raise translate_api_error(exc, what) from None
    finally:
        api.api_client.close()
    stdout, stderr = [], []
    deadline = time.monotonic() + timeout
    try:
        while ws.is_open():
            if time.monotonic() > deadline:
                raise LabTimeout(f"{what}: still running after {timeout:g}s",
                                 fix="pass a larger timeout, or make the command finish")
            ws.update(timeout=1)
            if ws.peek_stdout():
                stdout.append(ws.read_stdout())
            if ws.peek_stderr():
                stderr.append(ws.read_stderr())
        stdout.append(ws.read_stdout() if ws.peek_stdout() else "")
        stderr.append(ws.read_stderr() if ws.peek_stderr() else "")
        raw = ws.read_channel(3)
    finally:
        ws.close()
    returncode, error = exec_returncode(json.loads(raw) if raw else None)
    result = ExecResult(list(command), returncode, "".join(stdout), "".join(stderr) or error, error,
                        name, namespace, container)
    if check and not result.ok:
        raise WorkloadFailed(f"{what}: exit code {returncode}", reason="NonZeroExitCode",
                             fix="read stderr; under a seccomp profile exec'd processes inherit it, so a "
                                 "tool that works unconfined may fail here", details=result.stderr)
    return result


# The kubelet answers 200 with this text, not an error, when the container's log file is gone.
_KUBELET_LOG_GONE = "unable to retrieve container logs for "


def pod_logs(name: str, namespace: str, container: str | None = None, config: ClusterLike | str = "default", *,
             previous: bool = False, tail_lines: int | None = None) -> str:
    """The container's log (``previous=True``: of the run before the last restart)."""
    kwargs: dict[str, Any] = {"previous": previous}
    if container:
        kwargs["container"] = container
    if tail_lines is not None:
        kwargs["tail_lines"] = tail_lines
    try:
        text = call(f"read logs of pod {name}", core_api(config).read_namespaced_pod_log, name, namespace, **kwargs)
    except ManifestError as exc:   # 400: container not started yet, or several containers
        raise WorkloadFailed(exc.message, reason="LogsUnavailable",
                             fix="pass container=<name> for multi-container pods; a container that never "
                                 "started has no log: look at wait_for_pod(...).events") from None
    if text.startswith(_KUBELET_LOG_GONE):
        raise WorkloadFailed(f"the log of pod {name} is gone: {text.strip()}", reason="LogsUnavailable",
                             fix="the kubelet removes a crash-looping container's files when it starts the next "
                                 "one; read again after the next restart (kubectl logs --previous, previous=True)")
    return text


def delete_pod(name: str, namespace: str, config: ClusterLike | str = "default", *, wait: bool = True,
               timeout: float = 60, grace_period: int = 1) -> Applied:
    """Delete the pod (a missing pod is fine) and, with ``wait``, until it is gone. Returns the
    deleted pod names (``[name]``, or ``[]`` when there was none), a list that in Jupyter also
    shows the equivalent ``kubectl delete`` line."""
    command = (f"kubectl delete pod {name} -n {namespace} --grace-period={grace_period}"
               + ("" if wait else " --wait=false"))

    def done(deleted: bool) -> Applied:
        action = f"deleted pod {name} in {namespace}" if deleted else f"no pod {name} in {namespace}: nothing to delete"
        return Applied([name] if deleted else [], action=action, commands=[command])

    api = core_api(config)
    try:
        call(f"delete pod {name}", api.delete_namespaced_pod, name, namespace, grace_period_seconds=grace_period)
    except WorkloadFailed as exc:
        if exc.reason == "NotFound":
            return done(False)
        raise
    deadline = time.monotonic() + timeout
    while wait:
        try:
            read_pod(name, namespace, config)
        except WorkloadFailed as exc:
            if exc.reason == "NotFound":
                return done(True)
            raise
        if time.monotonic() > deadline:
            raise LabTimeout(f"pod {name} in {namespace} still exists {timeout:g}s after deletion",
                             fix="its node may be down: check labs.cluster.cluster_status()")
        time.sleep(0.5)
    return done(True)
