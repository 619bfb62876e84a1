"""The Check button's rules: one grading per learner and exercise at a time, the newest wins.

Why: a learner who presses Check 50 times in a row must not start 50 gradings on the
cluster. Each press gets its own token (its own namespace and node files); starting a run
cancels the one it replaces (it stops between checks) and removes that run's cluster objects
at once, so pods it is still waiting for fail fast instead of running to their timeouts. A
finished run's cleanup (deleting its namespace takes seconds) happens in the background
after the verdict is shown; :meth:`CheckRuns.wait_idle` waits for it (tests, shutdown).

A kernel can die before that cleanup ran (restarted, killed). Each run is written to a ledger
(``<state>/grader-runs/<token>.json`` with the process id) until its cleanup finished; the
next run started anywhere on this machine removes the objects of runs whose process is gone.
"""
from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from pathlib import Path

from labs.cluster.handle import Cluster, ClusterRef, as_cluster
from labs.paths import state_dir

from .checks.live import remove_token_objects
from .context import make_token
from .engine import close_cleanup

__all__ = ["CheckRun", "CheckRuns", "CHECK_RUNS"]


@dataclass
class CheckRun:
    """One press of Check: its token (names its cluster objects) and the flag that stops it."""

    key: Hashable
    token: str
    cluster: Cluster
    cancel: threading.Event = field(default_factory=threading.Event)
    cleanup_handed: bool = False


class CheckRuns:
    """Who is grading what right now, and the cleanups still running in the background.

    ``abort(token, cluster)`` removes a cancelled run's cluster objects (normally
    ``grader.checks.live.remove_token_objects``); it runs in a background thread.
    ``ledger()`` is the folder of runs not cleaned up yet (None: no ledger).
    """

    def __init__(self, abort: Callable[[str, ClusterRef], None] | None = None,
                 ledger: Callable[[], Path] | None = None):
        self._abort = abort
        self._ledger = ledger
        self._lock = threading.Lock()
        self._active: dict[Hashable, CheckRun] = {}
        self._background: set[threading.Thread] = set()
        self.errors: list[str] = []   # background cleanup trouble, for the instructor
        self.started = self.cancelled = 0

    def start(self, key: Hashable, cluster: ClusterRef) -> CheckRun:
        """Register a new run for ``key``; the run it replaces is cancelled and aborted."""
        run = CheckRun(key, make_token(str(key), uuid.uuid4().hex), as_cluster(cluster))
        self._sweep_dead_runs()
        self._note(run)
        with self._lock:
            old = self._active.get(key)
            self._active[key] = run
            self.started += 1
        if old is not None:
            old.cancel.set()
            self.cancelled += 1
            if self._abort is not None:
                self._in_background(f"abort {old.token}", self._abort, old.token, old.cluster)
        return run

    def finish(self, run: CheckRun) -> None:
        with self._lock:
            if self._active.get(run.key) is run:
                del self._active[run.key]
        if not run.cleanup_handed:   # it never reached the cluster (e.g. no file to grade)
            self._forget(run.token)

    def current(self, key: Hashable) -> CheckRun | None:
        with self._lock:
            return self._active.get(key)

    def defer_cleanup(self, run: CheckRun, stack: contextlib.ExitStack) -> None:
        """Close a finished run's cleanup stack in the background (the verdict comes first)."""
        run.cleanup_handed = True

        def close():
            problem = close_cleanup(stack)
            if problem:
                raise RuntimeError(problem)
            self._forget(run.token)
        self._in_background(f"cleanup {run.token}", close)

    def wait_idle(self, timeout: float = 300) -> bool:
        """Wait for every background cleanup and abort; True when none is left."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                threads = list(self._background)
            if not threads or time.monotonic() >= deadline:
                return not threads
            for thread in threads:
                thread.join(max(0.0, deadline - time.monotonic()))

    def _in_background(self, what: str, fn: Callable, *args) -> None:
        def body():
            try:
                fn(*args)
            except Exception as exc:  # noqa: BLE001 - reported, never raised into a notebook
                message = f"{what} failed: {type(exc).__name__}: {exc}"
                self.errors.append(message)
                print(f"grader: {message}", file=sys.stderr)
            finally:
                with self._lock:
                    self._background.discard(threading.current_thread())
        # not a daemon: an exiting kernel still finishes removing what its checks created
        thread = threading.Thread(target=body, name=f"grader-{what}", daemon=False)
        with self._lock:
            self._background.add(thread)
        thread.start()


    def _note(self, run: CheckRun) -> None:
        if self._ledger is not None:
            folder = self._ledger()
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{run.token}.json").write_text(json.dumps({"config": run.cluster.config, "pid": os.getpid()}))

    def _forget(self, token: str) -> None:
        if self._ledger is not None:
            (self._ledger() / f"{token}.json").unlink(missing_ok=True)

    def _sweep_dead_runs(self) -> None:
        """Remove the cluster objects of runs whose process died before cleaning up."""
        if self._ledger is None or self._abort is None or not self._ledger().is_dir():
            return
        for entry in sorted(self._ledger().glob("*.json")):
            try:
                noted = json.loads(entry.read_text())
                alive = _process_alive(int(noted["pid"]))
            except (OSError, ValueError, KeyError, TypeError):
                continue   # being written, or already swept by another process
            if not alive:
                entry.unlink(missing_ok=True)
                self._in_background(f"sweep {entry.stem}", self._abort, entry.stem, noted.get("config", "default"))


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True   # another user's live process
    return True


def _ledger_folder() -> Path:
    return state_dir() / "grader-runs"


def _remove_token_objects(token: str, cluster: ClusterRef) -> None:
    remove_token_objects(token, cluster)


#: the process's coordinator (a notebook kernel is one learner's process)
CHECK_RUNS = CheckRuns(abort=_remove_token_objects, ledger=_ledger_folder)
