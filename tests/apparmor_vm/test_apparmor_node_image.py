"""The AppArmor kind node image, started the way kind starts a node (real Docker engine).

On this kind of host (no AppArmor LSM) it checks what the image changes and that loading a
profile fails with the clear CapabilityMissing error; on an AppArmor host it loads, lists and
unloads a shipped profile through `docker exec`.
"""
from __future__ import annotations

import time

import pytest

from labs.apparmor import (
    apparmor_support,
    load_profile_on_nodes,
    loaded_profiles,
    shipped_profile,
    unload_profile_on_nodes,
)
from labs.cluster.apparmor_image import ensure_apparmor_node_image
from labs.errors import CapabilityMissing
from labs.images import MANAGED_LABEL, image_exists
from labs.runner import run

from .budget import NODE_IMAGE_TEST, NODE_START

# the first test may build the AppArmor node image (cold)
pytestmark = pytest.mark.timeout(NODE_IMAGE_TEST)

BASE = "kindest/node:v1.34.4-offline"
NODE = "course-apparmor-node-probe"


@pytest.fixture(scope="module")
def node(announce):
    if not run(["docker", "info"], check=False, timeout=60).ok:
        pytest.skip("no Docker engine answers (make engine)")
    if not image_exists(BASE):
        pytest.skip(f"the offline node image {BASE} is not built on this machine (make node-image)")
    image = ensure_apparmor_node_image(BASE, progress=announce)
    run(["docker", "rm", "-f", NODE], check=False)
    run(["docker", "run", "-d", "--name", NODE, "--label", MANAGED_LABEL, "--privileged",
         "--cgroupns=private", "-v", "/var", "--tmpfs", "/run", "--tmpfs", "/tmp", image])
    try:
        deadline = time.monotonic() + NODE_START
        while not run(["docker", "exec", NODE, "systemctl", "is-active", "containerd"], check=False).ok:
            assert time.monotonic() < deadline, "containerd did not start in the AppArmor node"
            time.sleep(2)
        yield NODE
    finally:
        run(["docker", "rm", "-f", "-v", NODE], check=False)


def _environ(node: str, pid: str) -> list[str]:
    return run(["docker", "exec", node, "sh", "-c", f"tr '\\0' '\\n' < /proc/{pid}/environ"]).stdout.split("\n")


def test_containerd_sees_no_container_variable_but_the_node_does(node):
    pid = run(["docker", "exec", node, "pidof", "containerd"]).stdout.strip()
    assert "container=docker" in _environ(node, "1")
    assert not [v for v in _environ(node, pid) if v.startswith("container=")]


def test_node_has_apparmor_parser_and_mounts_securityfs_only_on_apparmor_kernels(node):
    support = apparmor_support(node)
    assert support.parser
    host_has_apparmor = run(["sh", "-c", "grep -q Y /sys/module/apparmor/parameters/enabled"],
                            check=False).ok
    assert support.kernel_enabled == host_has_apparmor
    assert support.securityfs == host_has_apparmor
    masked = run(["docker", "exec", node, "systemctl", "is-enabled", "apparmor.service"], check=False)
    assert masked.stdout.strip() == "masked"


def test_loading_a_profile_on_the_node(node):
    profile = shipped_profile("course-deny-etc-write")
    if not apparmor_support(node).kernel_enabled:
        with pytest.raises(CapabilityMissing) as info:
            load_profile_on_nodes(profile, nodes=[node])
        assert "kernel has no AppArmor" in info.value.message and node in info.value.message
        assert "`make cluster` gives the default cluster an AppArmor-capable node" in info.value.fix
        return
    assert load_profile_on_nodes(profile, nodes=[node]) == [node]
    assert loaded_profiles(node)["course-deny-etc-write"] == "enforce"
    unload_profile_on_nodes("course-deny-etc-write", nodes=[node])
    assert "course-deny-etc-write" not in loaded_profiles(node)
