"""What a grading run may take from an earlier one: results that depend on the cluster and the
lab image, never on the submission.

Exercise 03's reference audit (the grader records nginx under SCMP_ACT_LOG while curl drives
it) takes 20-30 s and is the same for every submission graded on one cluster. It is recorded
once per cluster and lab image and kept in ``<state>/grader-cache/<config>.json``, so the
Check button and every batch process after the first skip it. The file is tied to the
cluster's identity (its kube-system namespace uid and the lab image's digest on the nodes):
a re-created cluster or a rebuilt image records again. Only a complete recording (start-up,
serving and shutdown told apart) is kept, so one unlucky run is never reused.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from labs.cluster.handle import Cluster
from labs.paths import state_dir

from .checks.live import LAB_IMAGE
from .formats import write_json_atomic

__all__ = ["REUSABLE", "cache_file", "cluster_identity", "seed", "keep"]


class Reusable(NamedTuple):
    exercises: tuple[str, ...]
    encode: Callable[[Any], Any]
    decode: Callable[[Any], Any]
    complete: Callable[[Any], bool]


def _sets_out(value) -> list[list[str]]:
    return [sorted(part) for part in value]


def _sets_in(data) -> tuple[set[str], ...]:
    return tuple(set(part) for part in data)


#: ctx.memo key -> which exercises compute it and how it is stored
REUSABLE: dict[str, Reusable] = {
    # (every syscall recorded, those first made while serving): see grader/exercises/ex03_audit.py
    "reference-audit": Reusable(("03-audit",), _sets_out, _sets_in, lambda v: bool(v[0]) and bool(v[1])),
}


def cache_file(cluster: Cluster) -> Path:
    return state_dir() / "grader-cache" / f"{cluster.config}.json"


def cluster_identity(cluster: Cluster) -> str:
    """kube-system's uid and the lab image's digests on the nodes: changes when either does."""
    api = cluster.core_api()
    uid = api.read_namespace("kube-system", _request_timeout=10).metadata.uid
    wanted = LAB_IMAGE.split("/", 1)[-1] if "/" in LAB_IMAGE else LAB_IMAGE
    digests = sorted({name for node in api.list_node(_request_timeout=10).items for image in node.status.images or []
                      if any(n.endswith(wanted) for n in image.names or []) for name in image.names if "@" in name})
    return json.dumps([uid, digests])


def _keys(ctx) -> list[str]:
    return [key for key, how in REUSABLE.items() if ctx.exercise.id in how.exercises]


def _read(cluster: Cluster) -> dict:
    try:
        return json.loads(cache_file(cluster).read_text())
    except (OSError, ValueError):
        return {}


def seed(ctx) -> None:
    """Put results kept from earlier runs on this cluster into the run's memo (best effort)."""
    keys = _keys(ctx)
    stored = _read(ctx.cluster) if keys else {}
    if not stored:
        return
    try:
        if stored.get("identity") != cluster_identity(ctx.cluster):
            return
    except Exception:  # noqa: BLE001 - no cluster: the checks themselves will say so
        return
    for key in keys:
        if key in stored.get("values", {}):
            ctx.cache[key] = (True, REUSABLE[key].decode(stored["values"][key]))
            ctx.cache.setdefault("reused", []).append(key)


def keep(ctx) -> None:
    """Store the run's complete, newly computed reusable results for later runs (best effort)."""
    fresh = {key: ctx.cache[key][1] for key in _keys(ctx)
             if key in ctx.cache and ctx.cache[key][0] and key not in ctx.cache.get("reused", [])
             and REUSABLE[key].complete(ctx.cache[key][1])}
    if not fresh:
        return
    try:
        identity = cluster_identity(ctx.cluster)
    except Exception:  # noqa: BLE001 - the cluster went away after grading: nothing to tie the result to
        return
    stored = _read(ctx.cluster)
    values = stored.get("values", {}) if stored.get("identity") == identity else {}
    values.update({key: REUSABLE[key].encode(value) for key, value in fresh.items()})
    path = cache_file(ctx.cluster)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, {"identity": identity, "values": values})
