"""How long the cluster steps take on this machine: prints numbers, asserts nothing.

    .venv/bin/python bench/cluster_bench.py            # warm `make cluster`, create/ensure/delete
    .venv/bin/python bench/cluster_bench.py --rebuild  # also rebuild the node image, per step

Create/ensure/delete use a throw-away cluster (seccomp-course-bench, from clusters/default.yaml)
so the default cluster other work relies on is never touched. --rebuild times every recipe
step with whatever Go build cache and base image this machine has (a cold Go cache is
measured separately: see the lead's /tmp/k8sw/build.log and the report).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from labs.cluster import ClusterConfig, delete_cluster, ensure_cluster, ensure_node_image, register_config  # noqa: E402
from labs.paths import CLUSTERS_DIR, state_dir  # noqa: E402


def timed(label: str, fn, *args, **kwargs):
    started = time.monotonic()
    value = fn(*args, **kwargs)
    print(f"{label:<52} {time.monotonic() - started:7.1f} s", flush=True)
    return value


def make_cluster_warm() -> None:
    """What `make cluster` runs after `make images`, as subprocesses (fresh interpreters)."""
    for args in (["node-image"], ["ensure", "default"]):
        subprocess.run([sys.executable, "-m", "labs.cluster", *args], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)


def bench_config() -> str:
    config = yaml.safe_load((CLUSTERS_DIR / "default.yaml").read_text())
    config["name"] = "seccomp-course-bench"
    path = state_dir() / "bench-cluster.yaml"
    path.write_text(yaml.safe_dump(config))
    register_config(ClusterConfig("bench", path))
    return "bench"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rebuild", action="store_true", help="force a node image rebuild and time each step")
    args = parser.parse_args()
    if args.rebuild:
        build = timed("node image rebuild (total)", ensure_node_image, force=True, progress=lambda _: None)
        for step in build.steps:
            print(f"  {step.step:<50} {step.seconds:7.1f} s")
    timed("warm `make cluster` (node-image + ensure default)", make_cluster_warm)
    config = bench_config()
    try:
        delete_cluster(config)
        timed("create a 1-node cluster (kind create + Ready)", ensure_cluster, config)
        timed("ensure an existing cluster (reuse)", ensure_cluster, config)
    finally:
        timed("delete the cluster", delete_cluster, config)
        (state_dir() / "bench-cluster.yaml").unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
