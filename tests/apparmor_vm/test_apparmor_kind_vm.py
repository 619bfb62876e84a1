"""The AppArmor kind node on a kernel WITH AppArmor: kind inside the QEMU guest (slow).

The node image built from clusters/apparmor/node-image is baked on the host into a docker
disk (labs.apparmor.docker_disk.build_docker_disk, cached by the image's id), so the guest's Docker
starts with it present instead of spending minutes in ``docker load``. kind creates the
cluster, a shipped profile is loaded on the node and a pod asks for it through
``securityContext.appArmorProfile``; the container's process must carry the profile.
Progress (each guest step and each kind line, with the guest's uptime) is announced live.
"""
from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import pytest
import yaml

from labs.apparmor import shipped_profile
from labs.apparmor.docker_disk import build_docker_disk
from labs.cluster.apparmor_image import ensure_apparmor_node_image
from labs.cluster.configs import get_config
from labs.cluster.versions import NODE_IMAGE
from labs.images import image_exists
from labs.lessons import POD_IMAGES
from labs.paths import tools_dir

from .budget import KIND_BOOT, KIND_GUEST_LIMITS, KIND_TEST
from .emulation import write_emulated_config

# cold, this one test builds the VM image, the AppArmor node image and the docker disk first
pytestmark = pytest.mark.timeout(KIND_TEST)

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
def laptop_kind_config(node_image: str) -> dict:
    """What `python -m labs.cluster ensure apparmor` would pass (the offline additions
    included)."""
    return yaml.safe_load(get_config("apparmor").kind_config_file(node_image).read_text())


@pytest.fixture(scope="module")
def kind_vm(vm_image, tmp_path_factory, announce, boot):
    if not image_exists(BASE):
        pytest.skip(f"the offline node image {BASE} is not built on this machine (make node-image)")
    kind = tools_dir() / "kind"
    if not kind.exists():
        pytest.skip(f"kind is not installed at {kind} (make cluster installs it)")
    timings = {"vm_image_build_s": vm_image.built_seconds}
    started = time.monotonic()
    node_image = ensure_apparmor_node_image(BASE, progress=announce)
    timings["node_image_s"] = round(time.monotonic() - started, 1)
    disk = build_docker_disk([node_image, *POD_IMAGES], log=announce)   # the learner host's disk
    timings["docker_disk_build_s"] = disk.built_seconds
    share = tmp_path_factory.mktemp("apparmor-kind-vm")
    (share / "node-image").write_text(node_image)
    (share / "limits").write_text("".join(f"{k}={v}\n" for k, v in KIND_GUEST_LIMITS.items()))
    (share / "bin").mkdir()
    shutil.copy(kind, share / "bin" / "kind")
    write_emulated_config(share, laptop_kind_config(node_image), "cluster.yaml")
    shutil.copy(shipped_profile("course-nginx-deny-write"), share / "profile")
    (share / "pod.yaml").write_text(POD)
    shutil.copy(GUEST / "kind_node.sh", share / "guest.sh")
    shutil.copy(GUEST / "docker_up.sh", share / "docker_up.sh")
    for name in ("node_watch.py", "node_watch.sh"):
        shutil.copy(GUEST / name, share / name)
    announce(f"booting the VM for kind (timeout {KIND_BOOT}s; kind --wait "
             f"{KIND_GUEST_LIMITS['KIND_WAIT']}s, pod {KIND_GUEST_LIMITS['POD_WAIT']}s)")
    vm = boot(vm_image, share, disks=(disk.path,), memory_mb=6144, timeout=KIND_BOOT,
                 follow=("guest.log", "kind.log", "node-watch.log"))
    timings["boot_to_done_s"] = vm.seconds

    def read(name: str) -> str:
        return (share / name).read_text(errors="replace") if (share / name).exists() else ""

    steps = {m[0]: float(m[1]) for m in re.findall(r"^STEP (\S+) ([\d.]+)$", vm.guest_log, re.M)}
    facts = dict(re.findall(r"^FACT (\w+)=(.*)$", vm.guest_log, re.M))
    announce(f"kind VM: {timings}; guest uptime at each step: {steps}")
    return {"vm": vm, "steps": steps, "facts": facts, "timings": timings,
            "kind_log": read("kind.log"), "watch": read("node-watch.log"), "diag": read("node-diag.log")}


@pytest.mark.slow
def test_pod_runs_confined_by_a_localhost_profile_on_the_apparmor_node(kind_vm):
    vm, facts = kind_vm["vm"], kind_vm["facts"]
    assert vm.exit_status == 0, (f"guest exit {vm.exit_status}\n{vm.guest_log[-2000:]}\n"
                                 f"== kind.log (tail)\n{kind_vm['kind_log'][-2500:]}\n"
                                 f"== node-watch.log (tail)\n{kind_vm['watch'][-4000:]}\n"
                                 f"== node-diag.log\n{kind_vm['diag'][-3000:]}")
    assert facts["node_apparmor"] == "Y" and facts["node_securityfs"] == "yes"
    assert facts["pod_field"] == "course-nginx-deny-write"
    assert facts["pod_label"] == "course-nginx-deny-write (enforce)"
    assert facts["cm_renew_deadline"] == "--leader-elect-renew-deadline=60s"   # the TCG patches applied
    assert facts["apiserver_liveness"] == "failureThreshold: 60"
    assert facts["apiserver_etcd_check"] == "--etcd-healthcheck-timeout=30s"
