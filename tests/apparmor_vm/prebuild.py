"""The AppArmor tier's cold builds, run in the background from the start of the test session.

Why: on a cold 2-core machine the VM image (debootstrap, about 130 s) and the docker disk (about
75 s) were built inside this tier, after every other tier had run, although neither needs a
cluster or a QEMU boot. Started when collection ends, they overlap the unit, docker and podman
tiers; the session fixtures wait for what they need (``ColdBuilds.wait``).

The background thread never writes to the terminal (pytest's output capture belongs to the
main thread): it keeps its progress lines, and the fixture that waits says them, with the
moment of the build each one came from.
"""
from __future__ import annotations

import threading
import time
from concurrent.futures import Future
from concurrent.futures import wait as wait_for

#: how often a waiting fixture says the build's new progress lines
REPLAY_EVERY = 5


class ColdBuilds:
    """Named build steps run one after the other in a daemon thread; each has a Future.

    A step is ``name -> fn(results, log)``: it gets the earlier steps' results. A step that
    raises (``pytest.skip`` included) fails itself and every later step with that exception,
    which the waiting fixture raises in its own thread.
    """

    def __init__(self, steps: dict):
        self.steps = steps
        self.futures = {name: Future() for name in steps}
        self.seconds: dict[str, float] = {}
        self.waited = 0.0
        self._lines: list[str] = []
        self._said = 0
        self._started = time.monotonic()
        threading.Thread(target=self._run, name="apparmor-cold-builds", daemon=True).start()

    def _log(self, msg: str) -> None:
        self._lines.append(f"(background build, {time.monotonic() - self._started:.0f}s) {msg}")

    def _run(self) -> None:
        results: dict = {}
        for name, build in self.steps.items():
            started = time.monotonic()
            try:
                results[name] = build(results, self._log)
            except BaseException as exc:   # pytest.skip's Skipped too: the fixture re-raises it
                for later in list(self.steps)[list(self.steps).index(name):]:
                    self.futures[later].set_exception(exc)
                return
            self.seconds[name] = round(time.monotonic() - started, 1)
            self.futures[name].set_result(results[name])

    def wait(self, name: str, announce):
        """The step's result (or its exception), saying the build's progress lines meanwhile."""
        future = self.futures[name]
        if not future.done():
            announce(f"waiting for the background build of {name}")
        started = time.monotonic()
        while True:
            finished = bool(wait_for([future], timeout=REPLAY_EVERY).done)
            while self._said < len(self._lines):
                announce(self._lines[self._said])
                self._said += 1
            if finished:
                break
        self.waited += time.monotonic() - started
        return future.result()

    def summary(self) -> str:
        built = ", ".join(f"{name} {seconds:.0f}s" for name, seconds in self.seconds.items())
        return (f"AppArmor tier's background builds (run during the earlier tiers): {built or 'none finished'}; "
                f"the tier waited {self.waited:.0f}s for them")
