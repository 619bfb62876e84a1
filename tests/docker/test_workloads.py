"""Lesson 10's proof on plain Docker: for three programs that are not nginx (a database, an
interpreted web service, a static binary), ``record_image`` records ONE driven run (merging is
tested on nginx in test_record.py); the profile enforces: the program serves every step with ``Seccomp: 2`` and a probe
outside its needs is refused (and works in a control run under the audit profile).

One run must be enough: busybox httpd forks a child per request that is gone before the collector
reads its container, and a recorder that dropped those records once produced a profile that reset
every GET with no problem reported."""
import sys

import pytest

from labs.docker_lab import LabContainer
from labs.lessons.workloads import WORKLOADS, docker_seccomp_mode, docker_steps
from labs.seccomp import audit_profile, compare_with_runtime_default
from labs.seccomp.record import record_image

EPERM = "Operation not permitted"


@pytest.fixture(scope="module", params=sorted(WORKLOADS))
def recorded(request, lab_images):
    """The workload and its Recording: one run driven by the workload's client steps."""
    workload = WORKLOADS[request.param]
    drive = [sys.executable, "-m", "labs.lessons.workloads", "drive", workload.key, "{container}"]
    recording = record_image(workload.image, publish=workload.port, drive=[drive], runs=1, baseline=False)
    assert not recording.partial and recording.lost == 0, recording.problems
    return workload, recording, recording.profile()


def test_recording_saw_the_program_serve(recorded):
    workload, recording, profile = recorded
    assert len(recording.runs) == 1
    calls = set(recording.syscalls())
    assert {"bind", "listen"} <= calls and ({"accept", "accept4"} & calls)
    assert workload.probe_syscall not in calls
    comparison = compare_with_runtime_default(profile)
    print(f"{workload.key}: {comparison}")
    assert comparison.ratio < 0.5


def test_one_recording_keeps_the_forked_childrens_syscalls_and_says_how(recorded):
    workload, recording, _ = recorded
    if workload.key != "static-httpd":
        pytest.skip("only busybox httpd serves each request in a forked child")
    requests = recording.runs[0].phases["requests"]
    assert {"dup2", "sendfile", "shutdown"} <= set(requests), requests      # the children's work
    if recording.unattributed:          # how many depends on the race with the collector: say it
        assert any(f"{recording.unattributed} records came from processes that exited" in n
                   for n in recording.notes())
    assert any("STOPSIGNAL" in n for n in recording.notes())     # its SIGKILL stop is said


def test_enforced_program_serves_with_a_filter(recorded):
    workload, _, profile = recorded
    with LabContainer.start(workload.image, seccomp=profile) as box:
        drive = docker_steps(workload, box.id)
        assert drive.ok, f"{workload.key} under its recorded profile:\n{drive}"
        assert docker_seccomp_mode(box.id) == "2"
        assert box.state()["Running"]


def test_probe_outside_the_profile_is_refused(recorded):
    workload, _, profile = recorded
    with LabContainer.start(workload.image, seccomp=audit_profile()) as control:
        allowed = control.exec(list(workload.probe))
    assert allowed.returncode == 0, f"the probe fails even unconfined: {allowed.stderr}"
    with LabContainer.start(workload.image, seccomp=profile) as box:
        refused = box.exec(list(workload.probe))
    assert refused.returncode != 0 and EPERM in refused.stderr, refused.stderr
