"""Read where a pod is from its status, as plain dicts: no client, no cluster.

Why pure: the rules that turn a pod's status into an outcome (``CreateContainerError`` with
its message and fix, a ``restartPolicy: Never`` container that failed while a sibling runs,
...) are tested against recorded statuses in ``tests/data``, and lessons show the same
result types (:class:`PodOutcome`, :class:`ExecResult`) with the kubectl lines that show the same.
"""
from __future__ import annotations

import html
import json
import shlex
from dataclasses import dataclass, field

from . import engine
from .errors import WorkloadFailed
from .pod_fixes import FAILED_WAITING, fix_for
from .results import Result

__all__ = ["PodOutcome", "pod_outcome", "format_events", "ExecResult", "exec_returncode", "handshake_status"]


def _describe_commands(name: str, namespace: str, node: str | None = None, statuses: list[dict] = ()) -> list[str]:
    """kubectl get/describe, and for a started container the runtime's own view on its node
    (``crictl inspect``: the OCI spec's ``linux.seccomp`` and AppArmor profile as applied)."""
    commands = [f"kubectl get pod {name} -n {namespace} -o wide", f"kubectl describe pod {name} -n {namespace}"]
    started = next((cs.get("containerID", "") for cs in statuses if cs.get("containerID")), "")
    if node and started:
        commands.append(engine.shown("exec", node, "crictl", "inspect", started.split("://")[-1][:13]))
    return commands


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

    def raise_for_failure(self) -> PodOutcome:
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
        return (f'<div style="border-left:4px solid {colour};padding:4px 8px">'
                f"<b>pod {html.escape(self.name)}</b>{phase}: "
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
                          _describe_commands(meta.get("name", ""), meta.get("namespace", ""), spec.get("nodeName"),
                                             raw))

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
        if reason in FAILED_WAITING:
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
        target = f"{self.pod or '<pod>'} -n {self.namespace or '<namespace>'}"
        container = f" -c {self.container}" if self.container else ""
        return f"kubectl exec {target}{container} -- {shlex.join(self.command)}"

    def _repr_html_(self) -> str:
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
