"""The other cluster shapes: kubelet seccompDefault (multi-node is proven by lesson 08's
multi-node notebook test, tests/notebooks/test_lessons.py, so `make test` builds it once).

Each test creates its cluster next to the default one and deletes it afterwards (about a
minute on 2 cores), so `make test` proves the committed configs, not just the default.
"""
from __future__ import annotations

import pytest

from labs.cluster import (
    cluster_status,
    delete_cluster,
    ensure_cluster,
    load_images,
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
