"""The pure parts of the cluster helpers: recipe parsing, configs, status parsing.

No cluster needed; they live in this tier because they belong to labs.cluster's recipe.
"""
from __future__ import annotations

import pytest
import yaml

from labs.cluster.configs import CONFIGS, get_config
from labs.cluster.gobuild import go_version_tuple, staging_modules, version_ldflags
from labs.cluster.lifecycle import node_readiness, parse_node_rows, pods_not_running
from labs.cluster.nodeimage import component_dockerfile, etcd_version, node_dockerfile, parse_image_list
from labs.cluster.nodes import parse_capabilities
from labs.cluster.rootfs import node_packages
from labs.cluster.versions import staging_version
from labs.errors import LabError

KUBEADM_LIST = """\
registry.k8s.io/kube-apiserver:v1.34.4
registry.k8s.io/kube-controller-manager:v1.34.4
registry.k8s.io/kube-scheduler:v1.34.4
registry.k8s.io/kube-proxy:v1.34.4
registry.k8s.io/coredns/coredns:v1.12.1
registry.k8s.io/pause:3.10.1
registry.k8s.io/etcd:3.6.5-0
"""


def test_parse_image_list_names_each_component():
    images = parse_image_list("W1128 warning: falling back\n" + KUBEADM_LIST)
    assert images["etcd"] == "registry.k8s.io/etcd:3.6.5-0"
    assert images["coredns"] == "registry.k8s.io/coredns/coredns:v1.12.1"
    assert images["pause"] == "registry.k8s.io/pause:3.10.1"
    assert len(images) == 7


def test_etcd_version_drops_the_image_revision():
    assert etcd_version("registry.k8s.io/etcd:3.6.5-0") == "v3.6.5"


def test_staging_version_and_ldflags_follow_the_kubernetes_version():
    assert staging_version("v1.34.4") == "v0.34.4"
    flags = version_ldflags("v1.34.4")
    assert "-X k8s.io/component-base/version.gitVersion=v1.34.4" in flags
    assert "-X k8s.io/client-go/pkg/version.gitMinor=34" in flags
    with pytest.raises(ValueError):
        staging_version("v2.0.0")


def test_go_version_tuple():
    assert go_version_tuple("go1.26.8") == (1, 26)
    assert go_version_tuple("go1.24rc1") == (1, 24)
    assert go_version_tuple("go1.19.8") < (1, 24)


def test_staging_modules_are_the_local_replaces_only():
    gomod = {"Replace": [
        {"Old": {"Path": "k8s.io/api"}, "New": {"Path": "./staging/src/k8s.io/api"}},
        {"Old": {"Path": "k8s.io/client-go"}, "New": {"Path": "./staging/src/k8s.io/client-go"}},
        {"Old": {"Path": "github.com/x/y"}, "New": {"Path": "github.com/x/y", "Version": "v1.0.0"}},
    ]}
    assert staging_modules(gomod) == ["k8s.io/api", "k8s.io/client-go"]
    assert staging_modules({}) == []


def test_dockerfiles():
    text = component_dockerfile("pause", user="65535:65535")
    assert text.startswith("FROM scratch\n") and "USER 65535:65535" in text
    assert 'ENTRYPOINT ["/usr/local/bin/pause"]' in text
    node = node_dockerfile("course-cluster/node-assembly:latest", "abc123")
    assert "STOPSIGNAL SIGRTMIN+3" in node and "course.seccomp-lab/recipe=abc123" in node
    assert "course.seccomp-lab/offline-node=true" in node   # what makes configs get the additions


def test_node_packages_drop_comments():
    assert node_packages("# a comment\nsystemd\n\ncontainerd  # runtime\n") == ["systemd", "containerd"]
    assert {"systemd", "containerd", "runc", "containernetworking-plugins"} <= set(node_packages())


def test_config_shapes():
    multi = yaml.safe_load(get_config("multi-node").file.read_text())
    assert [n["role"] for n in multi["nodes"]] == ["control-plane", "worker", "worker"]
    patches = [yaml.safe_load(p) for p in yaml.safe_load(get_config("seccomp-default").file.read_text())
               ["kubeadmConfigPatches"]]
    assert any(p["kind"] == "KubeletConfiguration" and p["seccompDefault"] is True for p in patches)
    names = {get_config(n).cluster_name for n in CONFIGS if get_config(n).file.is_file()}
    assert len(names) == len([n for n in CONFIGS if get_config(n).file.is_file()])   # all distinct


def test_unknown_config_says_which_exist():
    with pytest.raises(LabError, match="unknown cluster config") as info:
        get_config("nope")
    assert "default" in info.value.fix


def test_kubeconfig_per_config(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_STATE_DIR", str(tmp_path))
    assert get_config("default").kubeconfig == tmp_path / "kubeconfig"
    assert get_config("multi-node").kubeconfig == tmp_path / "kubeconfig-multi-node"


def test_status_parsing():
    rows = parse_node_rows("c-worker\trunning\tworker\nc-control-plane\texited\tcontrol-plane\n")
    assert [(n.name, n.container_state, n.role) for n in rows] == [
        ("c-control-plane", "exited", "control-plane"), ("c-worker", "running", "worker")]
    nodes = {"items": [
        {"metadata": {"name": "a"}, "status": {"conditions": [{"type": "Ready", "status": "True", "message": "ok"}]}},
        {"metadata": {"name": "b"}, "status": {"conditions": [
            {"type": "Ready", "status": "False", "message": "cni plugin not initialized"}]}},
    ]}
    assert node_readiness(nodes) == {"a": (True, "ok"), "b": (False, "cni plugin not initialized")}
    pods = {"items": [
        {"metadata": {"name": "etcd"}, "status": {"phase": "Running", "containerStatuses": [{"ready": True}]}},
        {"metadata": {"name": "api"}, "status": {"phase": "Running", "containerStatuses": [{"ready": False}]}},
        {"metadata": {"name": "sched"}, "status": {"phase": "Pending"}},
    ]}
    assert pods_not_running(pods) == ["api: Running", "sched: Pending"]


def test_capabilities_parsing():
    kind_node = parse_capabilities("n", "seccomp=1\napparmor_enabled=\nsecurityfs_apparmor=no\n"
                                        "apparmor_parser=no\ncontainerd_pid=184\ncontainer_env=\n")
    assert kind_node.seccomp and kind_node.containerd_running
    assert not kind_node.apparmor_lsm and not kind_node.containerd_apparmor
    capable = parse_capabilities("n", "seccomp=1\napparmor_enabled=Y\nsecurityfs_apparmor=yes\n"
                                      "apparmor_parser=yes\ncontainerd_pid=9\ncontainer_env=\n")
    assert capable.containerd_apparmor
    in_container = parse_capabilities("n", "seccomp=1\napparmor_enabled=Y\nsecurityfs_apparmor=yes\n"
                                           "apparmor_parser=yes\ncontainerd_pid=9\ncontainer_env=docker\n")
    assert not in_container.containerd_apparmor
