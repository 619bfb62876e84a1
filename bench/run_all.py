"""Run every benchmark in this folder, one after another; each prints its own numbers.

Benchmarks measure; they never assert. `make bench` calls this.
"""
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = [["profile_bench.py"], ["collector_bench.py"], ["cluster_bench.py"], ["grade_bench.py"],
              ["check_latency_bench.py"],
              # makes the three-node cluster, grades 2 x 60 submissions, deletes it (~30 min on 2 cores)
              ["grade_multinode_bench.py", "--create", "--delete"]]


def main() -> int:
    failed = []
    for name, *args in BENCHMARKS:
        print(f"\n=== {name} ===", flush=True)
        if subprocess.run([sys.executable, str(HERE / name), *args]).returncode != 0:
            failed.append(name)
    if failed:
        print(f"\nbenchmarks that did not finish: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
