"""Grade 30 submissions of exercise 04 with live checks, in parallel and one by one.

Prints wall-clock seconds for both runs and their ratio (numbers only, no asserts). Needs the
default kind cluster (`make cluster`). The 30 submissions mix the reference solution with
variants that fail at different stages, as a real class would.

    python bench/grade_bench.py [--jobs N] [--count 30]
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.batch import grade_class  # noqa: E402
from grader.checks.live import LAB_IMAGE  # noqa: E402
from grader.exercises.common import EXERCISES_DIR  # noqa: E402
from labs.cluster import ensure_cluster, load_images  # noqa: E402

EX = "04-least-privilege-nginx"


def make_class(folder: Path, count: int) -> None:
    """Reference solutions, some that do not serve, some that let the attack through, some static failures."""
    solution = json.loads((EXERCISES_DIR / EX / "solution" / "profile.json").read_text())
    no_accept = json.loads(json.dumps(solution))
    for rule in no_accept["syscalls"]:
        rule["names"] = [n for n in rule["names"] if n != "accept4"]
    too_open = json.loads(json.dumps(solution))
    too_open["syscalls"].insert(0, {"names": ["mkdir", "unshare"], "action": "SCMP_ACT_ALLOW", "comment": "bench"})
    variants = [solution, solution, no_accept, too_open, {"defaultAction": "SCMP_ACT_ALLOW"}]
    for i in range(count):
        student = folder / f"student{i:02d}"
        student.mkdir(parents=True)
        (student / "profile.json").write_text(json.dumps(variants[i % len(variants)]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--count", type=int, default=30)
    args = parser.parse_args()
    ensure_cluster("default")
    load_images([LAB_IMAGE])
    work = Path(tempfile.mkdtemp(prefix="grade-bench-"))
    try:
        make_class(work / "subs", args.count)
        timings = {}
        for jobs in (args.jobs, 1):
            started = time.monotonic()
            summary = grade_class(work / "subs", EX, work / f"out-{jobs}", jobs=jobs, timeout=600, force=True)
            timings[jobs] = time.monotonic() - started
            scores = [json.loads((work / f"out-{jobs}" / s.name / "report.json").read_text())["score"]
                      for s in sorted((work / "subs").iterdir())]
            print(f"jobs={jobs}: {summary.graded} submissions in {timings[jobs]:.1f} s "
                  f"({timings[jobs] / args.count:.2f} s each), timed out: {summary.timed_out}, "
                  f"mean score {sum(scores) / len(scores):.2f}", flush=True)
        print(f"parallel/serial wall-clock ratio: {timings[args.jobs] / timings[1]:.2f} "
              f"(speed-up x{timings[1] / timings[args.jobs]:.2f} with --jobs {args.jobs})")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
