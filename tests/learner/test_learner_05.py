"""Lesson 05 / exercise 05: a learner who works the lesson's debugging loop fixes the profile.

The scripted learner runs lesson 05's own cells (solutions off), then works on the starter
only with what the lesson showed before the exercise: ``enforce`` for the symptom,
``staged_report`` (startup only, then with requests) for the refused syscalls, the
``name`` -> ``names`` repair from hands-on 3, and ``seccomp.write_profile`` to save. Its
answer must earn every point that can be checked here. Two typical mistakes (instructor
notes, "what learners get stuck on") keep partial credit and get the promised hint.
"""
from __future__ import annotations

import json

import pytest

from grader.exercises.common import EXERCISES_DIR
from tests.learner.learner import assert_full_marks, assert_partial_with_hint, copy_submission, grade_one, learner_run

EXERCISE = "05-fix-broken-profile"

#: What a learner types into a new cell, following the "How to work on it" box of the lesson.
ANSWER = '''
mine = json.loads((workspace / "profile.json").read_text())
first = loop.enforce(mine)
print("first try:", first.reason)
for requests in (False, True):
    refused = loop.staged_report(mine, requests=requests)
    print("staging run, requests =", requests, "refused:", refused)
    for rule in mine["syscalls"]:
        if rule.get("name") in refused:          # listed, yet refused: the runtime never saw this rule
            rule["names"] = [rule.pop("name")]
    listed = {name for rule in mine["syscalls"] for name in rule.get("names", [])}
    mine["syscalls"][0]["names"] += [name for name in refused if name not in listed]
last = loop.enforce(mine)
print("last try:", last.reason, "| serves the page:", driver.serves("nginx", ns))
seccomp.write_profile(mine, workspace / "profile.json")
'''


@pytest.fixture(scope="module")
def learner(tmp_path_factory, available):
    return learner_run("05", ANSWER, tmp_path_factory, available)


def test_learner_following_lesson_05_earns_full_marks(learner):
    out = learner.answer_output
    assert "first try: CrashLoopBackOff" in out, out
    assert "last try: Running | serves the page: True" in out, out
    assert_full_marks(grade_one(EXERCISE, learner.submission(EXERCISE)))


def test_mistake_staging_only_at_startup_gets_the_requests_hint(learner, tmp_path):
    """The learner stops once nginx starts: the syscall only answering needs is still missing."""
    sub = copy_submission(learner.submission(EXERCISE), tmp_path / "startup-only")
    profile = json.loads((sub / "profile.json").read_text())
    profile["syscalls"][0]["names"].remove("writev")
    (sub / "profile.json").write_text(json.dumps(profile, indent=2))
    report = grade_one(EXERCISE, sub)
    assert_partial_with_hint(report, "serves", "send requests during the staging run")
    assert {c["id"]: c["status"] for c in report["checks"]}["starts"] == "passed", report["printed"]


def test_mistake_submitting_the_staging_copy_gets_the_staging_hint(learner, tmp_path):
    """The learner saves the profile with the LOG default the staging run used."""
    sub = copy_submission(learner.submission(EXERCISE), tmp_path / "staged")
    profile = json.loads((sub / "profile.json").read_text())
    (sub / "profile.json").write_text(json.dumps(dict(profile, defaultAction="SCMP_ACT_LOG"), indent=2))
    report = grade_one(EXERCISE, sub, live=False)
    assert_partial_with_hint(report, "denies-by-default", "staging copy")


def test_mistake_keeping_the_dead_name_rule_is_pointed_at_not_answered(tmp_path):
    """The learner allows listen in the big rule but leaves the legacy ``"name"`` rule in the file.

    The profile then cannot be saved with ``seccomp.write_profile`` (the validator refuses it); a
    hand-edited file gets the ``valid`` check's pointer (what and where, then ``crictl inspect``),
    never the value to write."""
    sub = tmp_path / "dead-rule"
    sub.mkdir()
    profile = json.loads((EXERCISES_DIR / EXERCISE / "starter" / "profile.json").read_text())
    profile["syscalls"][0]["names"] += ["bind", "listen", "writev"]
    (sub / "profile.json").write_text(json.dumps(profile, indent=2))
    report = grade_one(EXERCISE, sub, live=False)
    valid = next(c for c in report["checks"] if c["id"] == "valid")
    feedback = valid["message"] + " " + valid["hint"]
    assert valid["status"] == "failed", report["printed"]
    assert "$.syscalls[1]" in feedback and "crictl inspect" in feedback, report["printed"]
    assert '"names": ["listen"]' not in feedback and "write \"names\"" not in feedback, feedback
