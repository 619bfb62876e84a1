"""The AppArmor kind node on a kernel WITH AppArmor: kind inside the QEMU guest (slow, ~8 min).

Docker in the guest loads the node image built from clusters/apparmor/node-image, kind creates
the cluster, a shipped profile is loaded on the node and a pod asks for it through
``securityContext.appArmorProfile``; the container's process must carry the profile.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from labs.apparmor import shipped_profile
from labs.apparmor.node_image import ensure_apparmor_node_image
from labs.apparmor.vm import boot_vm
from labs.cluster.configs import get_config
from labs.cluster.paths import tools_dir
from labs.cluster.versions import NODE_IMAGE
from labs.images import image_exists
from labs.runner import run

GUEST = Path(__file__).resolve().parent / "guest"

BASE = NODE_IMAGE
POD = """apiVersion: v1
kind: Pod
metadata: {name: course-apparmor-probe}
spec:
  containers:
  - name: probe
    image: "@IMAGE@"
    imagePullPolicy: Never
    securityContext:
      appArmorProfile: {type: Localhost, localhostProfile: course-nginx-deny-write}
"""


@pytest.fixture(scope="module")
def kind_vm(vm_image, tmp_path_factory):
    if not image_exists(BASE):
        pytest.skip(f"the offline node image {BASE} is not built on this machine (make node-image)")
    kind = tools_dir() / "kind"
    if not kind.exists():
        pytest.skip(f"kind is not installed at {kind} (make cluster installs it)")
    node_image = ensure_apparmor_node_image(BASE)
    share = tmp_path_factory.mktemp("apparmor-kind-vm")
    run(["docker", "save", "-o", str(share / "node.tar"), node_image], timeout=600)
    (share / "node-image").write_text(node_image)
    (share / "bin").mkdir()
    shutil.copy(kind, share / "bin" / "kind")
    # what `python -m labs.cluster ensure apparmor` would pass: the offline additions included
    config = yaml.safe_load(get_config("apparmor").kind_config_file(node_image).read_text())
    # software emulation: the API server needs more than kubeadm's default 4 minutes to answer
    config["kubeadmConfigPatches"].append(
        "kind: ClusterConfiguration\napiServer:\n  timeoutForControlPlane: 20m\n")
    (share / "cluster.yaml").write_text(yaml.safe_dump(config))
    shutil.copy(shipped_profile("course-nginx-deny-write"), share / "profile")
    (share / "pod.yaml").write_text(POD)
    shutil.copy(GUEST / "kind_node.sh", share / "guest.sh")
    try:
        vm = boot_vm(vm_image, share, memory_mb=6144, timeout=2700)
    finally:
        (share / "node.tar").unlink()
    kind_log = (share / "kind.log").read_text() if (share / "kind.log").exists() else ""
    steps = {m[0]: float(m[1]) for m in re.findall(r"^STEP (\S+) ([\d.]+)$", vm.guest_log, re.M)}
    facts = dict(re.findall(r"^FACT (\w+)=(.*)$", vm.guest_log, re.M))
    print(f"[apparmor-kind-vm] {vm.seconds}s, guest uptime at each step: {steps}")
    return {"vm": vm, "steps": steps, "facts": facts, "kind_log": kind_log}


@pytest.mark.slow
def test_pod_runs_confined_by_a_localhost_profile_on_the_apparmor_node(kind_vm):
    vm, facts = kind_vm["vm"], kind_vm["facts"]
    assert vm.exit_status == 0, (f"guest exit {vm.exit_status}\n{vm.guest_log[-3000:]}\n"
                                 f"{kind_vm['kind_log'][-3000:]}")
    assert facts["node_apparmor"] == "Y" and facts["node_securityfs"] == "yes"
    assert facts["pod_field"] == "course-nginx-deny-write"
    assert facts["pod_label"] == "course-nginx-deny-write (enforce)"
