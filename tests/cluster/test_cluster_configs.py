"""The other cluster shapes: multi-node (lesson 08) and kubelet seccompDefault.

Each test creates its cluster next to the default one and deletes it afterwards (about a
minute each on 2 cores), so `make test` proves the committed configs, not just the default.
"""
from __future__ import annotations

import json
import uuid

import pytest

from labs.cluster import (
    cluster_status,
    delete_cluster,
    ensure_cluster,
    install_seccomp_profile,
    installed_seccomp_profiles,
    load_images,
    node_names,
    remove_seccomp_profile,
)
from labs.manifests import load_manifests
from labs.pods import exec_in_pod, run_pod

pytestmark = pytest.mark.slow


@pytest.fixture
def temporary_cluster(default_cluster):
    """Create a config's cluster for one test, delete it afterwards (also on failure)."""
    made = []

    def make(config: str):
        made.append(config)
        return ensure_cluster(config)

    yield make
    for config in made:
        delete_cluster(config)
        assert not cluster_status(config).exists


def test_multi_node_cluster_gets_profiles_on_every_node(temporary_cluster, data_dir):
    info = temporary_cluster("multi-node")
    assert len(info.nodes) == 3
    roles = sorted(n.role for n in cluster_status("multi-node").nodes)
    assert roles == ["control-plane", "worker", "worker"]
    filename = f"test-multi-{uuid.uuid4().hex[:8]}.json"
    profile = json.loads((data_dir / "cluster" / "deny-mkdir.json").read_text())
    written = install_seccomp_profile(filename, profile, config="multi-node")
    assert written == node_names("multi-node")
    assert all(filename in installed_seccomp_profiles(node) for node in written)
    remove_seccomp_profile(filename, config="multi-node")
    assert not any(filename in installed_seccomp_profiles(node) for node in written)


def test_seccomp_default_cluster_filters_pods_without_a_profile(temporary_cluster, data_dir):
    from labs.namespaces import lab_namespace  # slow import: the kubernetes client
    temporary_cluster("seccomp-default")
    load_images(["course/tools:latest"], "seccomp-default")
    pod = load_manifests(data_dir / "cluster" / "sleeper-pod.yaml")[0]
    assert "securityContext" not in pod["spec"]
    with lab_namespace("test-seccomp-default", "seccomp-default") as namespace:
        outcome = run_pod(pod, namespace, config="seccomp-default")
        assert outcome.ok, outcome
        status = exec_in_pod("sleeper", namespace, ["grep", "^Seccomp:", "/proc/1/status"],
                             config="seccomp-default", check=True)
        assert status.stdout.split()[-1] == "2"
