"""kind under software emulation (TCG): everything the learner host's cluster changes from a
laptop's kind config, in one place.

Two kinds of patience, both measured: kubeadm's control-plane wait and the leader-election
deadlines (kubeadm config patches), and the static pods' probes (a kubeadm patches directory
the node mounts from the guest's share; kubeadm's config has no field for probes).
"""
from __future__ import annotations

import copy
import json
from pathlib import Path

import yaml

from .budget import KUBEADM_CONTROL_PLANE

#: The controller-manager and the scheduler renew their leader lease within 10 s by default;
#: under emulation a renewal took longer ("failed to renew lease ...: context deadline
#: exceeded", then "leaderelection lost" and exit 1, seen 10 times in one learner-host boot),
#: and each restart's back-off left namespaces without a ServiceAccount.
LEADER_PATIENCE = ("  extraArgs:\n    leader-elect-lease-duration: \"90s\"\n"
                   "    leader-elect-renew-deadline: \"60s\"\n    leader-elect-retry-period: \"10s\"\n")
#: The node lifecycle controller taints a node whose kubelet has not renewed its lease for 50 s
#: (``--node-monitor-grace-period``): under emulation the renewals came late, and a pod of the
#: learner host stayed Unschedulable for 4 minutes ("1 node(s) had untolerated taint(s)", stop 19).
NODE_PATIENCE = "    node-monitor-grace-period: \"5m\"\n"
#: The API server's own waits for etcd. Its /livez includes an etcd check that times out after
#: 2 s (``--etcd-healthcheck-timeout``): under emulation it answered 500 for the whole of
#: kubeadm's 10-minute wait (CI, stop 17). And it exits when its storage is not initialized
#: within 1 minute (``--storage-initialization-timeout``): "problem initializing API group
#: storage.k8s.io: context deadline exceeded", exit 1, seen on a 1-core-throttled guest.
APISERVER_PATIENCE = ("  extraArgs:\n    etcd-healthcheck-timeout: \"30s\"\n    etcd-readycheck-timeout: \"30s\"\n"
                      "    storage-initialization-timeout: \"10m\"\n")
#: kind 0.30 writes kubeadm v1beta3 for Kubernetes 1.34, whose
#: ``apiServer.timeoutForControlPlane`` kubeadm 1.34 turns into the control-plane health check
#: timeout (default 4m). No durability either: the guest's disks are thrown away.
TCG_PATCHES = [
    "kind: ClusterConfiguration\n"
    f"apiServer:\n  timeoutForControlPlane: {KUBEADM_CONTROL_PLANE}s\n{APISERVER_PATIENCE}"
    "etcd:\n  local:\n    extraArgs:\n      unsafe-no-fsync: \"true\"\n"
    f"controllerManager:\n{LEADER_PATIENCE}{NODE_PATIENCE}scheduler:\n{LEADER_PATIENCE}",
]
#: kubeadm's static pods get startup and liveness probes that restart a component which is not
#: live within 4 minutes (startup) or 80 s (liveness). On a loaded 2-core host the emulated
#: kube-apiserver took longer, was restarted ~80 s after each start and never came up (seen
#: twice on the learner host; CI's kind-in-VM test, since replaced by the kubelet VM, then
#: failed with "kube-apiserver is not healthy after 10m0s"). kubeadm applies
#: ``<component>+strategic.yaml`` from the directory InitConfiguration's ``patches`` names.
PROBE_PATIENCE = {"startupProbe": {"failureThreshold": 120}, "livenessProbe": {"failureThreshold": 60}}
STATIC_POD_PATCHES = {
    f"{component}+strategic.yaml": json.dumps({"spec": {"containers": [{"name": component, **PROBE_PATIENCE}]}})
    for component in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd")
}
#: the share's kubeadm-patches directory as the guest sees it, and where kind mounts it in each node
GUEST_PATCHES = "/mnt/course/kubeadm-patches"
NODE_PATCHES = "/etc/course-kubeadm-patches"


def emulated_kind_config(document: dict) -> dict:
    """The kind config ``document`` with the emulation's kubeadm patches and the probe patches
    mounted into every node."""
    config = copy.deepcopy(document)
    config.setdefault("kubeadmConfigPatches", []).extend(
        [*TCG_PATCHES, f"kind: InitConfiguration\npatches:\n  directory: {NODE_PATCHES}\n"])
    for node in config["nodes"]:
        node.setdefault("extraMounts", []).append(
            {"hostPath": GUEST_PATCHES, "containerPath": NODE_PATCHES, "readOnly": True})
    return config


def write_emulated_config(share: Path, document: dict, name: str) -> None:
    """``share/name``: the emulated kind config; ``share/kubeadm-patches``: the probe patches."""
    (share / name).write_text(yaml.safe_dump(emulated_kind_config(document)))
    patches = share / "kubeadm-patches"
    patches.mkdir(exist_ok=True)
    for file_name, text in STATIC_POD_PATCHES.items():
        (patches / file_name).write_text(text)
