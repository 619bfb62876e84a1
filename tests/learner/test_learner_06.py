"""Lesson 06 / exercise 06: a learner who follows the lesson writes a logged /etc denial.

The scripted learner runs lesson 06's own cells (solutions off), then edits the two starter
files only the way the lesson showed before the exercise (read the text, ``replace``,
``write_text``, as it did for ``course-demo``), using the rule qualifiers of the concept
section and the field of ``nginx-apparmor-field.yaml``. On a machine without the AppArmor
LSM the two live checks are *not checked* (and say why); every other point must be earned.
Two typical mistakes (instructor notes, "what learners get stuck on") keep partial credit
and get the promised hint: a plain ``deny`` (silent), and the file name used as the
profile name.
"""
from __future__ import annotations

import pytest

from tests.learner.learner import assert_full_marks, assert_partial_with_hint, copy_submission, grade_one, learner_run

EXERCISE = "06-apparmor-deny-write"

#: What a learner types into a new cell after reading the exercise.
ANSWER = '''
profile_file = workspace / "deny-write.apparmor"
profile_file.write_text(profile_file.read_text().replace("REPLACE_ME", "audit deny /etc/** w,"))
pod_file = workspace / "pod.yaml"
field = """securityContext:
        appArmorProfile:
          type: Localhost
          localhostProfile: course-deny-write"""
pod_file.write_text(pod_file.read_text().replace("# REPLACE: ask for your AppArmor profile here", field))
print(apparmor.check_profile_syntax(profile_file))
'''


@pytest.fixture(scope="module")
def learner(tmp_path_factory, available):
    return learner_run("06", ANSWER, tmp_path_factory, available, needs=("cluster",))


def test_learner_following_lesson_06_earns_full_marks(learner):
    assert "course-deny-write" in learner.answer_output, learner.answer_output
    report = grade_one(EXERCISE, learner.submission(EXERCISE))
    assert_full_marks(report)
    passed = {c["id"] for c in report["checks"] if c["status"] == "passed"}
    assert {"parses", "deny-write", "denial-logged", "pod-uses-profile"} <= passed, report["printed"]


def test_mistake_plain_deny_is_silent_and_gets_the_qualifier_hint(learner, tmp_path):
    """The learner refuses the write but with a plain `deny`: nothing would be logged."""
    sub = copy_submission(learner.submission(EXERCISE), tmp_path / "plain-deny")
    profile = sub / "deny-write.apparmor"
    profile.write_text(profile.read_text().replace("audit deny /etc/** w,", "deny /etc/** w,"))
    report = grade_one(EXERCISE, sub)
    assert_partial_with_hint(report, "denial-logged", "Rule Qualifiers")
    assert "without logging" in report["printed"], report["printed"]


def test_mistake_file_name_as_profile_name_gets_the_name_hint(learner, tmp_path):
    """The learner puts the file's name into localhostProfile instead of the profile's name."""
    sub = copy_submission(learner.submission(EXERCISE), tmp_path / "file-name")
    pod = sub / "pod.yaml"
    pod.write_text(pod.read_text().replace("localhostProfile: course-deny-write", "localhostProfile: deny-write"))
    report = grade_one(EXERCISE, sub)
    assert_partial_with_hint(report, "pod-uses-profile", "name written after `profile`")
