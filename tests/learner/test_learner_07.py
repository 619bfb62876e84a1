"""Lesson 07 / exercise 07: a learner who follows the lesson reviews, then enforces.

The scripted learner runs lesson 07's own cells (solutions off), then builds its answer only
with what the lesson showed before the exercise: ``parse_audit_text`` on the ``complain.log``
in its folder, the ``comm`` review with ``Counter``, ``profile_from_records`` on the records
it kept (with the lesson's ``base_rules`` include, copied as shown), and ``write_text``. On a
machine without the AppArmor LSM the live check is *not checked* (and says why); every other
point must be earned. Two typical mistakes (instructor
notes) keep partial credit and get the promised hint: enforcing the recording unreviewed,
and pasting the rules into the starter that is still in complain mode.
"""
from __future__ import annotations

import pytest

from grader.exercises.common import EXERCISES_DIR
from labs import apparmor
from labs.audit import parse_audit_text
from tests.learner.learner import assert_full_marks, assert_partial_with_hint, copy_submission, grade_one, learner_run

EXERCISE = "07-apparmor-complain-enforce"

#: What a learner types into a new cell after reading the exercise.
ANSWER = '''
mine = parse_audit_text((workspace / "complain.log").read_text()).apparmor
print(Counter(r.comm for r in mine))
print([(r.comm, r.name, r.requested_mask) for r in mine if r.comm == "sh"])
reviewed = [r for r in mine if r.comm != "sh"]
profile = apparmor.profile_from_records("course-app", reviewed, base_rules=("#include <abstractions/base>",),
                                       flags=("attach_disconnected",))
(workspace / "app.apparmor").write_text(profile)
print(apparmor.check_profile_syntax(workspace / "app.apparmor"))
'''


@pytest.fixture(scope="module")
def learner(tmp_path_factory, available):
    return learner_run("07", ANSWER, tmp_path_factory, available, needs=("cluster",))


def _records(submission):
    return parse_audit_text((submission / "complain.log").read_text()).apparmor


def test_learner_following_lesson_07_earns_full_marks(learner):
    assert "/etc/passwd" in learner.answer_output, learner.answer_output
    report = grade_one(EXERCISE, learner.submission(EXERCISE))
    assert_full_marks(report)
    passed = {c["id"] for c in report["checks"] if c["status"] == "passed"}
    assert {"parses", "enforce-mode", "covers-records", "reviewed", "not-wide-open"} <= passed, report["printed"]


def test_mistake_enforcing_the_recording_unreviewed_gets_the_review_hint(learner, tmp_path):
    """The learner generates the profile from every record, the debugging shell's included."""
    sub = copy_submission(learner.submission(EXERCISE), tmp_path / "unreviewed")
    (sub / "app.apparmor").write_text(
        apparmor.profile_from_records("course-app", _records(sub), flags=("attach_disconnected",)))
    report = grade_one(EXERCISE, sub)
    assert_partial_with_hint(report, "reviewed", "review")
    assert "/etc/passwd" in report["printed"], report["printed"]


def test_mistake_rules_pasted_into_the_complain_starter_gets_the_flags_hint(learner, tmp_path):
    """The learner pastes reviewed rules into the starter and forgets its complain flag."""
    sub = copy_submission(learner.submission(EXERCISE), tmp_path / "complain")
    starter = (EXERCISES_DIR / EXERCISE / "starter" / "app.apparmor").read_text()
    rules = apparmor.rules_from_records([r for r in _records(sub) if r.comm != "sh"])
    (sub / "app.apparmor").write_text(starter.replace("REPLACE_ME", "\n  ".join(rules)))
    report = grade_one(EXERCISE, sub)
    assert_partial_with_hint(report, "enforce-mode", "flags=(")
