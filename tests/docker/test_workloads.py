"""Lesson 10's proof on plain Docker: for three programs that are not nginx (a database, an
interpreted web service, a static binary), a profile recorded from two driven runs enforces:
the program serves every step with ``Seccomp: 2`` and a probe outside its needs is refused."""
import pytest

from labs.audit import AuditCollector
from labs.docker_lab import LabContainer
from labs.lessons.workloads import WORKLOADS, docker_seccomp_mode, docker_steps
from labs.seccomp import audit_profile, build_profile, compare_with_runtime_default

EPERM = "Operation not permitted"


def recorded_run(workload) -> set[str]:
    """One run under the audit profile: start, drive every step from a client, stop, read."""
    with AuditCollector() as audit:
        with LabContainer.start(workload.image, seccomp=audit_profile()) as box:
            drive = docker_steps(workload, box.id)
            assert drive.ok, f"{workload.key} did not serve while recorded:\n{drive}"
        audit.wait_quiet()        # the container is gone: its stream has stopped
        log = audit.log([box.id])
    assert log.lost == 0, log.warnings
    return {r.syscall for r in log.seccomp}


@pytest.fixture(scope="module", params=sorted(WORKLOADS))
def recorded(request, lab_images):
    """The workload and its profile, merged from two recorded runs."""
    workload = WORKLOADS[request.param]
    runs = [recorded_run(workload), recorded_run(workload)]
    return workload, runs, build_profile(runs[0] | runs[1])


def test_recording_saw_the_program_serve(recorded):
    workload, runs, profile = recorded
    for calls in runs:
        assert {"bind", "listen"} <= calls and ({"accept", "accept4"} & calls)
        assert workload.probe_syscall not in calls
    comparison = compare_with_runtime_default(profile)
    print(f"{workload.key}: {comparison}")
    assert comparison.ratio < 0.5


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
