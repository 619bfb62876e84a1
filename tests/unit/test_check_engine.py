"""The grading engine's scheduling: live checks at once, reports as if run in order, cancel, deferred cleanup."""
import threading
import time

from grader.context import Exercise
from grader.engine import CANCELLED, grade_folder
from grader.model import Check, NotChecked
from labs.errors import LabError


def _exercise(*checks):
    return Exercise(id="99-test", title="t", files={"f": "f.txt"}, checks=checks)


def test_live_checks_run_at_the_same_time(tmp_path):
    both = threading.Barrier(2, timeout=5)   # breaks (and the checks fail) unless both wait together

    def meet(ctx):
        both.wait()
        return "met"
    report = grade_folder(_exercise(Check("a", "A", 1, meet, live=True), Check("b", "B", 1, meet, live=True)),
                          tmp_path)
    assert [c.status for c in report.checks] == ["passed", "passed"], str(report)


def test_a_check_started_early_reports_what_the_sequential_rules_say(tmp_path):
    ran = []

    def pod_fails(ctx):
        time.sleep(0.2)
        raise LabError("the pod did not start", fix="audit again")

    def probe(ctx):
        ran.append("probe")
        return "probe ok"

    def skip(ctx):
        raise NotChecked("no AppArmor here")
    exercise = _exercise(
        Check("static", "S", 1, lambda ctx: "fine"),
        Check("bad-static", "BS", 1, lambda ctx: (_ for _ in ()).throw(LabError("broken"))),
        Check("pod", "P", 2, pod_fails, live=True, needs=("static",)),
        Check("probe", "Q", 1, probe, live=True, needs=("pod",)),
        Check("never", "N", 1, probe, live=True, needs=("bad-static",)),
        # through a live check: exercise 06's write-denied needs enforced, which needs the deny rule
        # (started anyway, it ran a learner's pods for 100 s on the emulated node at stop 23)
        Check("never-either", "NE", 1, probe, live=True, needs=("never",)),
        Check("aa", "AA", 1, skip, live=True),
        Check("after-aa", "AFT", 1, lambda ctx: "x", needs=("aa",)),
    )
    report = grade_folder(exercise, tmp_path)
    got = {c.id: (c.status, c.message) for c in report.checks}
    assert [c.id for c in report.checks] == ["static", "bad-static", "pod", "probe", "never", "never-either", "aa",
                                             "after-aa"]
    assert got["pod"] == ("failed", "the pod did not start")
    assert got["probe"] == ("failed", "not graded yet: first fix 'P'")   # ran early, reported as in order
    assert got["never"] == ("failed", "not graded yet: first fix 'BS'")
    assert got["never-either"] == ("failed", "not graded yet: first fix 'N'")
    assert ran == ["probe"]   # a check whose static prerequisite failed, directly or not, never starts
    assert got["aa"] == ("not_checked", "not checked: no AppArmor here")
    assert got["after-aa"] == ("not_checked", "not checked: depends on 'AA' (because: no AppArmor here)")


def test_memo_computes_a_shared_pod_once_across_threads(tmp_path):
    starts = []

    def pod(ctx):
        def start():
            starts.append(1)
            time.sleep(0.2)
            return "app"
        return ctx.memo("pod", start)
    exercise = _exercise(*(Check(f"c{i}", f"C{i}", 1, pod, live=True) for i in range(4)))
    report = grade_folder(exercise, tmp_path)
    assert report.score == 4 and starts == [1]


def test_cancel_stops_between_checks_and_says_so(tmp_path):
    cancel = threading.Event()
    ran = []

    def first(ctx):
        cancel.set()   # a newer press arrives while this check runs
        return "ok"
    exercise = _exercise(Check("a", "A", 1, first), Check("b", "B", 1, lambda ctx: ran.append("b") or "ok"),
                         Check("c", "C", 1, lambda ctx: ran.append("c") or "ok", live=True))
    report = grade_folder(exercise, tmp_path, cancel=cancel)
    assert report.problem == CANCELLED and ran == [] and [c.id for c in report.checks] == ["a"]


def test_deferred_cleanup_hands_over_the_stack_unclosed_and_progress_counts_up(tmp_path):
    closed, handed, seen = [], [], []

    def creates(ctx):
        ctx.cleanup.callback(closed.append, "namespace")
        return "created"
    exercise = _exercise(Check("s", "S", 1, lambda ctx: "ok"), Check("l", "L", 1, creates, live=True))
    report = grade_folder(exercise, tmp_path, defer_cleanup=handed.append,
                          progress=lambda done, total, what: seen.append((done, total)))
    assert report.score == 2 and closed == [] and len(handed) == 1
    handed[0].close()
    assert closed == ["namespace"]
    assert seen[-1] == (2, 2) and [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_cleanup_runs_in_line_without_a_taker(tmp_path):
    closed = []
    exercise = _exercise(Check("l", "L", 1, lambda ctx: ctx.cleanup.callback(closed.append, 1) and "ok", live=True))
    assert grade_folder(exercise, tmp_path).score == 1 and closed == [1]
