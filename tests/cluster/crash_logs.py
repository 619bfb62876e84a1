"""Reading a crash-looping container's log in a test: the run asked for may already be gone."""
from __future__ import annotations

import time

from labs import pods
from labs.errors import WorkloadFailed


def log_showing(pod: str, namespace: str, expected: str, *, container: str | None = None,
                timeout: float = 90) -> str:
    """The container's log (current run, else the previous one) once it shows ``expected``;
    the last text read when it never does. A read can fall between two runs: the kubelet keeps
    only the newest dead container, so the run asked for may be gone (LogsUnavailable); the
    next run prints the same log."""
    text, deadline = "", time.monotonic() + timeout
    while time.monotonic() < deadline:
        for previous in (False, True):
            try:
                text = pods.pod_logs(pod, namespace, container=container, previous=previous)
            except WorkloadFailed:   # no earlier run yet, or its log is gone
                continue
            if expected in text:
                return text
        time.sleep(2)
    return text
