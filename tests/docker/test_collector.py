"""The audit collector against the real kernel: every logged syscall arrives, attributed to
the container that made it."""
from labs.docker_lab import LabContainer
from labs.images import TOOLS_IMAGE
from labs.seccomp import audit_profile

CALLS = 5000
RATE = 20000     # calls per second, paced in 10 ms ticks (the collector's design target)
# python3 makes no getppid() call of its own (runc's init makes one before exec), so the count
# of python3's getppid records is exact
WORKLOAD = ["python3", "-c", f"""
import os, time
start = time.monotonic()
for tick in range({CALLS * 100 // RATE}):
    for _ in range({RATE // 100}):
        os.getppid()
    time.sleep(max(0, start + (tick + 1) / 100 - time.monotonic()))
time.sleep(1)
"""]


def test_collector_captures_every_logged_syscall(collector):
    with LabContainer.start(TOOLS_IMAGE, seccomp=audit_profile(), command=WORKLOAD) as box:
        assert box.wait() == 0
    collector.wait_quiet()
    log = collector.log([box.id])
    calls = collector.syscalls([box.id])
    assert sum(r.syscall == "getppid" and r.comm == "python3" for r in log.seccomp) == CALLS
    assert log.lost == 0, log.warnings
    # the whole program was audited, not just the loop: start-up syscalls are there too
    assert {"execve", "openat", "mmap", "exit_group"} <= set(calls)
    assert {r.action for r in log.seccomp} == {"SCMP_ACT_LOG"}


def test_records_of_other_containers_are_kept_apart(collector):
    profile = audit_profile()
    with LabContainer.start(TOOLS_IMAGE, seccomp=profile, command=["sleep", "2"]) as quiet, \
            LabContainer.start(TOOLS_IMAGE, seccomp=profile, command=WORKLOAD) as busy:
        assert busy.wait() == 0 and quiet.wait() == 0
    collector.wait_quiet()
    busy_log = collector.log([busy.id[:12]])                            # short ids work too
    assert sum(r.syscall == "getppid" and r.comm == "python3" for r in busy_log.seccomp) == CALLS
    quiet_calls = collector.syscalls([quiet.id])
    assert quiet_calls["nanosleep"] + quiet_calls["clock_nanosleep"] >= 1
    assert all(r.comm != "python3" for r in collector.records([quiet.id]))


def test_unconfined_container_logs_nothing(collector):
    with LabContainer.start(TOOLS_IMAGE, seccomp="unconfined", command=WORKLOAD) as box:
        box_id = box.id
        # a control container under the audit profile shows the collector is live meanwhile
        with LabContainer.start(TOOLS_IMAGE, seccomp=audit_profile(), command=["true"]) as control:
            collector.wait_for(lambda log: any(r.container_id == control.id for r in log.seccomp))
        assert box.wait() == 0
    collector.wait_quiet()
    assert collector.records([box_id]) == []
