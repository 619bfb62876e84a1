"""The AppArmor kind node on a kernel WITH AppArmor: its kubelet confines a pod (QEMU guest, slow).

The node image built from clusters/apparmor/node-image is baked on the host into a docker disk
(labs.apparmor.docker_disk.build_docker_disk, cached by the image's id), so the guest's Docker
starts with it present. The guest starts the node the way kind does, loads a shipped profile
with the node's apparmor_parser, and runs the node's own kubelet standalone with a static pod
asking for the profile through ``securityContext.appArmorProfile``: the kubelet's translation
to the CRI, containerd's OCI spec and the kernel's label on the container's process are the
facts checked.

Why no control plane here: under software emulation on a slow 2-core machine, kind's control
plane did not come up within kubeadm's 10-minute wait (CI, stop 17: /livez 500 throughout; with
the API server's etcd waits raised, its post-start hooks then timed out on etcd and it exited,
measured on a guest throttled to one host core). The whole cluster in the guest, with the
course's own code, is the learner host (test_apparmor_learner_host.py, `make test-apparmor-vm`).
Progress (each guest step, with the guest's uptime) is announced live.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from labs.apparmor import shipped_profile

from .budget import KUBELET_BOOT, KUBELET_GUEST_LIMITS, KUBELET_TEST

# cold, this one test builds the VM image, the AppArmor node image and the docker disk first.
# make test-apparmor-vm only: in make test the worker node (test_apparmor_worker_node.py) runs
# the same node's kubelet, with a real API server, and checks the same label
pytestmark = [pytest.mark.timeout(KUBELET_TEST), pytest.mark.learner_host]

GUEST = Path(__file__).resolve().parent / "guest"
PROFILE = "course-nginx-deny-write"
#: the static pod: host network (no CNI without a control plane), the pause image the node has
POD = f"""apiVersion: v1
kind: Pod
metadata: {{name: course-apparmor-probe, namespace: default}}
spec:
  hostNetwork: true
  containers:
  - name: probe
    image: "@IMAGE@"
    imagePullPolicy: Never
    securityContext:
      appArmorProfile: {{type: Localhost, localhostProfile: {PROFILE}}}
"""
#: the kubelet without an API server: static pods only, no client certificates to check
KUBELET_CONFIG = """apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
staticPodPath: /etc/kubernetes/manifests
containerRuntimeEndpoint: unix:///run/containerd/containerd.sock
cgroupDriver: systemd
cgroupRoot: /kubelet
failSwapOn: false
authentication:
  anonymous: {enabled: true}
  webhook: {enabled: false}
authorization: {mode: AlwaysAllow}
evictionHard: {imagefs.available: "0%", nodefs.available: "0%", nodefs.inodesFree: "0%"}
imageGCHighThresholdPercent: 100
healthzBindAddress: 127.0.0.1
"""


@pytest.fixture(scope="module")
def kubelet_vm(vm_image, node_disk, tmp_path_factory, announce, boot):
    node_image, disk, built = node_disk
    timings = dict(built)
    share = tmp_path_factory.mktemp("apparmor-kubelet-vm")
    (share / "node-image").write_text(node_image)
    (share / "limits").write_text("".join(f"{k}={v}\n" for k, v in KUBELET_GUEST_LIMITS.items()))
    (share / "kubelet.yaml").write_text(KUBELET_CONFIG)
    shutil.copy(shipped_profile(PROFILE), share / "profile")
    (share / "pod.yaml").write_text(POD)
    shutil.copy(GUEST / "kubelet_node.sh", share / "guest.sh")
    for name in ("docker_up.sh", "node_watch.py", "node_watch.sh"):
        shutil.copy(GUEST / name, share / name)
    announce(f"booting the VM for the node's kubelet (timeout {KUBELET_BOOT}s; guest waits {KUBELET_GUEST_LIMITS})")
    vm = boot(vm_image, share, disks=(disk.path,), memory_mb=4096, timeout=KUBELET_BOOT,
              follow=("guest.log", "node-watch.log"))
    timings["boot_to_done_s"] = vm.seconds

    def read(name: str) -> str:
        return (share / name).read_text(errors="replace") if (share / name).exists() else ""

    steps = {m[0]: float(m[1]) for m in re.findall(r"^STEP (\S+) ([\d.]+)$", vm.guest_log, re.M)}
    facts = dict(re.findall(r"^FACT (\w+)=(.*)$", vm.guest_log, re.M))
    announce(f"kubelet VM: {timings}; guest uptime at each step: {steps}")
    return {"vm": vm, "facts": facts, "watch": read("node-watch.log"), "diag": read("node-diag.log")}


@pytest.mark.slow
def test_the_nodes_kubelet_confines_a_pod_with_a_localhost_profile(kubelet_vm):
    vm, facts = kubelet_vm["vm"], kubelet_vm["facts"]
    assert vm.exit_status == 0, (f"guest exit {vm.exit_status}\n{vm.guest_log[-2500:]}\n"
                                 f"== node-watch.log (tail)\n{kubelet_vm['watch'][-3000:]}\n"
                                 f"== node-diag.log\n{kubelet_vm['diag'][-4000:]}")
    assert facts["node_apparmor"] == "Y" and facts["node_securityfs"] == "yes"
    assert facts["oci_apparmor"] == PROFILE           # kubelet -> CRI -> containerd's OCI spec
    assert facts["pod_label"] == f"{PROFILE} (enforce)"   # what the kernel enforces
