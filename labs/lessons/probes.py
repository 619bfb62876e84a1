"""Measure, inside running pods, whether syscalls an attacker needs are blocked.

The probe (``02-seccomp-kubernetes/probe.py``) calls unshare, mount (in a new user and
mount namespace) and keyctl directly and reports errno; this module runs it through
``kubectl exec`` (the kubernetes client) and tabulates the answers per pod. The probe needs
python3 with ctypes: of the lab images only ``course/collector`` has it, so the lesson 02
pods use that image.
"""
from __future__ import annotations

import html
import json
from dataclasses import dataclass, field

from ..cluster import ClusterRef, as_cluster
from ..errors import WorkloadFailed
from ..results import Result
from . import asset

__all__ = ["ProbeTable", "probe_pod", "probe_pods"]


@dataclass
class ProbeTable(Result):
    """Outcome of each probe (rows) in each pod (columns)."""

    columns: list[str]
    rows: dict[str, dict[str, str]] = field(default_factory=dict)

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.columns)
        body = ""
        for probe, outcomes in self.rows.items():
            cells = "".join(
                f"<td style='color:{'#c0392b' if outcomes[c].startswith('allowed') else '#27ae60'}'>"
                f"{html.escape(outcomes[c])}</td>" for c in self.columns)
            body += f"<tr><th style='text-align:left'><code>{probe}</code></th>{cells}</tr>"
        return f"<table><tr><th>syscall</th>{head}</tr>{body}</table>"

    def __repr__(self) -> str:  # what Jupyter shows as text/plain
        return str(self)

    def __str__(self) -> str:
        return "\n".join(f"{probe}: " + ", ".join(f"{c} {o[c]}" for c in self.columns)
                         for probe, o in self.rows.items())


def probe_pod(name: str, namespace: str, *, container: str | None = None,
              config: ClusterRef = "default") -> dict[str, str]:
    """Run the probe in one pod's container; returns syscall -> outcome."""
    from ..pods import exec_in_pod  # slow import: the kubernetes client

    script = asset("02", "probe.py").read_text()
    result = exec_in_pod(name, namespace, ["python3", "-c", script], container=container, config=config)
    try:
        return json.loads(result.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        raise WorkloadFailed(f"the probe in pod {name} printed no result",
                             reason="ProbeFailed", details=result.stderr,
                             fix=f"read its error output: {result.stderr.strip()[-300:]}") from None


def probe_pods(pods: dict[str, str], namespace: str, *, config: ClusterRef = "default") -> ProbeTable:
    """``pods`` maps a column label (e.g. "Unconfined") to a pod name."""
    table, cluster = ProbeTable(list(pods)), as_cluster(config)
    for label, pod in pods.items():
        for probe, outcome in probe_pod(pod, namespace, config=cluster).items():
            table.rows.setdefault(probe, {})[label] = outcome
    return table
