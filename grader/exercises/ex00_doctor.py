"""00-doctor: the learner runs the doctor and names the cluster it found in ready.txt."""
from __future__ import annotations

from labs.errors import LabError, ManifestError

from ..checks import live
from ..context import Exercise
from ..model import Check

def _file_correct(ctx) -> str:
    from labs.cluster import get_config

    expected = get_config(ctx.config).cluster_name
    lines = [ln.strip() for ln in ctx.text("ready").splitlines() if ln.strip() and not ln.strip().startswith("#")]
    if not lines:
        raise ManifestError("ready.txt has no answer yet", fix="write the cluster name the doctor printed")
    if lines[0] != expected:
        raise ManifestError(f"ready.txt says {lines[0][:60]!r}, which is not the course cluster's name",
                            fix="copy the cluster name from the doctor's output")
    return f"ready.txt names {expected}"


def _cluster_reachable(ctx) -> str:
    live.require_cluster(ctx)
    from labs.pods import core_api

    nodes = core_api(ctx.config).list_node(_request_timeout=10).items
    not_ready = [n.metadata.name for n in nodes
                 if not any(c.type == "Ready" and c.status == "True" for c in n.status.conditions or [])]
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
