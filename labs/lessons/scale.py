"""Lesson 08: run the same pod on every node and see where it fails.

A ``Localhost`` profile is a file on each node. Pinning one copy of a pod to each node
(``spec.nodeName``) shows, node by node, which ones lack the file.
"""
from __future__ import annotations

import copy
import html
from dataclasses import dataclass, field

from ..results import Result

__all__ = ["NodeOutcomes", "run_on_each_node"]


@dataclass
class NodeOutcomes(Result):
    """node -> how the pinned pod ended (reason and the first line of its message)."""

    outcomes: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:  # what Jupyter shows as text/plain
        return str(self)

    def __str__(self) -> str:
        return "\n".join(f"{node}: {outcome}" for node, outcome in self.outcomes.items())

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><td>{html.escape(n)}</td><td style='text-align:left'>{html.escape(o)}</td></tr>"
                       for n, o in self.outcomes.items())
        return f"<table><tr><th>node</th><th>pod outcome</th></tr>{rows}</table>"


def run_on_each_node(manifest, namespace: str, nodes: list[str], *, config: str = "default",
                     timeout: float = 60) -> NodeOutcomes:
    """Run one copy of the manifest's pod per node, named ``<pod>-<n>``; report each outcome.

    Copies left from an earlier call are deleted first, so a rerun measures the nodes as
    they are now.
    """
    from ..manifests import load_manifests
    from ..pods import delete_pod, run_pod

    (pod,) = [d for d in load_manifests(manifest) if d["kind"] == "Pod"]
    result = NodeOutcomes()
    for i, node in enumerate(nodes):
        copy_ = copy.deepcopy(pod)
        copy_["metadata"]["name"] = f"{pod['metadata']['name']}-{i}"
        copy_["spec"]["nodeName"] = node
        delete_pod(copy_["metadata"]["name"], namespace, config)
        outcome = run_pod(copy_, namespace, config=config, timeout=timeout)
        detail = outcome.message.splitlines()[0][:160] if outcome.message else ""
        result.outcomes[node] = outcome.reason + (f": {detail}" if detail and not outcome.ok else "")
    return result
