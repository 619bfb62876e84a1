"""Runs INSIDE the AppArmor VM: the step runner both guest programs share.

A guest program registers steps with ``@step(name)``; :func:`run_steps` runs them in order,
keeps each one's result (or its traceback) and duration, and writes ``results.json`` into the
share for the host-side tests. Each step's start is printed at once, so guest.log names the
step a hung run was in; a long step saves what it has so far with :func:`partial`, so a guest
that hangs in it still leaves those facts.
"""
from __future__ import annotations

import json
import os
import time
import traceback
from pathlib import Path

SHARE = Path("/mnt/course")
STEPS: list = []
RESULTS: dict = {"kernel": os.uname().release, "steps": {}, "seconds": {}, "partial": {}}


def step(name):
    """Register a step; run_steps() runs them in registration order."""
    def wrap(fn):
        STEPS.append((name, fn))
        return fn
    return wrap


def run_steps(stop_after_failure: tuple[str, ...] = ()) -> int:
    """Run every step; a failed step named in ``stop_after_failure`` skips the rest (they
    need what it makes). Returns the guest script's exit status."""
    results = RESULTS
    for name, fn in STEPS:
        print(f"step {name} ... (uptime {uptime():.0f}s)", flush=True)
        started = time.monotonic()
        try:
            results["steps"][name] = fn()
        except Exception:  # noqa: BLE001 - the host test shows the traceback
            results["steps"][name] = {"error": traceback.format_exc()}
            print(results["steps"][name]["error"], flush=True)
        results["seconds"][name] = round(time.monotonic() - started, 2)
        results["partial"].pop(name, None)
        _save()
        if name in stop_after_failure and "error" in (results["steps"][name] or {}):
            print(f"step {name} failed: the steps after it need it, stopping", flush=True)
            break
    failed = [name for name, value in results["steps"].items() if isinstance(value, dict) and "error" in value]
    print("failed steps:", failed or "none", flush=True)
    return 1 if failed else 0


def partial(name: str, value) -> None:
    """What step ``name`` has found so far, in results.json at once (replaced by its result)."""
    RESULTS["partial"][name] = value
    _save()


def _save() -> None:
    (SHARE / "results.json").write_text(json.dumps(RESULTS, indent=1, default=str))


def uptime() -> float:
    return float(Path("/proc/uptime").read_text().split()[0])
