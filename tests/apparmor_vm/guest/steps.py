"""Runs INSIDE the AppArmor VM: the step runner both guest programs share.

A guest program registers steps with ``@step(name)``; :func:`run_steps` runs them in order,
keeps each one's result (or its traceback) and duration, and writes ``results.json`` into the
share for the host-side tests. Each step's start is printed at once, so guest.log names the
step a hung run was in.
"""
from __future__ import annotations

import json
import os
import time
import traceback
from pathlib import Path

SHARE = Path("/mnt/course")
STEPS: list = []


def step(name):
    """Register a step; run_steps() runs them in registration order."""
    def wrap(fn):
        STEPS.append((name, fn))
        return fn
    return wrap


def run_steps(stop_after_failure: tuple[str, ...] = ()) -> int:
    """Run every step; a failed step named in ``stop_after_failure`` skips the rest (they
    need what it makes). Returns the guest script's exit status."""
    results: dict = {"kernel": os.uname().release, "steps": {}, "seconds": {}}
    for name, fn in STEPS:
        print(f"step {name} ... (uptime {_uptime():.0f}s)", flush=True)
        started = time.monotonic()
        try:
            results["steps"][name] = fn()
        except Exception:  # noqa: BLE001 - the host test shows the traceback
            results["steps"][name] = {"error": traceback.format_exc()}
            print(results["steps"][name]["error"], flush=True)
        results["seconds"][name] = round(time.monotonic() - started, 2)
        (SHARE / "results.json").write_text(json.dumps(results, indent=1, default=str))
        if name in stop_after_failure and "error" in (results["steps"][name] or {}):
            print(f"step {name} failed: the steps after it need it, stopping", flush=True)
            break
    failed = [name for name, value in results["steps"].items() if isinstance(value, dict) and "error" in value]
    print("failed steps:", failed or "none", flush=True)
    return 1 if failed else 0


def _uptime() -> float:
    return float(Path("/proc/uptime").read_text().split()[0])
