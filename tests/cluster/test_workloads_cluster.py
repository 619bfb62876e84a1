"""Lesson 10's proof on the kind cluster: each program that is not nginx (a database, an
interpreted web service, a static binary) is recorded with ``record_manifest`` (driven from the
client pod, which reaches each run's fresh namespace by pod IP), and under that Localhost
profile the pod serves every step with ``Seccomp: 2`` while an exec'd probe outside its needs is
refused.

One run each, except pyweb's two merged (the cluster form of merging, as lesson 10 teaches):
one recording of busybox httpd (a child forked per request, gone within milliseconds) once
missed every child's syscalls with no problem reported, because the collector could not
attribute the exited children to the pod; the enforced httpd then reset every GET /. The
recorder now keeps and counts those records, so ONE run must serve."""
import sys
import uuid

import pytest

from labs.cluster import install_seccomp_profile, load_images, remove_seccomp_profile
from labs.lessons import asset
from labs.lessons.drive import pod_ip, start_client
from labs.lessons.workloads import WORKLOADS, pod_seccomp_mode, pod_steps
from labs.manifests import load_manifests, set_seccomp
from labs.pods import delete_pod, exec_in_pod, run_pod
from labs.seccomp.record_cluster import record_manifest

EPERM = "Operation not permitted"
RUNS = {"pyweb": 2}                                       # the others: one run
CHILDREN = {"static-httpd": {"dup2", "sendfile", "shutdown"}}   # made only by per-request children


@pytest.fixture(scope="module")
def workload_images(default_cluster):
    load_images([f"{w.image}:latest" for w in WORKLOADS.values()], "default")


@pytest.mark.parametrize("key", sorted(WORKLOADS))
def test_recorded_profile_enforces_on_the_cluster(key, namespace, workload_images):
    workload = WORKLOADS[key]
    client = start_client(namespace)
    manifest = asset("10", f"{key}-enforced.yaml")
    drive = [sys.executable, "-m", "labs.lessons.workloads", "drive-pod", key, namespace]
    recording = record_manifest(manifest, drive=[drive], runs=RUNS.get(key, 1))
    assert not recording.partial and recording.lost == 0, recording.problems
    assert len(recording.coverage()) == RUNS.get(key, 1)
    assert CHILDREN.get(key, set()) <= set(recording.syscalls()), recording.notes()
    assert workload.probe_syscall not in recording.syscalls()

    filename = f"test-{key}-{uuid.uuid4().hex[:8]}.json"
    install_seccomp_profile(filename, recording.profile())
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
