"""One grading per learner and exercise, the newest wins: the coordinator, check() and the panel."""
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

import pytest

import grader
from grader import api
from grader.checkrun import CheckRuns
from grader.context import Exercise
from grader.engine import CANCELLED
from grader.model import Check
from labs import widgets


def test_a_new_run_cancels_and_aborts_the_one_it_replaces():
    aborted = []
    runs = CheckRuns(abort=lambda token, config: aborted.append((token, config)))
    first = runs.start(("ana", "04"), "default")
    other = runs.start(("ben", "04"), "default")
    second = runs.start(("ana", "04"), "default")
    assert first.cancel.is_set() and not other.cancel.is_set() and not second.cancel.is_set()
    assert first.token != second.token
    assert runs.wait_idle(5) and aborted == [(first.token, first.cluster)] and first.cluster.config == "default"
    runs.finish(first)   # the replaced run ending late must not unregister its successor
    assert runs.current(("ana", "04")) is second
    runs.finish(second)
    assert runs.current(("ana", "04")) is None and runs.cancelled == 1 and runs.started == 3


def test_deferred_cleanup_runs_in_the_background_and_reports_trouble(tmp_path):
    runs = CheckRuns(ledger=lambda: tmp_path)
    done = []
    run, other = runs.start("a", "default"), runs.start("b", "default")
    assert sorted(p.stem for p in tmp_path.iterdir()) == sorted([run.token, other.token])
    stack = contextlib.ExitStack()
    stack.callback(lambda: (time.sleep(0.2), done.append("gone")))
    runs.defer_cleanup(run, stack)
    assert done == []
    broken = contextlib.ExitStack()
    broken.callback(lambda: 1 / 0)
    runs.defer_cleanup(other, broken)
    assert runs.wait_idle(5) and done == ["gone"]
    assert len(runs.errors) == 1 and "ZeroDivisionError" in runs.errors[0]
    assert [p.stem for p in tmp_path.iterdir()] == [other.token]   # its objects may still be there


def test_runs_of_a_dead_process_are_swept_by_the_next_start(tmp_path):
    aborted = []
    runs = CheckRuns(abort=lambda token, config: aborted.append((token, config)), ledger=lambda: tmp_path)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (tmp_path / "deadbeef00.json").write_text(json.dumps({"config": "multi-node", "pid": int(gone.stdout)}))
    (tmp_path / "alive00000.json").write_text(json.dumps({"config": "default", "pid": os.getpid()}))
    run = runs.start("a", "default")
    assert runs.wait_idle(5) and aborted == [("deadbeef00", "multi-node")]
    assert sorted(p.stem for p in tmp_path.iterdir()) == sorted(["alive00000", run.token])
    runs.finish(run)   # no cleanup was handed over: nothing of it reached the cluster
    assert sorted(p.stem for p in tmp_path.iterdir()) == ["alive00000"]


@pytest.fixture
def slow_exercise(monkeypatch):
    """A fake exercise whose first live check waits until its run is aborted (or 5 s); no cluster."""
    aborted, started = [], []
    runs = CheckRuns(abort=lambda token, config: aborted.append(token))
    monkeypatch.setattr(api, "CHECK_RUNS", runs)

    def waits(ctx):
        started.append(ctx.token)
        deadline = time.monotonic() + (5 if len(started) == 1 else 0)   # only the first press is slow
        while ctx.token not in aborted and time.monotonic() < deadline:
            time.sleep(0.02)
        return f"finished {ctx.token}"
    exercise = Exercise(id="98-slow", title="slow", files={"f": "f.txt"},
                        checks=(Check("live", "Live", 1, waits, live=True),))
    monkeypatch.setitem(grader.exercises.EXERCISES, "98-slow", exercise)
    return runs, aborted, started


def test_check_newest_call_wins_and_the_old_one_comes_back_cancelled(tmp_path, slow_exercise):
    runs, aborted, started = slow_exercise
    reports, ended = {}, {}

    def old_press():
        reports["old"] = grader.check("98-slow", submission=tmp_path, learner="ana")
        ended["old"] = time.monotonic()
    old = threading.Thread(target=old_press)
    old.start()
    while not started:
        time.sleep(0.01)
    t0 = time.monotonic()
    reports["new"] = grader.check("98-slow", submission=tmp_path, learner="ana", progress=lambda *a: None)
    old.join(5)
    assert reports["old"].problem == CANCELLED and aborted == [started[0]]
    assert ended["old"] - t0 < 3   # the old run's wait ended when it was aborted, not at its 5 s timeout
    assert reports["new"].problem == "" and reports["new"].score == 1
    assert runs.wait_idle(5) and runs.current(("ana", "98-slow")) is None


def test_panel_shows_only_the_newest_press(monkeypatch):
    """Five quick clicks; earlier presses finish last, yet the panel shows press 5's verdict."""
    @dataclass
    class Verdict:
        press: int

        def __str__(self):
            return f"verdict of press {self.press}"

    count = iter(range(1, 100))
    lock = threading.Lock()
    progress_seen = []

    def check(exercise_id, progress=None):
        with lock:
            press = next(count)
        progress(0, 2, "starting")
        progress_seen.append(press)
        time.sleep(0.1 * (6 - press))   # the oldest press is the slowest
        return Verdict(press)
    panel = widgets.CheckPanel(check, "04-x", run_now=False)
    threads = []
    for _ in range(5):
        panel.button.click()
        threads.append(panel._thread)
    for thread in threads:
        thread.join(5)
    assert panel.report == Verdict(5) and panel.fallback_text == "verdict of press 5" and panel.runs == 1
    assert sorted(progress_seen) == [1, 2, 3, 4, 5] and panel.bar.layout.visibility == "hidden"
