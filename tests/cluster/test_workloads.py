"""Lesson 10's proof on the kind cluster: each program that is not nginx (a database, an
interpreted web service, a static binary) is recorded with audit_pod (driven from the client
pod; merging runs is the Docker tier's proof), and under that Localhost profile the pod serves
every step with ``Seccomp: 2`` while an exec'd probe outside its needs is refused."""
import uuid

import pytest

from labs.cluster import install_seccomp_profile, load_images, remove_seccomp_profile
from labs.lessons import asset
from labs.lessons.drive import pod_ip, start_client
from labs.lessons.workloads import WORKLOADS, pod_seccomp_mode, pod_steps
from labs.manifests import load_manifests, set_seccomp
from labs.pod_audit import audit_pod
from labs.pods import delete_pod, exec_in_pod, run_pod
from labs.seccomp import build_profile

EPERM = "Operation not permitted"


@pytest.fixture(scope="module")
def workload_images(default_cluster):
    load_images([f"{w.image}:latest" for w in WORKLOADS.values()], "default")


@pytest.mark.parametrize("key", sorted(WORKLOADS))
def test_recorded_profile_enforces_on_the_cluster(key, namespace, workload_images):
    workload = WORKLOADS[key]
    client = start_client(namespace)
    drives = []

    def drive(name, ns):
        drives.append(pod_steps(workload, client, pod_ip(name, ns), ns))

    manifest = asset("10", f"{key}-enforced.yaml")
    recorded = audit_pod(manifest, namespace, drive=drive, seconds=1)
    assert drives[0].ok, drives[0]
    assert recorded.lost == 0 and recorded.all_syscalls(), recorded.warnings
    calls = recorded.all_syscalls()
    assert workload.probe_syscall not in calls

    filename = f"test-{key}-{uuid.uuid4().hex[:8]}.json"
    install_seccomp_profile(filename, build_profile(calls))
    try:
        pod = set_seccomp(load_manifests(manifest)[0], "Localhost", f"profiles/{filename}", container=key)
        outcome = run_pod(pod, namespace)
        assert outcome.ok, outcome
        served = pod_steps(workload, client, pod_ip(key, namespace), namespace)
        assert served.ok, f"{key} under its recorded profile:\n{served}"
        assert pod_seccomp_mode(key, namespace)[0] == "2"
        refused = exec_in_pod(key, namespace, list(workload.probe))
        assert refused.returncode != 0 and EPERM in refused.stderr + refused.stdout, refused
        delete_pod(key, namespace, grace_period=0)
    finally:
        remove_seccomp_profile(filename)
