"""Numbers for lesson 03: how many seccomp records the kernel log keeps vs the collector.

Both sources are machine-wide, so both are counted over the same time window: records
with an audit timestamp after the workload started. The kernel log is read on the pod's
node (``docker exec <node> dmesg``): kind nodes share the host kernel and its ring buffer,
and this works where the learner's own ``dmesg`` needs root.
"""
from __future__ import annotations

import html
import time
from dataclasses import dataclass

from ..results import Result

__all__ = ["LogComparison", "kernel_log_vs_collector"]


@dataclass
class LogComparison(Result):
    collector: int
    kernel_log: int
    suppressed_notices: int

    @property
    def missing_share(self) -> float:
        return 1 - self.kernel_log / self.collector if self.collector else 0.0

    def __repr__(self) -> str:  # what Jupyter shows as text/plain
        return str(self)

    def __str__(self) -> str:
        return (f"collector: {self.collector} seccomp records; kernel log (dmesg): {self.kernel_log} "
                f"({self.missing_share:.1%} missing); 'callbacks suppressed' notices in the whole kernel log: {self.suppressed_notices}")

    def _repr_html_(self) -> str:
        return (f"<table><tr><th>source</th><th>seccomp records, same window</th></tr>"
                f"<tr><td>audit netlink (collector)</td><td>{self.collector}</td></tr>"
                f"<tr><td>kernel log (dmesg)</td><td>{self.kernel_log}</td></tr></table>"
                f"<p>{html.escape(str(self))}</p>")


def kernel_log_vs_collector(manifest, namespace: str, *, drive=None, config: str = "default") -> LogComparison:
    """Run the pod (under the profile its manifest names), drive it, delete it, and count."""
    from ..audit import AuditCollector, SeccompRecord, parse_audit_text
    from ..pods import delete_pod, run_pod
    from ..runner import run

    with AuditCollector() as collector:
        started = time.time()
        outcome = run_pod(manifest, namespace, config=config)
        if outcome.ok and drive is not None:
            drive(outcome.name, namespace)
        delete_pod(outcome.name, namespace, config)
        collector.wait_quiet()
        collected = [r for r in collector.records() if isinstance(r, SeccompRecord) and r.timestamp >= started]
    dmesg = run(["docker", "exec", outcome.node, "dmesg"], timeout=60,
                fix="the node container must be running; see labs.cluster.cluster_status()")
    log = parse_audit_text(dmesg.stdout)
    kept = [r for r in log.seccomp if r.timestamp >= started]
    suppressed = sum(1 for line in dmesg.stdout.splitlines() if "callbacks suppressed" in line)
    return LogComparison(len(collected), len(kept), suppressed)
