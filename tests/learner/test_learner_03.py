"""Lesson 03 / exercise 03: a learner who follows the audit lesson saves a list that passes.

The scripted learner runs lesson 03's own cells (solutions off), then, in a new cell, saves the
lesson's audit with the one line the exercise section shows. For the first typical mistake
(instructor notes: "audit too short") it also records a real audit of nginx that is never
driven, with the same ``audit_pod`` call the lesson showed, only without ``drive=``. Its answer
must earn every point that can be checked here; the two typical mistakes keep partial credit
and get the promised hint.
"""
from __future__ import annotations

import pytest

from labs.syscalls import all_syscalls
from tests.learner.learner import assert_full_marks, assert_partial_with_hint, copy_submission, grade_one, learner_run

EXERCISE = "03-audit"

#: What a learner types into a new cell below the brief (the line the exercise section shows),
#: plus, kept aside for the mistake below, an audit of nginx that only starts and stops.
ANSWER = '''
(workspace / "syscalls.txt").write_text("\\n".join(sorted(audit.syscalls["nginx"])) + "\\n")
startup = audit_pod(lessons.asset("03", "nginx-audit.yaml"), ns, seconds=3)
(workspace / "startup-only.txt").write_text("\\n".join(sorted(startup.syscalls["nginx"])) + "\\n")
print("driven:", len(audit.syscalls["nginx"]), "| startup only:", len(startup.syscalls["nginx"]))
'''


@pytest.fixture(scope="module")
def learner(tmp_path_factory, available):
    return learner_run("03", ANSWER, tmp_path_factory, available)


def test_learner_following_lesson_03_earns_full_marks(learner):
    assert "driven:" in learner.answer_output, learner.answer_output
    assert_full_marks(grade_one(EXERCISE, learner.submission(EXERCISE)))


def test_mistake_audit_without_driving_gets_the_coverage_hint(learner, tmp_path):
    """The learner records nginx starting and stopping, never serving a request."""
    sub = copy_submission(learner.submission(EXERCISE), tmp_path / "startup-only")
    (sub / "syscalls.txt").write_text((sub / "startup-only.txt").read_text())
    report = grade_one(EXERCISE, sub)
    assert_partial_with_hint(report, "covers-reference", "coverage: an audit sees only the code paths you drive")


def test_mistake_listing_every_syscall_gets_the_padding_hint(learner, tmp_path):
    """The learner plays it safe and lists every syscall the course's table knows."""
    sub = copy_submission(learner.submission(EXERCISE), tmp_path / "everything")
    (sub / "syscalls.txt").write_text("\n".join(all_syscalls("x86_64")) + "\n")
    report = grade_one(EXERCISE, sub, live=False)
    assert_partial_with_hint(report, "not-padded", "protects nothing")
