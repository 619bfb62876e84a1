"""labs.pods, labs.namespaces and labs.pod_audit against the real kind cluster.

Needs: the default cluster (`make cluster`) and the course images (`make images`), which the
tier's session fixture loads into the nodes. Every test works in its own lab namespace.
"""
import json
import subprocess
import time
import uuid

import pytest

from labs.audit import AuditCollector
from labs.errors import LabTimeout, ManifestError, WorkloadFailed
from labs.manifests import MANAGED_LABEL, load_manifests, set_apparmor, set_seccomp
from labs.namespaces import LAB_NAMESPACE_LABEL, OWNER_ANNOTATION, lab_namespace, owner_token, sweep_stale_namespaces
from labs.pod_audit import AUDIT_PROFILE_FILE, audit_pod, container_ids
from labs.pods import (
    PodSecurityRejected,
    apply_manifest,
    core_api,
    delete_pod,
    exec_in_pod,
    pod_logs,
    read_pod,
    run_pod,
    wait_for_pod,
)
from tests.cluster.crash_logs import log_showing

pytestmark = pytest.mark.usefixtures("default_cluster")   # tests/cluster/conftest.py


@pytest.fixture
def manifest(data_dir):
    return lambda name: data_dir / "manifests" / name


# ------------------------------------------------------------------ namespaces

def test_lab_namespace_is_labelled_and_deleted():
    api = core_api()
    with lab_namespace("Test Namespace!") as name:
        assert name.startswith("test-namespace-")
        meta = api.read_namespace(name).metadata
        assert meta.labels[MANAGED_LABEL[0]] == MANAGED_LABEL[1]
        assert meta.labels[LAB_NAMESPACE_LABEL[0]] == LAB_NAMESPACE_LABEL[1]
    gone = [n for n in api.list_namespace().items if n.metadata.name == name]
    assert not gone or gone[0].status.phase == "Terminating"


def test_stale_namespace_of_a_dead_process_is_swept():
    dead = subprocess.Popen(["true"])
    dead.wait()
    name = f"test-stale-{uuid.uuid4().hex[:6]}"
    core_api().create_namespace({"metadata": {
        "name": name, "labels": dict([MANAGED_LABEL, LAB_NAMESPACE_LABEL]),
        "annotations": {OWNER_ANNOTATION: owner_token(dead.pid)}}})
    assert name in sweep_stale_namespaces()
    with lab_namespace("test-live") as live:
        assert live not in sweep_stale_namespaces(), "a namespace whose owner runs must stay"


# ------------------------------------------------------------------ apply, wait, exec, logs, delete

def test_apply_wait_exec_logs_delete(namespace, manifest):
    applied = apply_manifest(manifest("logger-pod.yaml"), namespace)
    assert [(o["kind"], o["metadata"]["namespace"]) for o in applied] == [("Pod", namespace)]
    assert applied[0]["metadata"]["labels"][MANAGED_LABEL[0]] == "true"
    again = apply_manifest(manifest("logger-pod.yaml"), namespace)
    assert again[0]["metadata"]["uid"] == applied[0]["metadata"]["uid"], "re-applying changes nothing"

    outcome = wait_for_pod("logger", namespace, timeout=120)
    assert (outcome.ok, outcome.reason, outcome.phase, outcome.ready) == (True, "Running", "Running", True)
    assert outcome.containers == {"tools": "running, ready"}
    assert any("Started" in e for e in outcome.events)

    status = exec_in_pod("logger", namespace, ["cat", "/proc/1/status"])
    assert status.returncode == 0 and "Seccomp:" in status.stdout
    failed = exec_in_pod("logger", namespace, ["sh", "-c", "echo oops >&2; exit 7"])
    assert (failed.returncode, failed.stderr.strip()) == (7, "oops")
    missing = exec_in_pod("logger", namespace, ["no-such-binary"])
    assert missing.returncode == 127 and "no-such-binary" in missing.error
    with pytest.raises(WorkloadFailed) as err:
        exec_in_pod("logger", namespace, ["false"], check=True)
    assert err.value.reason == "NonZeroExitCode"

    with pytest.raises(WorkloadFailed, match="container nope is not valid") as err:
        exec_in_pod("logger", namespace, ["true"], container="nope")
    assert err.value.reason == "ExecFailed"

    changed = load_manifests(manifest("logger-pod.yaml"))[0]
    changed["spec"]["containers"][0]["command"] = ["sleep", "5"]
    with pytest.raises(ManifestError) as err:
        apply_manifest(changed, namespace)
    assert "delete_pod" in err.value.fix

    assert pod_logs("logger", namespace) == "hello from the logger pod\n"
    delete_pod("logger", namespace)
    with pytest.raises(WorkloadFailed) as err:
        wait_for_pod("logger", namespace, timeout=5)
    assert err.value.reason == "NotFound"
    delete_pod("logger", namespace)   # deleting a missing pod is fine
    with pytest.raises(WorkloadFailed) as err:
        exec_in_pod("logger", namespace, ["true"])
    assert err.value.reason == "NotFound"
    with pytest.raises(WorkloadFailed) as err:
        pod_logs("logger", namespace)
    assert err.value.reason == "NotFound"


def test_multi_document_manifest_with_deployment(namespace, manifest):
    kinds = [o["kind"] for o in apply_manifest(manifest("web-stack.yaml"), namespace)]
    assert kinds == ["ConfigMap", "Deployment", "Service"]
    deadline = time.monotonic() + 60
    while not (pods := core_api().list_namespaced_pod(namespace, label_selector="app=web").items):
        assert time.monotonic() < deadline, "the Deployment made no pod in 60 s"
        time.sleep(0.5)
    assert pods[0].metadata.labels[MANAGED_LABEL[0]] == "true", "pods made from the template carry the label"
    assert wait_for_pod(pods[0].metadata.name, namespace, timeout=120).reason == "Running"


def test_timeout_reports_status_and_events(namespace, manifest):
    doc = load_manifests(manifest("logger-pod.yaml"))[0]
    doc["spec"]["initContainers"] = [{"name": "slow", "image": "course/tools:latest",
                                      "imagePullPolicy": "Never", "command": ["sleep", "60"]}]
    apply_manifest(doc, namespace)
    with pytest.raises(LabTimeout) as err:
        wait_for_pod("logger", namespace, timeout=3)
    assert "not ready after 3s" in err.value.message and "slow: " in err.value.message


# ------------------------------------------------------------------ failure reasons

def test_missing_localhost_profile(namespace, manifest):
    doc = set_seccomp(load_manifests(manifest("logger-pod.yaml"))[0], "Localhost",
                      f"profiles/course-missing-{uuid.uuid4().hex[:6]}.json")
    outcome = run_pod(doc, namespace, timeout=90)
    assert (outcome.ok, outcome.reason) == (False, "CreateContainerError"), str(outcome)
    assert "cannot load seccomp profile" in outcome.message, str(outcome)
    assert "install_seccomp_profile" in outcome.fix


def test_crashing_container_backs_off(namespace, manifest):
    outcome = run_pod(manifest("crash-pod.yaml"), namespace, timeout=90)
    assert (outcome.ok, outcome.reason) == (False, "CrashLoopBackOff"), str(outcome)
    assert log_showing("crasher", namespace, "about to fail") == "about to fail\n"
    with pytest.raises(WorkloadFailed) as err:
        outcome.raise_for_failure()
    assert err.value.reason == "CrashLoopBackOff"


def test_failed_run_once_pod_reports_exit_code(namespace, manifest):
    doc = load_manifests(manifest("crash-pod.yaml"))[0]
    doc["spec"]["restartPolicy"] = "Never"
    outcome = run_pod(doc, namespace, timeout=90, until="completed")
    assert (outcome.ok, outcome.phase, outcome.reason) == (False, "Failed", "Error"), str(outcome)
    assert outcome.containers == {"tools": "terminated: Error (exit 3)"}


def test_image_not_on_node(namespace, manifest):
    doc = load_manifests(manifest("logger-pod.yaml"))[0]
    doc["spec"]["containers"][0]["image"] = f"course/not-built-{uuid.uuid4().hex[:6]}:latest"
    outcome = run_pod(doc, namespace, timeout=90)
    assert outcome.reason == "ErrImageNeverPull", str(outcome)
    assert "load_images" in outcome.fix


def test_unschedulable(namespace, manifest):
    doc = load_manifests(manifest("logger-pod.yaml"))[0]
    doc["spec"]["nodeSelector"] = {"course.seccomp-lab/no-such-node": "true"}
    outcome = run_pod(doc, namespace, timeout=90)
    assert outcome.reason == "Unschedulable" and "node" in outcome.message, str(outcome)


@pytest.mark.parametrize("style", ["field", "annotation"])
def test_apparmor_profile_the_node_cannot_apply_is_rejected(namespace, manifest, style):
    # Without the AppArmor LSM the kubelet rejects the pod (Failed, reason AppArmor); with it,
    # the profile is not loaded and containerd cannot create the container. Kubernetes' own
    # reasons are reported, whichever way the manifest asks for AppArmor.
    doc = set_apparmor(load_manifests(manifest("logger-pod.yaml"))[0], "Localhost",
                       f"course-missing-{uuid.uuid4().hex[:6]}", style=style)
    outcome = run_pod(doc, namespace, timeout=90)
    rejected = (outcome.phase, outcome.reason) == ("Failed", "AppArmor")
    not_loaded = outcome.reason == "CreateContainerError"
    assert not outcome.ok and (rejected or not_loaded), str(outcome)
    assert "apparmor" in outcome.message.lower()


def test_restricted_namespace_rejects_privileged_pod(manifest):
    with lab_namespace("test-restricted", pod_security="restricted") as namespace:
        with pytest.raises(PodSecurityRejected) as err:
            apply_manifest(manifest("privileged-pod.yaml"), namespace)
        text = " ".join(err.value.violations)
        for words in ("privileged", "host namespaces", "hostPath", "allowPrivilegeEscalation"):
            assert words in text, err.value.violations
        assert "check_pod_security" in err.value.fix

        outcome = run_pod(manifest("privileged-pod.yaml"), namespace)
        assert (outcome.ok, outcome.reason) == (False, "PodSecurityRejected")
        assert run_pod(manifest("restricted-pod.yaml"), namespace, timeout=120).reason == "Running"


# ------------------------------------------------------------------ per-pod audit

def test_audit_of_one_pod_ignores_a_noisy_neighbour(namespace, manifest):
    noisy = set_seccomp(load_manifests(manifest("noisy-pod.yaml"))[0], "Localhost",
                        f"profiles/{AUDIT_PROFILE_FILE}")
    with AuditCollector() as witness:
        # audit_pod installs the audit profile before its pod starts; the neighbour starts
        # inside that audit, once the profile is on the node.
        def drive(pod, ns):
            apply_manifest(noisy, ns)
            assert wait_for_pod("noisy", ns, timeout=120).ok
            fetched = exec_in_pod(pod, ns, ["curl", "-s", "http://127.0.0.1/"])
            assert fetched.stdout == "hello from the course nginx\n"

        audit = audit_pod(manifest("nginx-pod.yaml"), namespace, drive=drive, seconds=2)
        noisy_ids = list(container_ids(read_pod("noisy", namespace)))
        neighbour = witness.syscalls(noisy_ids)

    assert audit.outcome.reason == "Running" and audit.lost == 0, audit.warnings
    assert list(audit.syscalls) == ["nginx"]
    nginx = audit.syscalls["nginx"]
    assert {"execve", "accept4", "connect"} <= set(nginx), sorted(nginx)   # nginx start, serve; curl
    assert {"mkdir", "rmdir"} <= set(neighbour), "the neighbour was really logging meanwhile"
    assert "rmdir" not in nginx, "the neighbour's syscalls leaked into the audited pod"
    assert audit.timeline[0][0] == 0.0 and audit.coverage()[-1][1] == len(nginx)
    json.loads(audit.to_json())
