"""Exercise 05's planted faults are real: each one alone breaks nginx the way the exercise says.

The starter is the reference solution with three faults (see grader/exercises/ex05_fix_broken_profile.py).
Each test plants one fault into the reference solution, runs the course nginx under it on the
default cluster and checks the symptom a learner sees there; the reference itself must serve.
The old premise of the exercise (SCMP_ARCH_AARCH64 stops nginx on x86_64) is tested false.
"""
from __future__ import annotations

import copy
import json
import platform
import time

import pytest

from grader.exercises.common import EXERCISES_DIR
from labs import cluster, pods
from labs.lessons.debugging import NginxDebugLoop
from labs.lessons.drive import start_client
from labs.runner import run
from tests.cluster.crash_logs import log_showing

EXERCISE = EXERCISES_DIR / "05-fix-broken-profile"
SOLUTION = json.loads((EXERCISE / "solution" / "profile.json").read_text())
STARTER = json.loads((EXERCISE / "starter" / "profile.json").read_text())


def _without(profile: dict, name: str) -> dict:
    planted = copy.deepcopy(profile)
    planted["syscalls"][0]["names"].remove(name)
    return planted


def _legacy_rule(profile: dict, name: str) -> dict:
    planted = _without(profile, name)
    planted["syscalls"].insert(1, {"name": name, "action": "SCMP_ACT_ALLOW"})
    return planted


def _pod(profile_file: str) -> dict:
    """nginx under the profile, plus a probe container (RuntimeDefault) that sends the requests."""
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "nginx", "labels": {"course.seccomp-lab/managed": "true"}},
        "spec": {
            "terminationGracePeriodSeconds": 1,
            "shareProcessNamespace": True,
            "containers": [
                {"name": "nginx", "image": "course/nginx:latest", "imagePullPolicy": "Never",
                 "securityContext": {"seccompProfile": {"type": "Localhost",
                                                        "localhostProfile": f"profiles/{profile_file}"}}},
                {"name": "probe", "image": "course/nginx:latest", "imagePullPolicy": "Never",
                 "command": ["sleep", "infinity"],
                 "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}},
            ],
        },
    }


@pytest.fixture
def run_nginx(namespace):
    installed = []

    def run(profile: dict, tag: str):
        filename = f"test-ex05-{tag}.json"
        cluster.install_seccomp_profile(filename, profile)
        installed.append(filename)
        return pods.run_pod(_pod(filename), namespace, timeout=120)

    yield run
    for filename in installed:
        cluster.remove_seccomp_profile(filename)


def _curl(namespace: str, path: str = "/"):
    return pods.exec_in_pod("nginx", namespace, ["curl", "-sS", "-m", "5", f"http://127.0.0.1{path}"],
                            container="probe")


def _nginx_seccomp_mode(namespace: str) -> str:
    script = ('for d in /proc/[0-9]*; do [ "$(cat $d/comm 2>/dev/null)" = nginx ] && '
              'grep "^Seccomp:" $d/status && exit 0; done; exit 1')
    return pods.exec_in_pod("nginx", namespace, ["sh", "-c", script], container="probe").stdout.split(":")[-1].strip()


def _crash_log(namespace: str, expected: str) -> str:
    return log_showing("nginx", namespace, expected, container="nginx")


def test_reference_solution_starts_and_serves(run_nginx, namespace):
    outcome = run_nginx(SOLUTION, "solution")
    assert outcome.ok and outcome.ready, str(outcome)
    assert "hello from the course nginx" in _curl(namespace).stdout
    assert _nginx_seccomp_mode(namespace) == "2"


def test_starter_does_not_start(run_nginx, namespace):
    outcome = run_nginx(STARTER, "starter")
    assert not outcome.ok and outcome.reason in ("CrashLoopBackOff", "Error"), str(outcome)
    failure = "bind() to 0.0.0.0:80 failed (1: Operation not permitted)"
    assert failure in _crash_log(namespace, failure)


def test_fault_missing_bind_crashes_at_start(run_nginx, namespace):
    outcome = run_nginx(_without(SOLUTION, "bind"), "nobind")
    assert not outcome.ok and outcome.reason in ("CrashLoopBackOff", "Error"), str(outcome)
    failure = "bind() to 0.0.0.0:80 failed (1: Operation not permitted)"
    assert failure in _crash_log(namespace, failure)


def _runtime_seccomp_rules(namespace: str) -> list[dict]:
    """The seccomp rules containerd put in the nginx container's runtime spec (``crictl
    inspect``). The crash-looping container is replaced every few seconds, so the id read
    from the pod can be gone by the time crictl asks: read it again then."""
    for _ in range(10):
        pod = pods.read_pod("nginx", namespace)
        status = next(s for s in pod["status"]["containerStatuses"] if s["name"] == "nginx")
        inspect = run(["docker", "exec", pod["spec"]["nodeName"], "crictl", "inspect",
                       status["containerID"].split("://")[1]], check=False)
        if inspect.ok:
            return json.loads(inspect.stdout)["info"]["runtimeSpec"]["linux"]["seccomp"]["syscalls"]
        time.sleep(1)
    raise AssertionError(f"crictl inspect kept failing: {inspect.stderr}")


def test_fault_legacy_name_key_is_dropped_by_containerd(run_nginx, namespace):
    """The rule names listen, yet nginx fails on listen(): the runtime spec has no syscall in it."""
    outcome = run_nginx(_legacy_rule(SOLUTION, "listen"), "legacyname")
    assert not outcome.ok and outcome.reason in ("CrashLoopBackOff", "Error"), str(outcome)
    log = _crash_log(namespace, "listen() to 0.0.0.0:80")
    assert "listen() to 0.0.0.0:80" in log and "(1: Operation not permitted)" in log, log
    rules = _runtime_seccomp_rules(namespace)
    assert not any("listen" in (r.get("names") or []) for r in rules)
    assert any(not r.get("names") for r in rules), rules


def test_fault_missing_writev_starts_but_fails_every_request(run_nginx, namespace):
    outcome = run_nginx(_without(SOLUTION, "writev"), "nowritev")
    assert outcome.ok and outcome.ready, str(outcome)
    for path in ("/", "/missing"):
        result = _curl(namespace, path)
        assert result.returncode == 52 and "Empty reply from server" in result.stderr, (path, result)


@pytest.mark.skipif(platform.machine() not in ("x86_64", "amd64"), reason="the claim is about x86_64 nodes")
def test_listing_only_aarch64_does_not_stop_nginx_on_x86_64(run_nginx, namespace):
    """libseccomp always adds the native architecture: the old exercise's premise was false."""
    outcome = run_nginx(dict(SOLUTION, architectures=["SCMP_ARCH_AARCH64"]), "aarch64")
    assert outcome.ok and outcome.ready, str(outcome)
    assert "hello from the course nginx" in _curl(namespace).stdout
    assert _nginx_seccomp_mode(namespace) == "2"


def test_lesson_staging_run_reports_exactly_the_three_faults(namespace):
    """Lesson 05's method on the starter: at startup bind and listen (the dead ``name`` rule), with
    lesson 03's requests and operator commands also writev, and nothing else (the reference
    allows what reload, reopen and the POST need, so no extra name distracts from the faults)."""
    loop = NginxDebugLoop(namespace, start_client(namespace))
    assert loop.staged_report(STARTER, requests=False) == ["bind", "listen"]
    assert loop.staged_report(STARTER) == ["bind", "listen", "writev"]
