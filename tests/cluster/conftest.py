"""Fixtures of the cluster tier: one default cluster per session, one namespace per test.

The cluster is made by `make cluster` (python -m labs.cluster ensure default); the session
fixture only reuses it (or creates it when missing) and loads the lab images into its nodes.
"""
from __future__ import annotations

import shutil
import subprocess

import pytest

from labs.cluster import ensure_cluster, load_images

#: the lab images the docker tier builds (`make images`); pods use imagePullPolicy: Never
LAB_IMAGES = ["course/tools:latest", "course/nginx:latest"]


def _docker_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True).returncode == 0


@pytest.fixture(scope="session")
def default_cluster():
    """The default kind cluster, Ready, with the lab images loaded (a ClusterInfo)."""
    if not _docker_answers():
        pytest.skip("this machine has no running Docker engine (the cluster tier needs one)")
    info = ensure_cluster("default")
    load_images(LAB_IMAGES, "default")
    return info


@pytest.fixture
def namespace(default_cluster):
    """A fresh labelled namespace on the default cluster, deleted after the test."""
    from labs.namespaces import lab_namespace  # slow import: the kubernetes client
    with lab_namespace("test-cluster") as name:
        yield name
