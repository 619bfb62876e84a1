"""The default cluster as `make cluster` leaves it: node image, versions, readiness,
course kubeconfig, node operations. Checks of the offline recipe are skipped on a cluster that
runs kind's release image (a machine where the registry answered)."""
from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import yaml

from labs.cluster import (
    KUBERNETES_VERSION,
    NODE_IMAGE,
    cluster_status,
    ensure_cluster,
    get_config,
    kubeconfig_path,
    kubectl,
    node_capabilities,
    node_names,
    write_node_file,
)
from labs.cluster.nodeimage import (
    SKIPPED_COMPONENTS,
    is_offline_node_image,
    node_image_hash,
    parse_image_list,
    recipe_hash,
)
from labs.paths import state_dir, tools_dir
from labs.runner import run


def test_ensure_reuses_the_ready_cluster(default_cluster):
    again = ensure_cluster("default")
    assert not again.created
    assert again.nodes == default_cluster.nodes
    status = cluster_status("default")
    assert status.exists and status.ready, status
    assert status.node_image == get_config("default").ensure_node_image()


@pytest.fixture(scope="module")
def offline_cluster(default_cluster):
    """The default cluster, when it runs the offline node image (as on machines with no registry)."""
    image = cluster_status("default").node_image
    if not is_offline_node_image(image):
        pytest.skip(f"the cluster runs kind's release image {image}: the offline recipe's checks do not apply")
    return default_cluster


def test_kind_got_the_config_that_fits_the_node_image(default_cluster):
    node = node_names()[0]
    conflists = run(["docker", "exec", node, "ls", "/etc/cni/net.d"]).stdout.split()
    image = cluster_status("default").node_image
    if is_offline_node_image(image):
        generated = yaml.safe_load(get_config("default").kind_config_file(image).read_text())
        assert generated["networking"]["disableDefaultCNI"] is True
        assert conflists == ["10-course-ptp.conflist"]    # written by the node, not by kindnetd
    else:
        assert "10-kindnet.conflist" in conflists


def test_kubeconfig_is_the_course_file_only(default_cluster):
    path = kubeconfig_path("default")
    assert path == state_dir() / "kubeconfig" and path.is_file()
    assert "kind-seccomp-course" in path.read_text()
    home_config = Path.home() / ".kube" / "config"
    if home_config.is_file():
        assert "kind-seccomp-course" not in home_config.read_text()


def test_the_cluster_runs_the_pinned_kubernetes(default_cluster):
    version = json.loads(kubectl(["version", "-o", "json"]).stdout)
    in_node = run(["docker", "exec", node_names()[0], "cat", "/kind/version"]).stdout.strip()
    minor = KUBERNETES_VERSION.rsplit(".", 1)[0] + "."
    assert version["serverVersion"]["gitVersion"] == in_node and in_node.startswith(minor)
    assert version["clientVersion"]["gitVersion"].startswith(minor)
    assert run([str(tools_dir() / "kind"), "version"]).stdout.startswith("kind v0.30.0 ")


def test_offline_build_runs_the_pinned_patch_release(offline_cluster):
    version = json.loads(kubectl(["version", "-o", "json"]).stdout)
    assert version["serverVersion"]["gitVersion"] == KUBERNETES_VERSION


def test_node_image_is_current_and_holds_every_needed_image(offline_cluster):
    assert cluster_status("default").node_image == NODE_IMAGE
    assert node_image_hash(NODE_IMAGE) == recipe_hash()
    node = node_names()[0]
    listed = run(["docker", "exec", node, "kubeadm", "config", "images", "list",
                  "--kubernetes-version", KUBERNETES_VERSION]).stdout
    wanted = {ref for name, ref in parse_image_list(listed).items() if name not in SKIPPED_COMPONENTS}
    present = set(run(["docker", "exec", node, "ctr", "-n", "k8s.io", "images", "ls", "-q"]).stdout.split())
    assert wanted and wanted <= present, wanted - present


def test_kube_system_runs_without_coredns_and_kube_proxy(offline_cluster):
    pods = json.loads(kubectl(["get", "pods", "-n", "kube-system", "-o", "json"]).stdout)["items"]
    names = {p["metadata"]["name"].rsplit("-", 1)[0] for p in pods}
    assert {"etcd-seccomp-course-control", "kube-apiserver-seccomp-course-control"} <= names
    assert all(p["status"]["phase"] == "Running" for p in pods)
    assert not any(p["metadata"]["name"].startswith(("coredns", "kube-proxy")) for p in pods)


def test_write_node_file_round_trips_bytes(default_cluster):
    node = node_names()[0]
    path = f"/tmp/course-test-{uuid.uuid4().hex[:8]}/data.bin"
    content = bytes(range(256))
    write_node_file(node, path, content)
    try:
        echoed = run(["docker", "exec", node, "od", "-An", "-tx1", "-v", path]).stdout.split()
        assert bytes(int(b, 16) for b in echoed) == content
    finally:
        run(["docker", "exec", node, "rm", "-rf", path.rsplit("/", 1)[0]])


def test_node_capabilities_match_the_node(default_cluster):
    host_apparmor = Path("/sys/module/apparmor/parameters/enabled")
    host_has_apparmor = host_apparmor.is_file() and host_apparmor.read_text().startswith("Y")
    for caps in node_capabilities("default"):
        assert caps.seccomp
        assert caps.apparmor_lsm == host_has_apparmor   # nodes share the host's kernel
        assert caps.containerd_running
        # PID 1 has container=docker, but systemd does not pass it on to containerd.service
        assert caps.container_env == ""
        # the default node image ships no apparmor_parser, so containerd never applies AppArmor
        assert not caps.apparmor_parser
        assert not caps.containerd_apparmor
