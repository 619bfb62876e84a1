"""The Pod Security table: one rule per control of the Pod Security Standards page, the levels
they apply at, and the grader's policy taking its shared controls from the same rules."""
from __future__ import annotations

import pytest

from grader.policy import GRADING_CONTROLS, manifest_violations
from labs.errors import ManifestError
from labs.pod_security import RULES, check_pod_security, pod_security_violations

#: the controls as https://kubernetes.io/docs/concepts/security/pod-security-standards/ names them
BASELINE = ["HostProcess", "Host Namespaces", "Privileged Containers", "Capabilities", "HostPath Volumes",
            "Host Ports", "Host Probes / Lifecycle Hooks (v1.34+)", "AppArmor", "SELinux", "/proc Mount Type",
            "Seccomp", "Sysctls"]
RESTRICTED = ["Volume Types", "Privilege Escalation (v1.8+)", "Running as Non-root",
              "Running as Non-root user (v1.23+)", "Seccomp (v1.19+)", "Capabilities (v1.22+)"]


def _pod(spec: dict) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec}


def test_one_rule_per_control_named_as_the_standard_names_it():
    assert sorted(r.control for r in RULES if r.level == "baseline") == sorted(BASELINE)
    assert sorted(r.control for r in RULES if r.level == "restricted") == sorted(RESTRICTED)


def test_restricted_replaces_the_baseline_capabilities_rule_except_on_windows():
    c = {"name": "c", "image": "x", "securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}}
    linux = {(v.check, v.level) for v in check_pod_security(_pod({"containers": [c]}), "restricted").violations}
    assert ("capabilities_restricted", "restricted") in linux and ("capabilities_baseline", "baseline") not in linux
    windows = check_pod_security(_pod({"os": {"name": "windows"}, "containers": [c]}), "restricted").violations
    assert {v.check for v in windows} == {"capabilities_baseline", "runAsNonRoot"}


def test_pod_level_first_then_each_container():
    spec = {"securityContext": {"runAsUser": 0}, "hostIPC": True,
            "containers": [{"name": "a", "image": "x", "securityContext": {"privileged": True}},
                           {"name": "b", "image": "x", "ports": [{"containerPort": 80, "hostPort": 80}]}]}
    found = [(v.check, v.path) for v in check_pod_security(_pod(spec), "baseline").violations]
    assert found == [("hostNamespaces", "spec.hostIPC"),
                     ("privileged", "spec.containers[0].securityContext.privileged"),
                     ("hostPorts", "spec.containers[1].ports[0].hostPort")]


def test_controls_select_rules_and_unknown_names_are_refused():
    spec = {"hostPID": True, "containers": [{"name": "a", "image": "x", "securityContext": {"privileged": True}}]}
    assert [v.check for v in pod_security_violations(_pod(spec), "baseline", controls=["Host Namespaces"])] \
        == ["hostNamespaces"]
    with pytest.raises(ManifestError, match="no Pod Security control named Host namespaces"):
        pod_security_violations(_pod(spec), "baseline", controls=["Host namespaces"])


def test_malformed_fields_read_as_empty_instead_of_crashing():
    spec = {"securityContext": "x", "volumes": "y", "containers": ["z", {"name": "a", "securityContext": [1],
                                                                      "ports": "80", "livenessProbe": 3}]}
    assert [v.check for v in check_pod_security(_pod(spec), "baseline").violations] == []


def test_the_grading_policy_words_its_shared_controls_as_pod_security_does():
    assert set(GRADING_CONTROLS) <= {r.control for r in RULES}
    spec = {"hostNetwork": True, "containers": [{"name": "a", "image": "x", "securityContext": {"privileged": True}}]}
    expected = [f"Pod p: {v.message}; {v.fix}" for v in check_pod_security(_pod(spec), "baseline").violations]
    assert manifest_violations([_pod(spec)]) == expected
