"""Print, for each lesson-10 program: syscalls recorded, allowed, ratio to RuntimeDefault, time
to record, and how many syscalls a staged run reports as "would break" after a deliberately
short recording (numbers only, no asserts). Run: ``python bench/record_bench.py``.

Why: the record workflow must give small, working profiles for programs of different kinds,
and staging must catch what a short recording missed. Needs Docker and the lab images.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from labs.audit import AuditCollector, exited_driven_records  # noqa: E402
from labs.docker_lab import LabContainer  # noqa: E402
from labs.lessons.workloads import WORKLOADS, docker_steps  # noqa: E402
from labs.seccomp import allowed_syscalls, compare_with_runtime_default  # noqa: E402
from labs.seccomp.record import record_image  # noqa: E402


def record(workload, steps: int | None, runs: int):
    """record_image with the workload's client steps as the host-side drive command."""
    drive = [sys.executable, "-m", "labs.lessons.workloads", "drive", workload.key, "{container}"]
    if steps is not None:
        drive += ["--steps", str(steps)]
    started = time.monotonic()
    recording = record_image(workload.image, publish=workload.port, drive=[drive], runs=runs, baseline=False)
    return recording, time.monotonic() - started


def would_break(workload, staged: dict) -> int:
    """Distinct syscalls the staged profile logged while every step ran (container stopped
    first). A forked child that exited before the collector read its cgroup has no container:
    its records count when the program's own records name its command (as lesson 04's report)."""
    with AuditCollector() as audit:
        with LabContainer.start(workload.image, seccomp=staged) as box:
            started = time.time()
            docker_steps(workload, box.id)
            ended = time.time()
        audit.wait_quiet()
        mine = audit.log([box.id]).seccomp
        exited = exited_driven_records(audit.records(), {r.comm for r in mine}, started, ended)
    return len({r.syscall for r in mine + exited})


def main() -> int:
    print(f"{'program':13} {'recorded':>8} {'allowed':>7} {'vs RuntimeDefault':>17} {'record s':>8} "
          f"{'short: would break':>18}")
    for workload in WORKLOADS.values():
        full, seconds = record(workload, None, runs=2)
        profile = full.profile()
        ratio = compare_with_runtime_default(profile).ratio
        short, _ = record(workload, 1, runs=1)
        broken = would_break(workload, short.profile(staging=True))
        print(f"{workload.key:13} {len(full.syscalls()):8} {len(allowed_syscalls(profile)):7} {ratio:17.2f} "
              f"{seconds:8.1f} {broken:18}", flush=True)
    print("record s: two runs merged; short: one run driven with the first step only, then staged "
          "under the full drive")
    return 0


if __name__ == "__main__":
    sys.exit(main())
