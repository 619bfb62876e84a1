"""Audit one pod: run it under a log-everything seccomp profile and return the syscalls each
of its containers made, and when each was first seen.

Why per pod: the audit stream holds every process on the machine (other pods, the node's
own containerd, kubelet). Records are matched to this pod's containers by container id
(``containerd://<id>`` in the pod status vs the id the collector reads from each process's
cgroup), so a noisy neighbour cannot leak syscalls into the profile being built.
"""
from __future__ import annotations

import collections
import contextlib
import html
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .audit import AuditCollector, SeccompRecord
from .cluster import ClusterRef, as_cluster, install_seccomp_profile
from .errors import LabTimeout, ManifestError
from .manifests import containers, load_manifests, set_seccomp
from .names import localhost_profile
from .pods import PodOutcome, apply_manifest, delete_pod, read_pod, wait_for_pod
from .results import Result
from .seccomp import audit_profile

__all__ = ["audit_pod", "PodAudit", "AUDIT_PROFILE_FILE", "container_ids", "split_by_container"]

#: File name of the SCMP_ACT_LOG profile on every node; pods use ``profiles/<this>``.
AUDIT_PROFILE_FILE = "course-audit.json"


@dataclass
class PodAudit(Result):
    """Syscalls one pod made, per container, while it ran under the audit profile.

    ``timeline`` holds ``(seconds, container, syscall)`` for the first time each syscall was
    seen in each container (seconds since that pod's first record): a coverage curve.
    """

    name: str
    namespace: str
    outcome: PodOutcome
    syscalls: dict[str, collections.Counter] = field(default_factory=dict)
    timeline: list[tuple[float, str, str]] = field(default_factory=list)
    records: int = 0
    lost: int = 0
    warnings: list[str] = field(default_factory=list)

    def all_syscalls(self) -> set[str]:
        """Every syscall any container of the pod made."""
        return {s for counter in self.syscalls.values() for s in counter}

    def coverage(self, container: str | None = None) -> list[tuple[float, int]]:
        """(seconds, distinct syscalls seen so far) for one container or the whole pod."""
        seen, out = set(), []
        for t, name, syscall in self.timeline:
            if container in (None, name) and syscall not in seen:
                seen.add(syscall)
                out.append((t, len(seen)))
        return out

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><td>{html.escape(c)}</td><td>{len(n)}</td><td>{sum(n.values())}</td>"
                       f"<td>{html.escape(', '.join(sorted(n)))}</td></tr>" for c, n in self.syscalls.items())
        warn = "".join(f"<li style='color:#c0392b'>{html.escape(w)}</li>" for w in self.warnings)
        if self.lost:
            warn += f"<li style='color:#c0392b'>{self.lost} audit records were lost: audit again</li>"
        return (f"<div><b>PodAudit {html.escape(self.namespace)}/{html.escape(self.name)}</b> "
                f"({html.escape(self.outcome.reason)}, {self.records} records)<table><tr><th>container</th>"
                f"<th>distinct</th><th>calls</th><th>syscalls</th></tr>{rows}</table><ul>{warn}</ul></div>")


def container_ids(pod: dict) -> dict[str, str]:
    """Container id -> container name for every container of the pod, including the run
    before the last restart (ids from ``status.*ContainerStatuses[].containerID``)."""
    out = {}
    status = pod.get("status") or {}
    for key in ("initContainerStatuses", "containerStatuses", "ephemeralContainerStatuses"):
        for cs in status.get(key) or []:
            for source in (cs, (cs.get("lastState") or {}).get("terminated") or {}):
                raw = source.get("containerID") or ""
                if "://" in raw:
                    out[raw.split("://", 1)[1]] = cs["name"]
    return out


def split_by_container(records: Iterable, ids: dict[str, str]
                       ) -> tuple[dict[str, collections.Counter], list[tuple[float, str, str]]]:
    """Seccomp records -> per-container syscall counters and the first-seen timeline.
    Records of other containers (no matching id) are dropped."""
    counters: dict[str, collections.Counter] = {name: collections.Counter() for name in dict.fromkeys(ids.values())}
    mine = []
    for r in records:
        if isinstance(r, SeccompRecord) and r.container_id:
            name = next((n for cid, n in ids.items() if cid.startswith(r.container_id)
                         or r.container_id.startswith(cid)), None)
            if name is not None:
                mine.append((r.timestamp, name, r.syscall))
    mine.sort()
    t0 = mine[0][0] if mine else 0.0
    timeline, seen = [], set()
    for ts, name, syscall in mine:
        counters[name][syscall] += 1
        if (name, syscall) not in seen:
            seen.add((name, syscall))
            timeline.append((round(ts - t0, 3), name, syscall))
    return counters, timeline


def _audited(docs: list[dict]) -> tuple[list[dict], str]:
    pods = [d for d in docs if d["kind"] == "Pod"]
    if len(pods) != 1:
        raise ManifestError(f"audit_pod needs exactly one Pod in the manifest, found {len(pods)}",
                            fix="audit one pod at a time (other objects such as ConfigMaps may come along)")
    pod = set_seccomp(pods[0], "Localhost", localhost_profile(AUDIT_PROFILE_FILE))
    for c in containers(pod):   # a container's own profile would override the pod's
        pod = set_seccomp(pod, "Localhost", localhost_profile(AUDIT_PROFILE_FILE), container=c["name"])
    return [pod if d is pods[0] else d for d in docs], pod["metadata"]["name"]


def _settled_log(collector: AuditCollector, ids: list[str], quiet: float = 1.0, limit: float = 15.0):
    """The pod's records once none arrived for ``quiet`` seconds, counting those still being
    formatted (or after ``limit``: a pod still running keeps logging). Other processes may go
    on logging meanwhile."""
    with contextlib.suppress(LabTimeout):
        collector.wait_quiet(quiet, limit, ids)
    return collector.log(ids)


def audit_pod(manifest: str | Path | dict | list, namespace: str, *,
              drive: Callable[[str, str], object] | None = None, seconds: float = 5.0,
              config: ClusterRef = "default", timeout: float = 120, stop: bool = True) -> PodAudit:
    """Run the pod under the audit profile and return the syscalls of its containers.

    The manifest's own seccomp settings are replaced by the audit profile (installed on
    every node first). ``drive(name, namespace)`` exercises the running pod (e.g. an
    ``exec_in_pod`` curl); then the pod runs ``seconds`` longer. With ``stop=True`` the pod is
    deleted inside the audit window, so its shutdown syscalls are recorded too.
    """
    docs, name = _audited(load_manifests(manifest))
    cluster = as_cluster(config)
    install_seccomp_profile(AUDIT_PROFILE_FILE, audit_profile(), config=cluster)
    with AuditCollector() as collector:
        apply_manifest(docs, namespace, cluster)
        outcome = wait_for_pod(name, namespace, timeout=timeout, config=cluster)
        if outcome.ok and outcome.reason == "Running":
            if drive is not None:
                drive(name, namespace)
            time.sleep(seconds)
        ids = container_ids(read_pod(name, namespace, cluster))
        if stop:
            delete_pod(name, namespace, cluster, grace_period=5)
        log = _settled_log(collector, list(ids))
    counters, timeline = split_by_container(log.records, ids)
    warnings = list(log.warnings)
    if not any(counters.values()):
        warnings.append("no seccomp records matched this pod's containers: did it start? (see outcome)")
    return PodAudit(name, namespace, outcome, counters, timeline, len(log.seccomp), log.lost, warnings)
