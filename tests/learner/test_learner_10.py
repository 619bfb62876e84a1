"""Lesson 10 / exercise 10: a learner who follows the bring-your-own lesson with the notes
service instead of redis builds a profile that passes.

The scripted learner runs lesson 10's cells (solutions off), then, in a new cell, repeats them
for the ``pyweb`` workload: two driven recordings merged, the staged profile run under the full
drive, the staging report added, saved with ``seccomp.write_profile``. Its answer must earn
every point that can be checked here. Typical mistakes keep partial credit with the promised
hint: submitting the staged (LOG-default) profile, a recording that was never driven (the
service starts, but cannot answer a request), and a probe exec'd into the service while it was
recorded (``unshare`` ends up allowed).
"""
from __future__ import annotations

import json

import pytest

from tests.learner.learner import assert_full_marks, assert_partial_with_hint, copy_submission, grade_one, learner_run

EXERCISE = "10-bring-your-own"

ANSWER = '''
notes = workload("pyweb")
notes_manifest = lessons.asset("10", "pyweb-enforced.yaml")
runs = [audit_pod(notes_manifest, ns, drive=PodDriver(notes, client), seconds=1) for _ in range(2)]
merged = runs[0].all_syscalls() | runs[1].all_syscalls()
cluster.install_seccomp_profile("course-pyweb-staged.json", seccomp.build_profile(merged, staging=True))
notes_report = staging_report(lessons.asset("10", "pyweb-staged.yaml"), ns, drive=PodDriver(notes, client))
print("would break:", sorted(notes_report.would_break))
answer = seccomp.build_profile(merged | set(notes_report.would_break))
seccomp.write_profile(answer, workspace / "profile.json")
# kept aside for a mistake below: a recording of the service that nobody drove
pods.delete_pod("pyweb", ns)      # the staging run's pod
undriven = audit_pod(notes_manifest, ns, seconds=1)
seccomp.write_profile(seccomp.build_profile(undriven.all_syscalls()), workspace / "undriven.json")
seccomp.profile_summary(workspace / "profile.json")
'''


@pytest.fixture(scope="module")
def learner(tmp_path_factory, available):
    return learner_run("10", ANSWER, tmp_path_factory, available)


def _variant(learner, tmp_path, name: str, change) -> dict:
    sub = copy_submission(learner.submission(EXERCISE), tmp_path / name)
    profile = json.loads((sub / "profile.json").read_text())
    (sub / "profile.json").write_text(json.dumps(change(profile, sub), indent=2))
    return grade_one(EXERCISE, sub)


def test_learner_following_lesson_10_earns_full_marks(learner):
    assert "would break: [" in learner.answer_output, learner.answer_output
    assert_full_marks(grade_one(EXERCISE, learner.submission(EXERCISE)))


def test_mistake_submitting_the_staged_profile_gets_the_errno_hint(learner, tmp_path):
    report = _variant(learner, tmp_path, "staged", lambda p, _: {**p, "defaultAction": "SCMP_ACT_LOG"})
    assert_partial_with_hint(report, "denies-by-default", "SCMP_ACT_ERRNO")


def test_mistake_an_undriven_recording_gets_the_drive_hint(learner, tmp_path):
    report = _variant(learner, tmp_path, "undriven",
                      lambda _, sub: json.loads((sub / "undriven.json").read_text()))
    assert_partial_with_hint(report, "serves", "client drives every step")


def test_mistake_a_probe_recorded_with_the_service_gets_the_unshare_hint(learner, tmp_path):
    def with_unshare(profile, _):
        profile["syscalls"][0]["names"] = sorted(profile["syscalls"][0]["names"] + ["unshare"])
        return profile
    report = _variant(learner, tmp_path, "unshare", with_unshare)
    assert {c["id"]: c["status"] for c in report["checks"]}["serves"] == "passed", report["printed"]
    assert_partial_with_hint(report, "unshare-denied", "not something the service does")
