"""08-cluster-scale: a DaemonSet that installs a seccomp profile on every node.

The grader never applies the submitted DaemonSet: it runs its own installer template with
the submitted profile (ConfigMap data) and scheduling fields (tolerations, nodeSelector,
affinity), writing to a per-run node folder, then proves every node can run a pod with it.
"""
from __future__ import annotations

import copy
import json

from labs.cluster import Cluster, get_cluster
from labs.errors import LabError, ManifestError
from labs.names import KUBELET_SECCOMP_DIR, NODE_PROFILES_DIR, localhost_profile
from labs.seccomp import load_profile

from ..checks import live
from ..checks.seccomp import require_denies_by_default
from ..context import Exercise
from ..files import parse_json
from ..model import Check
from ..policy import require_safe

CONTROL_PLANE_TAINT = "node-role.kubernetes.io/control-plane"


def _objects(ctx) -> tuple[dict, dict]:
    docs = ctx.yaml("install")
    require_safe(docs, ctx.filename("install"), allowed_host_paths=(KUBELET_SECCOMP_DIR,))
    kinds = sorted(str(d.get("kind")) for d in docs)
    if kinds != ["ConfigMap", "DaemonSet"]:
        raise ManifestError(f"install.yaml must hold one ConfigMap and one DaemonSet (found {', '.join(kinds)})",
                            fix="put the profile in a ConfigMap and mount it in the DaemonSet")
    return next(d for d in docs if d["kind"] == "ConfigMap"), next(d for d in docs if d["kind"] == "DaemonSet")


def _profiles(ctx) -> dict[str, dict]:
    def parse():
        data = _objects(ctx)[0].get("data") or {}
        found = {k: load_profile(parse_json(str(v), f"ConfigMap key {k}"))
                 for k, v in data.items() if k.endswith(".json")}
        if not found:
            raise ManifestError("the ConfigMap has no *.json profile",
                                fix="put your profile under a key like nginx.json")
        for profile in found.values():
            require_denies_by_default(profile)
        return found
    return ctx.memo("profiles", parse)


def _shape(ctx) -> str:
    configmap, ds = _objects(ctx)
    spec = ds["spec"]["template"]["spec"]
    paths = [str((v.get("hostPath") or {}).get("path")) for v in spec.get("volumes") or [] if "hostPath" in v]
    if not paths:
        raise ManifestError("the DaemonSet mounts no node folder", fix=f"mount a hostPath under {NODE_PROFILES_DIR}")
    maps = [v["configMap"].get("name") for v in spec.get("volumes") or [] if "configMap" in v]
    if configmap["metadata"].get("name") not in maps:
        raise ManifestError("the DaemonSet does not mount the ConfigMap", fix="add a configMap volume with its name")
    tolerations = spec.get("tolerations") or []
    if not any(t.get("operator") == "Exists" and not t.get("key") or t.get("key") == CONTROL_PLANE_TAINT
               for t in tolerations):
        raise ManifestError("no toleration for the control-plane taint: that node would not get the profile",
                            fix=f"tolerate {CONTROL_PLANE_TAINT} (effect NoSchedule)")
    return f"DaemonSet writes to {paths[0]} and runs on every node, control plane included"


def _target_cluster(ctx) -> Cluster:
    """The multi-node cluster when it runs (its own Cluster object: the run's context keeps
    its cluster for every other check), else the run's cluster with the nodes it has."""
    from labs.rollout import nodes_ready  # slow import: the kubernetes client

    multi = get_cluster("multi-node")
    try:
        nodes_ready(multi, timeout=5)
        return multi
    except Exception:  # noqa: BLE001 - not running: use the run's cluster
        return ctx.cluster


def _every_node(ctx) -> str:
    from labs.pods import apply_manifest  # the Kubernetes client: slow to import, live checks only
    from labs.rollout import wait_for_rollout  # slow import: the kubernetes client

    live.require_cluster(ctx)
    cluster = _target_cluster(ctx)
    configmap, ds = _objects(ctx)
    target = f"{NODE_PROFILES_DIR}/grader-{ctx.token}"
    installer = live.template("installer-daemonset.yaml", TARGET=target)
    pod_spec = installer["spec"]["template"]["spec"]
    submitted = ds["spec"]["template"]["spec"]
    for key in ("tolerations", "nodeSelector", "affinity"):
        if key in submitted:
            pod_spec[key] = copy.deepcopy(submitted[key])
    installer["metadata"].setdefault("labels", {})[live.TOKEN_LABEL] = ctx.token
    profiles = {k: json.dumps(v) for k, v in _profiles(ctx).items()}
    namespace = live.grading_namespace(ctx, cluster=cluster)
    apply_manifest({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "profiles"}, "data": profiles},
                   namespace, config=cluster)
    apply_manifest(installer, namespace, config=cluster)
    nodes = cluster.nodes()
    rollout = wait_for_rollout("DaemonSet", "profile-installer", namespace, expected=len(nodes), config=cluster)
    if not rollout.ok:
        raise LabError(f"the installer runs on {rollout.ready} of {len(nodes)} nodes",
                       fix="tolerations decide which nodes a DaemonSet may use")
    first = sorted(profiles)[0]
    for node in nodes:
        pod = live.template("sleeper-pod.yaml")
        pod["metadata"]["name"] = f"on-{node}"[:63]
        pod["spec"]["nodeName"] = node
        pod["spec"]["tolerations"] = [{"operator": "Exists"}]
        pod["spec"]["containers"][0]["securityContext"] = {
            "seccompProfile": {"type": "Localhost",
                               "localhostProfile": localhost_profile(f"grader-{ctx.token}/{first}")}}
        live.run_pod(ctx, pod, cluster=cluster)
    return f"{first} is installed on all {len(nodes)} nodes ({cluster} cluster) and a pod runs under it on each"


EXERCISE = Exercise(
    id="08-cluster-scale",
    title="Put the profile on every node",
    files={"install": "install.yaml"},
    checks=(
        Check("manifest-safe", "install.yaml: a ConfigMap and a DaemonSet, nothing refused", 1,
              lambda ctx: (_objects(ctx), "ConfigMap + DaemonSet")[1],
              hint=f"the only node folder a submission may mount is under {KUBELET_SECCOMP_DIR}"),
        Check("profile-valid", "the ConfigMap holds valid deny-by-default profiles", 1,
              lambda ctx: f"{len(_profiles(ctx))} profile(s) valid", needs=("manifest-safe",),
              hint="an audit (SCMP_ACT_LOG) or staging profile only logs: the ConfigMap must carry an "
                   "enforcing profile (defaultAction SCMP_ACT_ERRNO), e.g. the one the lesson installed"),
        Check("daemonset-shape", "mounts profile + node folder, tolerates the control plane", 2, _shape,
              needs=("manifest-safe",),
              hint="`kubectl describe node <control-plane node> | grep Taints` shows the taint the "
                   "DaemonSet's tolerations must match (key node-role.kubernetes.io/control-plane)"),
        Check("every-node", "the profile lands on every node and pods run under it", 3, _every_node,
              live=True, needs=("profile-valid", "daemonset-shape"),
              hint="the check's pod runs `sleep` under your profile on each node: a profile built from an "
                   "nginx audit alone may lack what sleep needs (the lesson's course-scale profile runs both)"),
    ),
)
