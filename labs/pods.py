"""Pods on the course cluster through the official ``kubernetes`` client: apply, wait, exec,
logs, delete.

Why the client and not kubectl text: statuses, events and exec exit codes arrive as data, so
a failure keeps the reason Kubernetes itself reports (``CreateContainerError``,
``CrashLoopBackOff``, ``AppArmor``, ...: what ``kubectl describe pod`` shows, never relabelled)
with advice, never a raw ``ApiException`` traceback. The one reason of our own is
``PodSecurityRejected``: the API server refused to create the pod, so there is no pod status.

Nothing is magic: every helper that changes the cluster shows, in Jupyter, the YAML it applied
and the ``kubectl`` command a learner types to do or inspect the same (:class:`labs.results.Applied`,
:attr:`PodOutcome.commands`, :attr:`ExecResult.kubectl`). The pure part (:func:`pod_outcome`,
:func:`format_events`, :func:`exec_returncode`, :func:`pod_security_violations`) works on plain dicts.
"""
from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import urllib3
import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException
from kubernetes.stream import stream

from .errors import EnvironmentProblem, LabError, LabTimeout, ManifestError, WorkloadFailed
from .manifests import load_manifests, with_managed_label
from .names import MANAGED_LABEL
from .results import Applied, Result

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
    "audit_pod",
    "PodAudit",
]

FIELD_MANAGER = "course-labs"

#: What to do about each failure reason a pod can end in (Kubernetes' own reasons, as
#: ``kubectl describe pod`` shows them; see :func:`fix_for` for advice that depends on the message).
FIXES = {
    "CreateContainerError": "the runtime could not create or start the container; under a seccomp profile this "
                            "usually means a syscall the runtime needs at start-up is blocked: audit first and build "
                            "the profile with the runtime start-up syscalls included",
    "CreateContainerConfigError": "the container's configuration refers to something missing (ConfigMap, Secret, "
                                  "user): read the message and create or fix it",
    "RunContainerError": "the container process could not be started: read the message (a blocked syscall, a "
                         "missing binary or a bad command)",
    "CrashLoopBackOff": "the container starts and exits again: read its log (kubectl logs NAME -n NS, or pod_logs(name, "
                        "namespace); add --previous / previous=True only while the last run's log is still kept); under "
                        "a new seccomp profile a blocked syscall is the usual cause, so audit it first",
    "Error": "the container exited with an error: read pod_logs(name, namespace)",
    "ErrImageNeverPull": "the image is not on the node: run `make images`, then labs.cluster.load_images(...)",
    "ErrImagePull": "the image is not on the node and no registry is reachable: load it with "
                    "labs.cluster.load_images(...) and set imagePullPolicy: Never or IfNotPresent",
    "ImagePullBackOff": "the image is not on the node and no registry is reachable: load it with "
                        "labs.cluster.load_images(...) and set imagePullPolicy: Never or IfNotPresent",
    "InvalidImageName": "fix the image name (course images: course/nginx, course/tools)",
    "AppArmor": "the kubelet rejected the pod because the node cannot enforce AppArmor (the kernel has no AppArmor "
                "LSM, or the runtime cannot apply it): run it on an AppArmor-capable cluster (make cluster-apparmor); "
                "the pod is Failed for good, so delete it and create it again there",
    "Blocked": "(Kubernetes up to 1.30) the node cannot enforce the AppArmor profile: load it on every node with "
               "labs.apparmor.load_profile_on_nodes(...), or use an AppArmor-capable cluster (make cluster-apparmor)",
    "Unschedulable": "no node accepts the pod: read the message (nodeSelector, taints, resources); list nodes with "
                     "labs.cluster.node_names()",
    "PodSecurityRejected": "change the fields listed (labs.manifests.check_pod_security(doc) shows each with its "
                           "fix), or use a namespace with a lower Pod Security level",
    "OOMKilled": "the container ran out of memory: raise resources.limits.memory",
}
_FAILED_WAITING = {"CreateContainerError", "CreateContainerConfigError", "RunContainerError", "CrashLoopBackOff",
                   "ErrImageNeverPull", "ErrImagePull", "ImagePullBackOff", "InvalidImageName", "Blocked",
                   "ImageInspectError", "PreCreateHookError", "PostStartHookError"}
#: advice when the message says the Localhost seccomp profile file is missing on the node
SECCOMP_FILE_MISSING_FIX = ("the pod's Localhost seccomp profile file is missing on the node that runs it (see the "
                            "path in the message): install it on every node with "
                            "labs.cluster.install_seccomp_profile(filename, profile) and reference it as "
                            "localhostProfile: profiles/<filename>; the kubelet keeps retrying, so the waiting pod "
                            "starts once the file is there")
_SECCOMP_MISSING = re.compile(r"seccomp.*(no such file|not found|cannot load|does not exist)|"
                              r"(no such file|cannot load).*seccomp", re.I | re.S)


def fix_for(reason: str, message: str = "") -> str | None:
    """What to do about ``reason``; the message refines it (a missing seccomp profile file is
    a ``CreateContainerError`` whose message names the file)."""
    if reason in _FAILED_WAITING and _SECCOMP_MISSING.search(message or ""):
        return SECCOMP_FILE_MISSING_FIX
    if reason in ("CreateContainerError", "RunContainerError") and "apparmor" in (message or "").lower():
        return FIXES["AppArmor"]
    return FIXES.get(reason)


def kubectl_apply_command(namespace: str, source: str | Path | None = None) -> str:
    """``kubectl apply -f <file> -n <ns>`` for a manifest file (or ``<file>.yaml`` for a dict)."""
    import shlex

    import os

    if isinstance(source, Path) or (isinstance(source, str) and "\n" not in source
                                    and source.strip().endswith((".yaml", ".yml", ".json"))):
        from .paths import REPO_ROOT

        path = Path(source).resolve()
        inside = path.is_relative_to(REPO_ROOT.resolve())
        shown = os.path.relpath(path, Path.cwd().resolve()) if inside else str(path)   # from the notebook's folder
    else:
        shown = "manifest.yaml"   # a dict or YAML text: save the YAML shown to this file
    return f"kubectl apply -f {shlex.quote(shown)} -n {namespace}"


def _describe_commands(name: str, namespace: str, node: str | None = None, statuses: list[dict] = ()) -> list[str]:
    """kubectl get/describe, and for a started container the runtime's own view on its node
    (``crictl inspect``: the OCI spec's ``linux.seccomp`` and AppArmor profile as applied)."""
    commands = [f"kubectl get pod {name} -n {namespace} -o wide", f"kubectl describe pod {name} -n {namespace}"]
    started = next((cs.get("containerID", "") for cs in statuses if cs.get("containerID")), "")
    if node and started:
        commands.append(f"docker exec {node} crictl inspect {started.split('://')[-1][:13]}")
    return commands


class PodSecurityRejected(ManifestError):
    """The namespace's Pod Security level refused the object; ``violations`` lists why."""

    reason = "PodSecurityRejected"

    def __init__(self, message: str, violations: list[str]):
        self.violations = violations
        super().__init__(message, FIXES["PodSecurityRejected"])


# --------------------------------------------------------------------------- client

_CLIENTS: dict[tuple[str, int], k8s.ApiClient] = {}


def _kubeconfig(config: str) -> Path:
    from .cluster import kubeconfig_path  # the cluster module owns where kubeconfigs live
    path = kubeconfig_path(config)
    if not path.exists():
        raise EnvironmentProblem(f"no kubeconfig for the {config!r} cluster at {path}: the cluster does not exist",
                                 fix="create it with `make cluster` (or labs.cluster.ensure_cluster())")
    return path


def api_client(config: str = "default", *, fresh: bool = False) -> k8s.ApiClient:
    """An ApiClient for the course cluster, reused until its kubeconfig changes.

    ``fresh=True`` returns a private one (exec streams patch the client they use)."""
    path = _kubeconfig(config)
    key = (str(path), path.stat().st_mtime_ns)
    if fresh or key not in _CLIENTS:
        made = k8s_config.new_client_from_config(config_file=str(path), persist_config=False)
        if fresh:
            return made
        for old in [k for k in _CLIENTS if k[0] == key[0]]:   # the cluster was re-created
            _CLIENTS.pop(old).close()
        _CLIENTS[key] = made
    return _CLIENTS[key]


def core_api(config: str = "default") -> k8s.CoreV1Api:
    """The CoreV1Api of the course cluster (pods, events, namespaces, logs)."""
    return k8s.CoreV1Api(api_client(config))


def _api_message(exc: ApiException) -> str:
    try:
        return json.loads(exc.body).get("message") or exc.reason or ""
    except (TypeError, ValueError, AttributeError):
        return (exc.body if isinstance(exc.body, str) and exc.body else exc.reason) or str(exc.status)


def pod_security_violations(message: str) -> list[str]:
    """The violations in a PodSecurity rejection (``violates PodSecurity "restricted:latest":
    a (detail), b (detail)``), one string each."""
    _, _, tail = message.partition('":')
    items, depth, current = [], 0, ""
    for char in tail.strip():
        depth += (char == "(") - (char == ")")
        if char == "," and depth == 0:
            items.append(current.strip())
            current = ""
        else:
            current += char
    if current.strip():
        items.append(current.strip())
    return items


def translate_api_error(exc: ApiException, what: str) -> LabError:
    """A LabError for a failed API call; ``what`` says what was being done (``create Pod web``)."""
    message = _api_message(exc)
    if exc.status == 403 and "violates PodSecurity" in message:
        return PodSecurityRejected(f"{what}: {message}", pod_security_violations(message))
    if exc.status == 422 and ("may not change fields" in message or "field is immutable" in message):
        return ManifestError(f"{what}: the API server refused the change: {message}",
                             fix="that field cannot change on a live object: delete it first (delete_pod(name, "
                                 "namespace) for a pod), then apply again")
    if exc.status in (400, 422):
        return ManifestError(f"{what}: the API server refused it: {message}",
                             fix="fix the field the message names (labs.manifests helpers show the current values)")
    if exc.status == 404:
        return WorkloadFailed(f"{what}: not found: {message}", reason="NotFound",
                              fix="check the name and namespace (the object may have been deleted)")
    if exc.status == 401:
        return EnvironmentProblem(f"{what}: the API server did not accept our credentials: {message}",
                                  fix="the kubeconfig is stale (the cluster was re-created?): re-run `make cluster`")
    if exc.status == 403:
        return ManifestError(f"{what}: forbidden: {message}",
                             fix="an admission rule refused it: read the message (a namespace being deleted, "
                                 "a missing service account, a quota)")
    if exc.status == 409:
        return ManifestError(f"{what}: conflict: {message}", fix="delete the old object first, then apply again")
    return EnvironmentProblem(f"{what}: the API server answered {exc.status}: {message}",
                              fix="check the cluster with labs.cluster.cluster_status(); re-run `make cluster`")


def _call(what: str, fn: Callable, *args: Any, **kwargs: Any) -> Any:
    """Run one API call, turning client exceptions into LabErrors."""
    try:
        return fn(*args, **kwargs)
    except ApiException as exc:
        raise translate_api_error(exc, what) from None
    except urllib3.exceptions.HTTPError as exc:
        raise EnvironmentProblem(f"{what}: cannot reach the cluster's API server ({type(exc).__name__})",
                                 fix="is the kind cluster running? check with labs.cluster.cluster_status(), "
                                     "start it with `make cluster`") from None


def _plain(obj: Any, config: str) -> dict:
    """A client object as the JSON dict the API sent (camelCase keys)."""
    return api_client(config).sanitize_for_serialization(obj)


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


def apply_manifest(manifest: str | Path | dict | list, namespace: str, config: str = "default") -> Applied:
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
        stored = _call(f"apply {kind} {name} in namespace {namespace}", patch, name, namespace, doc,
                       field_manager=FIELD_MANAGER, force=True, _content_type="application/apply-patch+yaml")
        applied.append(_plain(stored, config))
    names = ", ".join(f"{d['kind']}/{d['metadata']['name']}" for d in sent)
    return Applied(applied, action=f"applied {names} in namespace {namespace}",
                   commands=[kubectl_apply_command(namespace, manifest)], content=manifest_yaml(sent),
                   content_label="applied YAML", note=_APPLY_NOTE)


# --------------------------------------------------------------------------- wait

@dataclass
class PodOutcome(Result):
    """Where a pod ended up. ``reason`` is the one Kubernetes reports (what ``kubectl describe
    pod`` shows): ``Running``, ``Succeeded``, or a failure such as ``CreateContainerError``
    (also a missing Localhost seccomp profile file: the message names it), ``CrashLoopBackOff``,
    ``Error``, ``ErrImageNeverPull``, ``ImagePullBackOff``, ``AppArmor`` (phase Failed: the
    node cannot enforce AppArmor), ``Unschedulable``; or ``PodSecurityRejected`` when the API
    server refused to create the pod. ``commands`` are the kubectl lines that show the same
    (and, from :func:`run_pod`, the apply); ``applied`` is the YAML that was applied."""

    name: str
    namespace: str
    ok: bool
    phase: str | None
    ready: bool
    reason: str
    message: str = ""
    fix: str | None = None
    containers: dict[str, str] = field(default_factory=dict)   # name -> "running", "waiting: X", ...
    events: list[str] = field(default_factory=list)
    node: str | None = None
    commands: list[str] = field(default_factory=list, repr=False)
    applied: str = field(default="", repr=False)

    def raise_for_failure(self) -> "PodOutcome":
        """Return self when the pod is fine, else raise WorkloadFailed with reason and events."""
        if not self.ok:
            raise WorkloadFailed(f"pod {self.name} in {self.namespace}: {self.reason}: {self.message}".rstrip(": "),
                                 reason=self.reason, fix=self.fix, details="\n".join(self.events))
        return self

    def __str__(self) -> str:
        lines = [f"pod {self.namespace}/{self.name}: {self.reason}" + (f": {self.message}" if self.message else "")]
        lines += [f"  {name}: {state}" for name, state in self.containers.items()]
        lines += [f"  event: {e}" for e in self.events]
        if self.fix:
            lines.append(f"  fix: {self.fix}")
        lines += [f"  $ {c}" for c in self.commands]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        import html
        colour = "#27ae60" if self.ok else "#c0392b"
        items = "".join(f"<li>{html.escape(n)}: {html.escape(s)}</li>" for n, s in self.containers.items())
        events = "".join(f"<li><code>{html.escape(e)}</code></li>" for e in self.events)
        fix = f"<div><b>What to do:</b> {html.escape(self.fix)}</div>" if self.fix else ""
        phase = f" (phase {html.escape(self.phase)})" if self.phase else ""
        opened = "" if self.ok else " open"
        applied = (f"<details><summary>applied YAML</summary><pre>{html.escape(self.applied.rstrip())}</pre></details>"
                   if self.applied else "")
        commands = ("<div>Equivalent commands:</div><pre>" + "\n".join(f"$ {html.escape(c)}" for c in self.commands)
                    + "</pre>" if self.commands else "")
        return (f'<div style="border-left:4px solid {colour};padding:4px 8px"><b>pod {html.escape(self.name)}</b>{phase}: '
                f"reason <b>{html.escape(self.reason)}</b> {html.escape(self.message)}<ul>{items}</ul>"
                f"{f'<details{opened}><summary>events</summary><ul>' + events + '</ul></details>' if events else ''}"
                f"{fix}{applied}{commands}</div>")


def _container_states(status: dict) -> tuple[dict[str, str], list[dict]]:
    """name -> one-line state, and the container statuses, init containers first."""
    lines, raw = {}, []
    for key in ("initContainerStatuses", "containerStatuses", "ephemeralContainerStatuses"):
        for cs in status.get(key) or []:
            state = cs.get("state") or {}
            raw.append(cs)
            if "running" in state:
                lines[cs["name"]] = "running" + (", ready" if cs.get("ready") else ", not ready")
            elif "waiting" in state:
                lines[cs["name"]] = f"waiting: {state['waiting'].get('reason', '')}"
            elif "terminated" in state:
                t = state["terminated"]
                lines[cs["name"]] = f"terminated: {t.get('reason', '')} (exit {t.get('exitCode')})"
    return lines, raw


def _failed_exit(statuses: list[dict]) -> dict | None:
    """The ``terminated`` state of the first container that exited non-zero, if any."""
    for cs in statuses:
        terminated = (cs.get("state") or {}).get("terminated")
        if terminated and terminated.get("exitCode"):
            return terminated
    return None


def pod_outcome(pod: dict, events: list[str] | None = None) -> tuple[PodOutcome, bool]:
    """Classify a pod (as the API returns it) into an outcome, and whether that is final."""
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    phase = status.get("phase")
    conditions = {c.get("type"): c for c in status.get("conditions") or []}
    ready = (conditions.get("Ready") or {}).get("status") == "True"
    lines, raw = _container_states(status)

    def outcome(reason: str, message: str = "", ok: bool = False) -> PodOutcome:
        return PodOutcome(meta.get("name", ""), meta.get("namespace", ""), ok, phase, ready, reason,
                          message.strip(), None if ok else fix_for(reason, message), lines, list(events or []),
                          spec.get("nodeName"),
                          _describe_commands(meta.get("name", ""), meta.get("namespace", ""), spec.get("nodeName"), raw))

    def exited(terminated: dict) -> tuple[PodOutcome, bool]:
        return outcome(terminated.get("reason") or "Error",
                       terminated.get("message") or f"exit code {terminated['exitCode']}"), True

    if phase == "Succeeded":
        return outcome("Succeeded", ok=True), True
    if phase == "Failed":
        if status.get("reason"):   # rejected by the kubelet (AppArmor, Evicted, NodeAffinity, ...)
            return outcome(status["reason"], status.get("message", "")), True
        failed = _failed_exit(raw)
        if failed:
            return exited(failed)
        return outcome(status.get("reason") or "Failed", status.get("message", "")), True
    # restartPolicy Never: a failed container stays failed. While a sibling still runs, the pod
    # stays Running (never Ready, never Succeeded) for as long as that sibling lives: final now.
    # With none running, the phase turns Failed within moments; that is waited for instead.
    statuses = status.get("containerStatuses") or []
    if spec.get("restartPolicy") == "Never" and any("running" in (cs.get("state") or {}) for cs in statuses):
        failed = _failed_exit(statuses)
        if failed:
            return exited(failed)
    scheduled = conditions.get("PodScheduled") or {}
    if scheduled.get("status") == "False" and scheduled.get("reason") == "Unschedulable":
        return outcome("Unschedulable", scheduled.get("message", "")), True
    for cs in raw:
        waiting = (cs.get("state") or {}).get("waiting") or {}
        reason, message = waiting.get("reason", ""), waiting.get("message", "")
        if reason in _FAILED_WAITING:
            return outcome(reason, message), True
    if phase == "Running" and ready:
        return outcome("Running", ok=True), True
    pending = next((s.split(": ", 1)[1] for s in lines.values() if s.startswith("waiting: ")), "") or phase or "Pending"
    return outcome(pending, status.get("message", "")), False


def _event_order(event: dict) -> tuple[str, str]:
    """Sort key: the time to the second (kubelet events carry no fraction, scheduler events
    do), then the event name, whose suffix is its creation time in hex nanoseconds."""
    stamp = event.get("lastTimestamp") or event.get("eventTime") or event.get("firstTimestamp") or ""
    return stamp[:19], (event.get("metadata") or {}).get("name", "")


def format_events(events: list[dict]) -> list[str]:
    """Events, oldest first, as ``Warning Failed: message (x3)`` lines."""
    out = []
    for e in sorted(events, key=_event_order):
        count = e.get("count") or 1
        out.append(f"{e.get('type', '')} {e.get('reason', '')}: {e.get('message', '')}".strip()
                   + (f" (x{count})" if count > 1 else ""))
    return out


def _pod_events(name: str, namespace: str, config: str, uid: str | None = None) -> list[str]:
    """This pod's events; with ``uid``, only this incarnation's (a deleted pod of the same
    name leaves its events behind for an hour)."""
    selector = f"involvedObject.kind=Pod,involvedObject.name={name}" + (f",involvedObject.uid={uid}" if uid else "")
    listed = _call(f"list events of pod {name}", core_api(config).list_namespaced_event, namespace,
                   field_selector=selector)
    return format_events(_plain(listed, config).get("items") or [])


def read_pod(name: str, namespace: str, config: str = "default") -> dict:
    """The pod as the API returns it (a plain dict, camelCase keys)."""
    pod = _call(f"read pod {name} in {namespace}", core_api(config).read_namespaced_pod, name, namespace)
    return _plain(pod, config)


def _restarts(pod: dict) -> int:
    status = pod.get("status") or {}
    return sum(cs.get("restartCount") or 0 for key in ("initContainerStatuses", "containerStatuses")
               for cs in status.get(key) or [])


_read_pod = read_pod   # the name tests/cluster/test_cluster_seccomp.py imports; use read_pod


def wait_for_pod(name: str, namespace: str, *, timeout: float = 120, config: str = "default",
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
            listed = _call("list pods", core_api(config).list_namespaced_pod, namespace)
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
            until: str = "ready", config: str = "default") -> PodOutcome:
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

@dataclass(frozen=True)
class ExecResult(Result):
    """A command run in a pod. ``returncode`` 126/127 mean the runtime could not start it
    (``error`` holds the runtime's message), as in a shell."""

    command: list[str]
    returncode: int
    stdout: str
    stderr: str
    error: str = ""
    pod: str = ""
    namespace: str = ""
    container: str | None = None

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def kubectl(self) -> str:
        """The same command as a learner types it: ``kubectl exec <pod> -n <ns> -- <command>``."""
        import shlex

        target = f"{self.pod or '<pod>'} -n {self.namespace or '<namespace>'}"
        container = f" -c {self.container}" if self.container else ""
        return f"kubectl exec {target}{container} -- {shlex.join(self.command)}"

    def _repr_html_(self) -> str:
        import html

        colour = "#27ae60" if self.ok else "#c0392b"
        out = "".join(f"<div>{label}:</div><pre>{html.escape(text.rstrip())}</pre>"
                      for label, text in (("stdout", self.stdout), ("stderr", self.stderr)) if text.strip())
        return (f'<div style="border-left:4px solid {colour};padding:4px 8px"><b>exit code {self.returncode}</b>'
                f"{out}<div>Equivalent command:</div><pre>$ {html.escape(self.kubectl)}</pre></div>")


def exec_returncode(status: dict | None) -> tuple[int, str]:
    """Exit code and message from the exec error channel's Status object."""
    if not status or status.get("status") == "Success":
        return 0, ""
    message = status.get("message", "")
    for cause in (status.get("details") or {}).get("causes") or []:
        if cause.get("reason") == "ExitCode":
            return int(cause.get("message", 1)), ""
    return (127 if "not found" in message or "no such file" in message else 126), message


def handshake_status(text: str) -> dict:
    """The Status object at the end of a refused websocket handshake's error text
    (``Handshake status 404 Not Found -+-+- {headers} -+-+- {"kind":"Status",...}``)."""
    try:
        status = json.loads(text.rsplit("-+-+-", 1)[-1].strip())
    except ValueError:
        return {"message": text}
    return status if isinstance(status, dict) else {"message": text}


def exec_in_pod(name: str, namespace: str, command: list[str], *, container: str | None = None,
                config: str = "default", timeout: float = 60, check: bool = False) -> ExecResult:
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


def pod_logs(name: str, namespace: str, container: str | None = None, config: str = "default", *,
             previous: bool = False, tail_lines: int | None = None) -> str:
    """The container's log (``previous=True``: of the run before the last restart)."""
    kwargs: dict[str, Any] = {"previous": previous}
    if container:
        kwargs["container"] = container
    if tail_lines is not None:
        kwargs["tail_lines"] = tail_lines
    try:
        return _call(f"read logs of pod {name}", core_api(config).read_namespaced_pod_log, name, namespace, **kwargs)
    except ManifestError as exc:   # 400: container not started yet, or several containers
        raise WorkloadFailed(exc.message, reason="LogsUnavailable",
                             fix="pass container=<name> for multi-container pods; a container that never "
                                 "started has no log: look at wait_for_pod(...).events") from None


def delete_pod(name: str, namespace: str, config: str = "default", *, wait: bool = True,
               timeout: float = 60, grace_period: int = 1) -> Applied:
    """Delete the pod (a missing pod is fine) and, with ``wait``, until it is gone. Returns the
    deleted pod names (``[name]``, or ``[]`` when there was none), a list that in Jupyter also
    shows the equivalent ``kubectl delete`` line."""
    command = f"kubectl delete pod {name} -n {namespace} --grace-period={grace_period}" + ("" if wait else " --wait=false")

    def done(deleted: bool) -> Applied:
        action = f"deleted pod {name} in {namespace}" if deleted else f"no pod {name} in {namespace}: nothing to delete"
        return Applied([name] if deleted else [], action=action, commands=[command])

    api = core_api(config)
    try:
        _call(f"delete pod {name}", api.delete_namespaced_pod, name, namespace, grace_period_seconds=grace_period)
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


def __getattr__(name: str) -> Any:
    """``audit_pod``/``PodAudit`` live in :mod:`labs.pod_audit` (it needs the audit collector);
    imported on first use so this module does not import it, nor it this one in a cycle."""
    if name in ("audit_pod", "PodAudit"):
        from . import pod_audit
        return getattr(pod_audit, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
