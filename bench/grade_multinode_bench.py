"""Grade a class of exercise 04 with live checks on the three-node cluster: --jobs 1 vs --jobs 8.

Prints, per run: wall-clock seconds and submissions per minute, how many of the grader's
pods ran on each node, and the grader's own CPU seconds per submission (the driver and its
per-submission processes, i.e. what the grading machine spends; the pods' work is on the
nodes). The grader reaches the cluster through its kubeconfig only (``--nodes agent``, a
private state folder holding the multi-node cluster's kubeconfig as the default one), as a
course grading on a shared cluster would. Numbers only, no asserts.

Needs the multi-node cluster (``make cluster-multi``) with the lab image loaded; ``--create``
makes it and ``--delete`` removes it afterwards (it is heavy on a 2-core machine).

    python bench/grade_multinode_bench.py [--count 60] [--jobs 1 --jobs 8] [--create] [--delete]
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from grade_bench import EX, make_class  # noqa: E402

from grader.checks.live import LAB_IMAGE, TOKEN_LABEL  # noqa: E402
from labs.cluster import cluster_status, delete_cluster, ensure_cluster, kubeconfig_path, load_images  # noqa: E402
from labs.pods import core_api  # noqa: E402

CONFIG = "multi-node"


class PodPlaces:
    """Polls the cluster for the grader's pods (token label) and remembers each pod's node."""

    def __init__(self, every: float = 0.5):
        self.nodes: dict[str, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, args=(every,), daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _poll(self, every: float) -> None:
        api = core_api(CONFIG)
        while not self._stop.wait(every):
            try:
                pods = api.list_pod_for_all_namespaces(label_selector=TOKEN_LABEL, _request_timeout=10).items
            except Exception:  # noqa: BLE001 - a missed poll only loses a sample
                continue
            for pod in pods:
                if pod.spec.node_name:
                    self.nodes[pod.metadata.uid] = pod.spec.node_name

    def per_node(self) -> dict[str, int]:
        return dict(sorted(collections.Counter(self.nodes.values()).items()))


def wait_until_nodes_list(image: str, timeout: float = 180) -> None:
    """The grader's preflight reads the nodes' image lists, which the kubelet refreshes some
    seconds after ``kind load``: wait for every node to list the image."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        nodes = core_api(CONFIG).list_node(_request_timeout=10).items
        if all(any(name.endswith(image) for i in n.status.images or [] for name in i.names or []) for n in nodes):
            return
        time.sleep(2)


def grade(subs: Path, out: Path, jobs: int, state: Path) -> dict:
    """One batch in a child process; its wall clock and the CPU it and its children used."""
    env = {**os.environ, "COURSE_STATE_DIR": str(state), "PYTHONPATH": str(ROOT)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    with PodPlaces() as places:
        done = subprocess.run([sys.executable, "-m", "grader", "grade", str(subs), "--exercise", EX, "--out", str(out),
                               "--jobs", str(jobs), "--nodes", "agent", "--timeout", "600", "--force"],
                              cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"grading failed ({done.returncode}): {done.stderr[-2000:]}")
    reports = [json.loads(p.read_text()) for p in sorted(out.glob("*/report.json"))]
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"jobs": jobs, "seconds": seconds, "count": len(reports), "cpu": cpu, "per_node": places.per_node(),
            "scores": collections.Counter(r["score"] for r in reports),
            "not_checked": sum(1 for r in reports for c in r["checks"] if c["status"] == "not_checked")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=60)
    parser.add_argument("--jobs", type=int, action="append", help="default: 1 and 8")
    parser.add_argument("--create", action="store_true", help="create the multi-node cluster first")
    parser.add_argument("--delete", action="store_true", help="delete the multi-node cluster at the end")
    args = parser.parse_args()
    if args.create:
        ensure_cluster(CONFIG)
    if not cluster_status(CONFIG).ready:
        print("the multi-node cluster is not ready: `make cluster-multi` (or --create)", file=sys.stderr)
        return 1
    load_images([LAB_IMAGE], CONFIG)
    wait_until_nodes_list(LAB_IMAGE)
    work = Path(tempfile.mkdtemp(prefix="grade-multinode-"))
    try:
        state = work / "state"
        state.mkdir()
        shutil.copyfile(kubeconfig_path(CONFIG), state / "kubeconfig")   # the grader sees only a kubeconfig
        make_class(work / "subs", args.count)
        for jobs in args.jobs or [1, 8]:
            row = grade(work / "subs", work / f"out-{jobs}", jobs, state)
            print(f"--jobs {jobs}: {row['count']} submissions in {row['seconds']:.0f} s "
                  f"({60 * row['count'] / row['seconds']:.1f}/min, {row['seconds'] / row['count']:.1f} s each); "
                  f"grader CPU {row['cpu']:.0f} s ({row['cpu'] / row['count']:.2f} s/submission); "
                  f"pods per node {row['per_node']}; scores {dict(sorted(row['scores'].items()))}; "
                  f"checks not checked: {row['not_checked']}", flush=True)
        subprocess.run([sys.executable, "-m", "grader", "cleanup"], cwd=ROOT,
                       env={**os.environ, "COURSE_STATE_DIR": str(state), "PYTHONPATH": str(ROOT)})
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if args.delete:
            delete_cluster(CONFIG)
    return 0


if __name__ == "__main__":
    sys.exit(main())
