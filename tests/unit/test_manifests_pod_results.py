"""The pure parts of labs.pods, labs.namespaces and labs.pod_audit: reading pod statuses,
events, exec status, Pod Security rejections and audit records (no cluster).

Pod statuses under tests/data/manifests/pod-status/ were recorded from the kind cluster
(`kubectl get pod -o json`) in each failure state.
"""
import json
from collections import Counter

import pytest

from labs import pods
from labs.audit import SeccompRecord
from labs.errors import EnvironmentProblem, WorkloadFailed
from labs.namespaces import OWNER_ANNOTATION, is_stale, namespace_name, owner_token
from labs.paths import REPO_ROOT
from labs.pod_audit import PodAudit, container_ids, split_by_container
from labs.pods import (
    FIXES,
    SECCOMP_FILE_MISSING_FIX,
    ExecResult,
    PodOutcome,
    exec_returncode,
    fix_for,
    format_events,
    handshake_status,
    kubectl_apply_command,
    manifest_yaml,
    pod_outcome,
    pod_security_violations,
)
from labs.results import Applied


@pytest.fixture
def status(data_dir):
    def load(name):
        return json.loads((data_dir / "manifests" / "pod-status" / f"{name}.json").read_text())
    return load


@pytest.mark.parametrize("name, reason, final, ok", [
    ("running", "Running", True, True),
    ("initializing", "PodInitializing", False, False),
    ("missing-seccomp-profile", "CreateContainerError", True, False),   # Kubernetes' reason, not relabelled
    ("crashloop", "CrashLoopBackOff", True, False),
    ("failed-exit-3", "Error", True, False),
    ("never-one-failed", "Error", True, False),    # Running, but can never become Ready
    ("image-never-pull", "ErrImageNeverPull", True, False),
    ("unschedulable", "Unschedulable", True, False),
    ("succeeded", "Succeeded", True, True),
])
def test_recorded_statuses_are_classified(status, name, reason, final, ok):
    outcome, is_final = pod_outcome(status(name), ["Normal Scheduled: ok"])
    assert (outcome.reason, is_final, outcome.ok) == (reason, final, ok), outcome
    assert outcome.events == ["Normal Scheduled: ok"]
    assert outcome.fix == (None if ok or not final else fix_for(reason, outcome.message))
    if final and not ok:
        assert outcome.fix


def test_outcome_details(status):
    outcome, _ = pod_outcome(status("failed-exit-3"))
    assert outcome.containers == {"tools": "terminated: Error (exit 3)"}
    assert outcome.phase == "Failed" and not outcome.ready
    one_failed, _ = pod_outcome(status("never-one-failed"))
    assert one_failed.phase == "Running" and one_failed.message == "exit code 3"
    assert one_failed.containers == {"fails": "terminated: Error (exit 3)", "keeps-running": "running, ready"}
    assert not one_failed.ready   # the pod is not: one of its containers is gone for good
    missing, _ = pod_outcome(status("missing-seccomp-profile"))
    assert "seccomp" in missing.message and missing.node
    assert missing.fix == SECCOMP_FILE_MISSING_FIX and "install_seccomp_profile" in missing.fix
    assert any(c.startswith("kubectl describe pod ") for c in missing.commands)
    assert not any("crictl" in c for c in missing.commands)            # no container was created
    running, _ = pod_outcome(status("running"))
    assert running.commands[-1].startswith(f"docker exec {running.node} crictl inspect ")


def test_apparmor_rejected_pod_keeps_the_kubernetes_reason():
    """Kubernetes 1.34 rejects the pod (phase Failed, reason AppArmor); `Blocked` was the
    pre-1.30 waiting reason and is never shown in its place."""
    message = "Cannot enforce AppArmor: AppArmor is not enabled on the host"
    pod = {"metadata": {"name": "p", "namespace": "n"}, "spec": {},
           "status": {"phase": "Failed", "reason": "AppArmor", "message": message}}
    outcome, final = pod_outcome(pod)
    assert (outcome.phase, outcome.reason, outcome.message, final) == ("Failed", "AppArmor", message, True)
    assert "AppArmor-capable" in outcome.fix and "Blocked" not in str(outcome)
    assert "phase Failed" in outcome._repr_html_() and "kubectl describe pod p -n n" in outcome.commands


def test_waiting_reasons_are_never_relabelled():
    for reason, message in [("CreateContainerError", 'failed to create containerd container: cannot load seccomp '
                                                     'profile "/var/lib/kubelet/seccomp/profiles/x.json": open '
                                                     '/var/lib/kubelet/seccomp/profiles/x.json: '
                                                     'no such file or directory'),
                            ("CreateContainerError", "apparmor profile not found"),
                            ("RunContainerError", "seccomp: cannot load")]:
        pod = {"metadata": {"name": "p", "namespace": "n"}, "spec": {},
               "status": {"phase": "Pending", "containerStatuses": [
                   {"name": "c", "state": {"waiting": {"reason": reason, "message": message}}}]}}
        outcome, final = pod_outcome(pod)
        assert (outcome.reason, outcome.message, final) == (reason, message, True)
    assert "SeccompProfileNotFound" not in FIXES


def test_helpers_show_the_equivalent_commands(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO_ROOT / "notebooks")   # where lessons (and `!kubectl` cells) run
    lesson_file = REPO_ROOT / "labs" / "lessons" / "02-seccomp-kubernetes" / "pod.yaml"
    assert kubectl_apply_command("ns1", lesson_file) == \
        "kubectl apply -f ../labs/lessons/02-seccomp-kubernetes/pod.yaml -n ns1"
    assert kubectl_apply_command("ns1", tmp_path / "pod.yaml") == f"kubectl apply -f {tmp_path}/pod.yaml -n ns1"
    assert kubectl_apply_command("ns1", {"kind": "Pod"}) == "kubectl apply -f manifest.yaml -n ns1"
    text = manifest_yaml([{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a"}}] * 2)
    assert text.count("kind: Pod") == 2 and "---" in text
    result = ExecResult(["sh", "-c", "echo hi"], 0, "hi\n", "", "", "web", "ns1", "nginx")
    assert result.kubectl == "kubectl exec web -n ns1 -c nginx -- sh -c 'echo hi'"
    assert result.kubectl in result._repr_html_().replace("&#x27;", "'")
    assert ExecResult(["true"], 0, "", "").ok   # old positional construction still works


def test_a_reclaimed_log_is_an_error_not_a_log(monkeypatch):
    """The kubelet answers 200 with a notice when the container's log file is gone (seen in CI
    on a crash-looping nginx); a caller must not read the notice as what the program printed."""
    class Logs:
        def __init__(self, body):
            self.read_namespaced_pod_log = lambda name, namespace, **kwargs: body

    monkeypatch.setattr(pods, "core_api", lambda config: Logs("unable to retrieve container logs for containerd://4266"))
    with pytest.raises(WorkloadFailed) as err:
        pods.pod_logs("nginx", "ns1", container="nginx", previous=True)
    assert err.value.reason == "LogsUnavailable" and "kubectl logs --previous" in err.value.fix
    monkeypatch.setattr(pods, "core_api", lambda config: Logs("nginx: [emerg] bind() failed\n"))
    assert pods.pod_logs("nginx", "ns1") == "nginx: [emerg] bind() failed\n"


def test_applied_is_still_the_list_it_was():
    applied = Applied(["node-1"], action="wrote x", commands=["docker cp x node-1:/x"], content="{}\n", note="n")
    assert applied == ["node-1"] and json.dumps(applied) == '["node-1"]'
    markup = applied._repr_html_()
    assert "wrote x" in markup and "$ docker cp x node-1:/x" in markup and "{}" in markup
    assert "docker cp x node-1:/x" in applied.explain()


def test_raise_for_failure():
    fine = PodOutcome("p", "n", True, "Running", True, "Running")
    assert fine.raise_for_failure() is fine
    bad = PodOutcome("p", "n", False, "Pending", False, "CrashLoopBackOff", "back-off", FIXES["CrashLoopBackOff"],
                     events=["Warning BackOff: restarting"])
    with pytest.raises(Exception) as err:
        bad.raise_for_failure()
    assert err.value.reason == "CrashLoopBackOff" and err.value.details == "Warning BackOff: restarting"
    assert "CrashLoopBackOff" in str(bad) and json.loads(bad.to_json())["reason"] == "CrashLoopBackOff"


def test_events_are_sorted_and_counted():
    events = [
        {"type": "Warning", "reason": "BackOff", "message": "Back-off restarting", "count": 3,
         "lastTimestamp": "2026-11-28T22:00:09+00:00"},
        {"type": "Normal", "reason": "Scheduled", "message": "assigned", "count": None,
         "eventTime": "2026-11-28T22:00:01.000000+00:00"},
    ]
    assert format_events(events) == ["Normal Scheduled: assigned", "Warning BackOff: Back-off restarting (x3)"]
    same_second = [
        {"type": "Warning", "reason": "AppArmor", "message": "cannot enforce", "metadata": {"name": "p.187c0a2b"},
         "lastTimestamp": "2026-11-28T22:00:01+00:00"},
        {"type": "Normal", "reason": "Scheduled", "message": "assigned", "metadata": {"name": "p.187c0a1f"},
         "eventTime": "2026-11-28T22:00:01.900000+00:00"},
    ]
    assert [e.split(":")[0] for e in format_events(same_second)] == ["Normal Scheduled", "Warning AppArmor"]


def test_exec_status_channel():
    assert exec_returncode({"metadata": {}, "status": "Success"}) == (0, "")
    assert exec_returncode({"status": "Failure", "reason": "NonZeroExitCode",
                            "details": {"causes": [{"reason": "ExitCode", "message": "7"}]}}) == (7, "")
    code, message = exec_returncode({"status": "Failure", "message": 'exec: "nope": executable file not found'})
    assert code == 127 and "nope" in message
    assert exec_returncode({"status": "Failure", "message": "operation not permitted"})[0] == 126


def test_refused_exec_handshake_yields_the_api_status():
    text = ("Handshake status 404 Not Found -+-+- {'audit-id': '92fe', 'content-type': 'application/json'} -+-+- "
            '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods \\"ghost\\" '
            'not found","reason":"NotFound","details":{"name":"ghost","kind":"pods"},"code":404}')
    status = handshake_status(text)
    assert (status["code"], status["message"]) == (404, 'pods "ghost" not found')
    assert handshake_status("connection reset") == {"message": "connection reset"}


def test_pod_security_rejection_is_split_into_violations():
    message = ('pods "escape" is forbidden: violates PodSecurity "restricted:latest": host namespaces '
               '(hostNetwork=true, hostPID=true), privileged (container "tools" must not set '
               'securityContext.privileged=true), restricted volume types (volume "root" uses restricted '
               'volume type "hostPath")')
    assert pod_security_violations(message) == [
        "host namespaces (hostNetwork=true, hostPID=true)",
        'privileged (container "tools" must not set securityContext.privileged=true)',
        'restricted volume types (volume "root" uses restricted volume type "hostPath")',
    ]


# ------------------------------------------------------------------ namespaces

def test_namespace_names_are_valid_and_unique():
    a, b = namespace_name("Lesson 02: Pod Security!"), namespace_name("Lesson 02: Pod Security!")
    assert a != b and a.startswith("lesson-02-pod-security-") and len(a) <= 63
    assert namespace_name("x" * 100).count("-") == 1 and len(namespace_name("x" * 100)) <= 63
    assert namespace_name("---").startswith("lab-")


def test_staleness():
    now = 1_800_000_000.0
    mine = {"metadata": {"annotations": {OWNER_ANNOTATION: owner_token()}}}
    assert not is_stale(mine, host=owner_token().split(":")[0], now=now)
    gone = {"metadata": {"annotations": {OWNER_ANNOTATION: "h:999999999:123"}}}
    assert is_stale(gone, host="h", now=now)
    old = {"metadata": {"annotations": {OWNER_ANNOTATION: "other:1:1"}, "creationTimestamp": "2027-01-14T00:00:00Z"}}
    assert is_stale(old, host="h", now=now)
    young = {"metadata": {"annotations": {OWNER_ANNOTATION: "other:1:1"}, "creationTimestamp": "2027-01-15T07:00:00Z"}}
    assert not is_stale(young, host="h", now=now)
    deleting = {"metadata": {"deletionTimestamp": "x", "annotations": {OWNER_ANNOTATION: "h:999999999:1"}}}
    assert not is_stale(deleting, host="h", now=now)


# ------------------------------------------------------------------ audit records -> containers

def record(ts, syscall, cid):
    return SeccompRecord(ts, 1, 10, "c", "/bin/c", "x86_64", 0, syscall, 0x7FFC0000, cid)


def test_container_ids_come_from_status_and_last_state(status):
    pod = status("crashloop")
    last = pod["status"]["containerStatuses"][0]["lastState"]["terminated"]["containerID"]
    assert container_ids(pod) == {last.split("://")[1]: "tools"}
    pod["status"]["containerStatuses"][0]["containerID"] = "containerd://" + "f" * 64   # restarted, running
    assert container_ids(pod) == {"f" * 64: "tools", last.split("://")[1]: "tools"}
    assert container_ids(status("unschedulable")) == {}


def test_records_are_split_by_container_and_timed():
    a, b, other = "a" * 64, "b" * 64, "c" * 64
    records = [record(10.5, "read", a), record(10.0, "execve", a), record(11.0, "read", b),
               record(10.2, "mkdir", other), record(12.0, "read", a), record(12.5, "write", None)]
    counters, timeline = split_by_container(records, {a: "web", b: "sidecar"})
    assert counters == {"web": Counter({"read": 2, "execve": 1}), "sidecar": Counter({"read": 1})}
    assert timeline == [(0.0, "web", "execve"), (0.5, "web", "read"), (1.0, "sidecar", "read")]
    audit = PodAudit("p", "n", PodOutcome("p", "n", True, "Running", True, "Running"), counters, timeline)
    assert audit.all_syscalls() == {"read", "execve"}
    assert audit.coverage() == [(0.0, 1), (0.5, 2)]
    assert audit.coverage("sidecar") == [(1.0, 1)]
    assert json.loads(audit.to_json())["syscalls"]["web"] == {"read": 2, "execve": 1}


# ------------------------------------------------------------------ the client's own failures

def test_missing_cluster_and_unreachable_api_server_are_explained(tmp_path, monkeypatch):
    from labs.pods import wait_for_pod  # slow import: the kubernetes client
    monkeypatch.setenv("COURSE_STATE_DIR", str(tmp_path))
    with pytest.raises(EnvironmentProblem, match="does not exist") as err:
        wait_for_pod("web", "default")
    assert "make cluster" in err.value.fix
    (tmp_path / "kubeconfig").write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1', insecure-skip-tls-verify: true}}]\n"
        "users: [{name: u, user: {token: t}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\n")
    with pytest.raises(EnvironmentProblem, match="cannot reach the cluster's API server") as err:
        wait_for_pod("web", "default")
    assert "cluster_status" in err.value.fix


def test_a_lone_failed_container_waits_for_the_failed_phase(status):
    """The moment between a run-once pod's only container exiting and the kubelet marking the
    pod Failed is not final: callers want the Failed phase."""
    pod = status("never-one-failed")
    pod["status"]["containerStatuses"] = [cs for cs in pod["status"]["containerStatuses"] if cs["name"] == "fails"]
    outcome, final = pod_outcome(pod)
    assert outcome.phase == "Running" and not final
