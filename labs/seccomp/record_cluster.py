"""Record a pod's syscalls on the kind cluster: :func:`record_manifest`.

Why a cluster form next to :func:`~labs.seccomp.record.record_image`: a pod runs under containerd's
runc on the node, with the kubelet's mounts and service-account token, so its start-up can
differ from ``docker run``'s. The steps are the same (audit profile, drive from the host,
settle, delete the pod so its shutdown is recorded) and records are matched to the pod's own
container ids, so other pods on the node cannot leak into the profile. Drive commands get
``$POD``, ``$NAMESPACE``, ``$NODE``, ``$POD_IP`` and ``$KUBECONFIG``: ``docker exec $NODE curl
http://$POD_IP/`` runs on the node and is not recorded, ``kubectl exec -n $NAMESPACE $POD --
...`` runs inside the pod and is.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..audit import AuditCollector
from ..cluster import as_cluster, install_seccomp_profile
from ..errors import LabError, LabTimeout, ManifestError, WorkloadFailed
from ..manifests import containers, load_manifests, set_seccomp
from ..names import localhost_profile
from ..syscalls import node_arch
from .build import audit_profile
from .provenance import RunRecord
from .record import drive_argv, log, read_run, run_drive
from .recording import Recording

if TYPE_CHECKING:   # labs.cluster is imported where it is used (this module sits in labs.seccomp)
    from ..cluster.handle import Cluster, ClusterRef

__all__ = ["record_manifest"]


def _audited_docs(manifest: str | Path | dict | list) -> tuple[list[dict], str]:
    from ..pod_audit import AUDIT_PROFILE_FILE  # slow import: the kubernetes client

    docs = load_manifests(manifest)
    pods = [d for d in docs if d.get("kind") == "Pod"]
    if len(pods) != 1:
        raise ManifestError(f"record_manifest needs exactly one Pod in the manifest, found {len(pods)}",
                            fix="record one pod at a time (ConfigMaps and Services may come along)")
    pod = set_seccomp(pods[0], "Localhost", localhost_profile(AUDIT_PROFILE_FILE))
    for c in containers(pod):      # a container's own profile would override the pod's
        pod = set_seccomp(pod, "Localhost", localhost_profile(AUDIT_PROFILE_FILE), container=c["name"])
    return [pod if d is pods[0] else d for d in docs], pod["metadata"]["name"]


def _node_runtime(cluster: Cluster) -> str:
    nodes = cluster.core_api().list_node().items
    return nodes[0].status.node_info.container_runtime_version if nodes else "unknown runtime"


def _one_pod_run(audit: AuditCollector, docs: list[dict], name: str, namespace: str, index: int,
                 opts: dict, say: Callable[[str], None], into: list[RunRecord]) -> None:
    """One pod run, added to ``into`` before it starts so a failure keeps what was seen."""
    from ..pod_audit import container_ids  # slow import: the kubernetes client
    from ..pods import apply_manifest, delete_pod, read_pod, wait_for_pod  # slow import: the kubernetes client

    config, timeout = opts["cluster"], opts["timeout"]
    times: dict[str, float | None] = {"drive": None, "stop": None}
    started, wall, ids, done = time.monotonic(), time.time(), {}, False
    record = RunRecord(index, f"{namespace}/{name}")
    into.append(record)
    try:
        apply_manifest(docs, namespace, config)
        outcome = wait_for_pod(name, namespace, timeout=timeout, config=config)
        if not outcome.ok:
            raise WorkloadFailed(f"pod {name} did not run: {outcome.reason}", reason=outcome.reason,
                                 details=outcome.message or "", fix=outcome.fix or "read its events")
        pod = read_pod(name, namespace, config)
        ids = container_ids(pod)
        say(f"run {index}: pod {namespace}/{name} running on {pod['spec'].get('nodeName')}")
        times["drive"] = time.time()
        run_drive(opts["drive"], {"pod": name, "namespace": namespace, "node": pod["spec"].get("nodeName", ""),
                                  "pod_ip": (pod.get("status") or {}).get("podIP", ""),
                                  "kubeconfig": str(config.kubeconfig)}, timeout, say)
        names = audit.wait_settled(opts["settle"], timeout, list(ids))
        say(f"run {index}: settled at {len(names)} syscalls")
        ids = container_ids(read_pod(name, namespace, config)) or ids
        times["stop"] = time.time()
        done = True
    finally:
        delete_pod(name, namespace, config, grace_period=5)
        if ids:
            try:
                audit.wait_quiet(1.0, timeout, list(ids))
            except LabTimeout:
                record.notes.append("records were still arriving when the run was read")
            read_run(audit, list(ids), wall, record, times)
        record.seconds = round(time.monotonic() - started, 2)
        record.partial = not done
    say(f"run {index}: {len(record.syscalls())} syscalls, {record.records} records"
        + (f" ({record.unattributed} from exited children, matched by name and time)" if record.unattributed else ""))


def record_manifest(manifest: str | Path | dict | list, *, drive: Sequence[str | Sequence[str]] = (),
                    runs: int = 1, out: str | Path | None = None, progress: Callable[[str], None] | None = None,
                    settle: float = 3.0, timeout: float = 120.0, config: ClusterRef = "default") -> Recording:
    """Record the manifest's one pod ``runs`` times on the cluster (each run in a fresh
    namespace) and return the merged :class:`Recording`; ``out`` as for ``record_image``.
    Failures and Ctrl-C delete the pod and namespace, keep the runs seen, labelled partial."""
    from ..namespaces import lab_namespace  # slow import: the kubernetes client
    from ..pod_audit import AUDIT_PROFILE_FILE  # slow import: the kubernetes client

    say = progress or log.info
    docs, name = _audited_docs(manifest)
    cluster = as_cluster(config)
    opts = {"cluster": cluster, "timeout": timeout, "settle": settle, "drive": [drive_argv(d) for d in drive]}
    target = str(manifest) if isinstance(manifest, (str, Path)) else name
    recording = Recording(target, "cluster", _node_runtime(cluster), [node_arch()])
    try:
        install_seccomp_profile(AUDIT_PROFILE_FILE, audit_profile(), config=cluster)
        with AuditCollector() as audit:
            say(f"collector {audit.name} subscribed")
            try:
                for index in range(1, runs + 1):
                    with lab_namespace("record", cluster) as namespace:
                        _one_pod_run(audit, docs, name, namespace, index, opts, say, recording.runs)
            finally:
                recording.note_lost(audit.lost, audit.kernel_lost())
    except (LabError, KeyboardInterrupt) as exc:
        recording.keep_partial(exc, out)
        raise
    if out is not None:
        say(f"wrote {recording.write(out)}")
    return recording
