"""Drive the lab nginx through everything it does, so an audit sees every syscall it needs.

Why a separate client pod: requests sent with ``kubectl exec curl`` inside the nginx
container would run curl under nginx's profile and mix curl's syscalls into nginx's audit.
The operator actions (reload, reopen logs) are exec'd into nginx on purpose: they are part
of running nginx, so the profile must allow them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..apparmor import load_profile_on_nodes, shipped_profile
from ..audit import AppArmorRecord, AuditCollector
from ..cluster import ClusterRef, as_cluster
from ..errors import WorkloadFailed
from . import asset

__all__ = ["REQUESTS", "OPERATIONS", "NginxDriver", "pod_ip", "start_client", "audit_nginx",
           "logged_under_own_profile", "collect_complain_records"]

#: (what, busybox wget arguments after the URL is appended)
REQUESTS = (
    ("GET /", ["busybox", "wget", "-q", "-O", "-"], "/"),
    ("GET a missing page (404)", ["busybox", "wget", "-q", "-O", "-"], "/missing"),
    ("POST (405)", ["busybox", "wget", "-q", "-O", "-", "--post-data=x=1"], "/"),
)
OPERATIONS = (
    ("reload the configuration", ["nginx", "-s", "reload"]),
    ("reopen the log files", ["nginx", "-s", "reopen"]),
)


def pod_ip(name: str, namespace: str, config: ClusterRef = "default") -> str:
    ip = as_cluster(config).core_api().read_namespaced_pod(name, namespace).status.pod_ip
    if not ip:
        raise WorkloadFailed(f"pod {name} has no IP yet", reason="NoPodIP",
                             fix="wait for it to be Running (labs.pods.wait_for_pod)")
    return ip


def start_client(namespace: str, config: ClusterRef = "default") -> str:
    """Run the client pod (busybox) in ``namespace``; returns its name."""
    from ..pods import run_pod  # slow import: the kubernetes client

    outcome = run_pod(asset("03", "client.yaml"), namespace, config=config)
    if not outcome.ok:
        raise WorkloadFailed(f"the client pod did not start: {outcome.reason}", reason=outcome.reason,
                             fix=outcome.fix or "read its events with labs.pods.wait_for_pod")
    return outcome.name


@dataclass
class NginxDriver:
    """``drive(name, namespace)`` for :func:`labs.pod_audit.audit_pod`; ``done`` lists each
    step with its result so a learner sees what was exercised."""

    client: str = "client"
    config: ClusterRef = "default"
    operations: bool = True
    done: list[tuple[str, str]] = field(default_factory=list)

    def get(self, name: str, namespace: str, path: str = "/",
            wget: tuple[str, ...] = ("busybox", "wget", "-q", "-O", "-")):
        from ..pods import exec_in_pod  # slow import: the kubernetes client

        url = f"http://{pod_ip(name, namespace, self.config)}{path}"
        return exec_in_pod(self.client, namespace, [*wget, url], config=self.config)

    def serves(self, name: str, namespace: str) -> bool:
        """Does nginx answer GET / with the course page?"""
        return "hello from the course nginx" in self.get(name, namespace).stdout

    def __call__(self, name: str, namespace: str) -> None:
        from ..pods import exec_in_pod  # slow import: the kubernetes client

        for what, wget, path in REQUESTS:
            result = self.get(name, namespace, path, tuple(wget))
            self.done.append((what, "answered" if result.returncode == 0 else
                              (result.stderr.strip().splitlines() or ["failed"])[-1]))
        if self.operations:
            for what, command in OPERATIONS:
                result = exec_in_pod(name, namespace, command, config=self.config)
                self.done.append((what, "ok" if result.returncode == 0 else result.stderr.strip()[-120:]))


def audit_nginx(namespace: str, config: ClusterRef = "default", *, operations: bool = True):
    """Lesson 03's audit in one call: client pod, nginx under the audit profile, driven.

    ``operations=False`` leaves out reload and log reopening: the incomplete audit that
    lesson 04's staging run catches. Returns ``(PodAudit, NginxDriver)``.
    """
    from ..pod_audit import audit_pod  # slow import: the kubernetes client

    cluster = as_cluster(config)
    driver = NginxDriver(start_client(namespace, cluster), cluster, operations)
    return audit_pod(asset("03", "nginx-audit.yaml"), namespace, drive=driver, config=cluster), driver


def logged_under_own_profile(manifest, namespace: str, *, drive=None, config: ClusterRef = "default"):
    """Run a pod under the profile its manifest names and return what the kernel logged.

    With a staging profile (allow-list + ``SCMP_ACT_LOG`` default) the logged syscalls are
    exactly those the enforced profile would refuse: the "what would break" report.
    Returns ``(PodOutcome, {container: Counter})``.
    """
    from ..pod_audit import container_ids, split_by_container  # slow import: the kubernetes client
    from ..pods import run_pod  # slow import: the kubernetes client

    cluster = as_cluster(config)
    with AuditCollector() as collector:
        outcome = run_pod(manifest, namespace, config=cluster)
        if outcome.ok and drive is not None:
            drive(outcome.name, namespace)
        pod = cluster.core_api().read_namespaced_pod(outcome.name, namespace)
        ids = container_ids(cluster.api_client().sanitize_for_serialization(pod))
        collector.wait_quiet(container_ids=list(ids))
        records = collector.records(list(ids))
    counters, _ = split_by_container(records, ids)
    return outcome, counters


def collect_complain_records(namespace: str, config: ClusterRef = "default") -> list:
    """Lesson 07 live: nginx under the complain-mode AppArmor profile, driven; its ALLOWED records.

    Needs nodes that enforce AppArmor (see ``lessons.detect_available``).
    """
    from ..pods import run_pod  # slow import: the kubernetes client

    profile, cluster = "course-audit-complain", as_cluster(config)
    load_profile_on_nodes(shipped_profile(profile), config=cluster, mode="complain")
    driver = NginxDriver(start_client(namespace, cluster), cluster)
    with AuditCollector() as collector:
        run_pod(asset("07", "nginx-complain.yaml"), namespace, config=cluster)
        driver("nginx", namespace)
        collector.wait_quiet()
        return [r for r in collector.records() if isinstance(r, AppArmorRecord) and r.profile == profile]
