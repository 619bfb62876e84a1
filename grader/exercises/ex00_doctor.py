"""00-doctor: the learner runs the doctor and names the cluster it found in ready.txt."""
from __future__ import annotations

from labs.errors import LabError, ManifestError

from ..checks import live
from ..context import Exercise
from ..model import Check


def _file_correct(ctx) -> str:
    expected = ctx.cluster.name
    lines = [ln.strip() for ln in ctx.text("ready").splitlines() if ln.strip() and not ln.strip().startswith("#")]
    if not lines:
        raise ManifestError("ready.txt has no answer yet", fix="write the cluster name the doctor printed")
    if lines[0] != expected:
        raise ManifestError(f"ready.txt says {lines[0][:60]!r}, which is not the course cluster's name",
                            fix="copy the cluster name from the doctor's output")
    return f"ready.txt names {expected}"


def _cluster_reachable(ctx) -> str:
    live.require_cluster(ctx)
    from labs.rollout import nodes_ready  # the Kubernetes client: slow to import, live checks only

    nodes = nodes_ready(ctx.cluster)
    not_ready = [name for name, (ready, _) in nodes.items() if not ready]
    if not nodes or not_ready:
        raise LabError(f"nodes not Ready: {', '.join(not_ready) or 'none found'}",
                       fix="run `make doctor`, then `make cluster`")
    return f"{len(nodes)} node(s) Ready"


EXERCISE = Exercise(
    id="00-doctor",
    title="Doctor: is your machine ready?",
    files={"ready": "ready.txt"},
    checks=(
        Check("file-correct", "ready.txt names the cluster", 1, _file_correct,
              hint="the doctor prints the cluster name on its 'cluster' line"),
        Check("cluster-reachable", "the cluster answers and its nodes are Ready", 1, _cluster_reachable,
              live=True, needs=("file-correct",), hint="run `make cluster` and re-run the doctor"),
    ),
)
