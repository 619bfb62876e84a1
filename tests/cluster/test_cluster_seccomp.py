"""Seccomp on the real kind cluster: RuntimeDefault, a Localhost profile from the nodes' disk,
and the failure a pod gets when its Localhost profile is missing."""
from __future__ import annotations

import json
import uuid

import pytest

from labs.cluster import install_seccomp_profile, installed_seccomp_profiles, remove_seccomp_profile
from labs.manifests import load_manifests, set_seccomp
from labs.pods import _read_pod, exec_in_pod, run_pod


@pytest.fixture
def sleeper(data_dir):
    return load_manifests(data_dir / "cluster" / "sleeper-pod.yaml")[0]


@pytest.fixture
def deny_mkdir(data_dir, default_cluster):
    """A profile that allows everything but mkdir/mkdirat (EPERM), installed on every node."""
    filename = f"test-deny-mkdir-{uuid.uuid4().hex[:8]}.json"
    profile = json.loads((data_dir / "cluster" / "deny-mkdir.json").read_text())
    nodes = install_seccomp_profile(filename, profile)
    yield filename, nodes
    remove_seccomp_profile(filename)


def _seccomp_mode(namespace: str) -> str:
    status = exec_in_pod("sleeper", namespace, ["grep", "^Seccomp:", "/proc/1/status"], check=True)
    return status.stdout.split()[-1]


def test_runtime_default_pod_is_filtered(namespace, sleeper):
    outcome = run_pod(set_seccomp(sleeper, "RuntimeDefault"), namespace)
    assert outcome.ok, outcome
    assert _seccomp_mode(namespace) == "2"


def test_unconfined_pod_is_not_filtered(namespace, sleeper):
    # the control for the test above: without a profile the kernel reports mode 0
    outcome = run_pod(set_seccomp(sleeper, "Unconfined"), namespace)
    assert outcome.ok, outcome
    assert _seccomp_mode(namespace) == "0"


def test_localhost_profile_is_installed_and_enforced(namespace, sleeper, deny_mkdir):
    filename, nodes = deny_mkdir
    for node in nodes:
        assert filename in installed_seccomp_profiles(node)
    outcome = run_pod(set_seccomp(sleeper, "Localhost", f"profiles/{filename}"), namespace)
    assert outcome.ok, outcome
    assert _seccomp_mode(namespace) == "2"
    denied = exec_in_pod("sleeper", namespace, ["mkdir", "/tmp/blocked"])
    assert denied.returncode != 0
    assert "Operation not permitted" in denied.stderr
    allowed = exec_in_pod("sleeper", namespace, ["touch", "/tmp/allowed"])
    assert allowed.ok, allowed


def test_missing_localhost_profile_fails_with_the_profile_named(namespace, sleeper):
    missing = f"profiles/not-installed-{uuid.uuid4().hex[:8]}.json"
    outcome = run_pod(set_seccomp(sleeper, "Localhost", missing), namespace)
    assert not outcome.ok
    assert outcome.reason == "CreateContainerError", outcome
    assert missing in outcome.message
    waiting = _read_pod("sleeper", namespace, "default")["status"]["containerStatuses"][0]["state"]["waiting"]
    assert waiting["reason"] == "CreateContainerError"
