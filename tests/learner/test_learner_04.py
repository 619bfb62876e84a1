"""Lesson 04 / exercise 04: a learner who follows the enforce lesson builds a profile that passes.

The scripted learner runs lesson 04's own cells (solutions off): the requests-only audit, the
staging run under the full drive, the enforced profile with the report's syscalls added and
``mkdir`` narrowed to mode 0700. In a new cell it then narrows ``clone`` with the mask of the
``CLONE_NEW*`` flags the lesson printed (``allow_only_with_argument`` with
``SCMP_CMP_MASKED_EQ``, as the lesson described) and saves it with ``seccomp.write_profile``.
Its answer must earn every point that can be checked here. Three typical mistakes keep partial
credit and get the promised hint: ``clone`` "justified" by a comment while it still allows
``CLONE_NEWUSER``, ``mkdir`` left allowed for every mode, and a profile enforced straight from
the requests-only audit (no staging: the reload breaks).
"""
from __future__ import annotations

import json

import pytest

from tests.learner.learner import assert_full_marks, assert_partial_with_hint, copy_submission, grade_one, learner_run

EXERCISE = "04-least-privilege-nginx"

ANSWER = '''
print("would break:", sorted(report.would_break))
answer = seccomp.allow_only_with_argument(narrowed, "clone", index=0, value=CLONE_NAMESPACES_MASK,
                                          op="SCMP_CMP_MASKED_EQ")
seccomp.write_profile(answer, workspace / "profile.json")
# kept aside for a mistake below: the same steps from the requests-only audit, without staging
unstaged = seccomp.allow_only_with_argument(seccomp.build_profile(observed), "mkdir", index=1, value=0o700)
unstaged = seccomp.allow_only_with_argument(unstaged, "clone", index=0, value=CLONE_NAMESPACES_MASK,
                                            op="SCMP_CMP_MASKED_EQ")
seccomp.write_profile(unstaged, workspace / "unstaged.json")
seccomp.profile_summary(workspace / "profile.json")
'''


@pytest.fixture(scope="module")
def learner(tmp_path_factory, available):
    return learner_run("04", ANSWER, tmp_path_factory, available)


def _saved(sub):
    return json.loads((sub / "profile.json").read_text())


def test_learner_following_lesson_04_earns_full_marks(learner):
    out = learner.answer_output
    assert "would break: [" in out and "'kill'" in out, out   # staging caught the reload's kill (a real gap)
    assert_full_marks(grade_one(EXERCISE, learner.submission(EXERCISE)))


def test_mistake_clone_justified_by_a_comment_gets_the_mask_hint(learner, tmp_path):
    """clone in its own rule with a comment, for every flag: the comment passes, the attack works."""
    sub = copy_submission(learner.submission(EXERCISE), tmp_path / "clone-comment")
    profile = _saved(sub)
    for rule in profile["syscalls"]:
        if rule["names"] == ["clone"]:
            rule.pop("args")
            rule["comment"] = "nginx forks its worker processes"
    (sub / "profile.json").write_text(json.dumps(profile, indent=2))
    report = grade_one(EXERCISE, sub)
    status = {c["id"]: c["status"] for c in report["checks"]}
    assert status["no-unjustified-danger"] == status["unshare-denied"] == "passed", report["printed"]
    assert_partial_with_hint(report, "clone-newuser-denied", "none of the CLONE_NEW* flags")


def test_mistake_mkdir_allowed_for_every_mode_gets_the_argument_hint(learner, tmp_path):
    """The learner skips the argument filter: mkdir stays in the plain allow rule."""
    sub = copy_submission(learner.submission(EXERCISE), tmp_path / "mkdir-open")
    profile = _saved(sub)
    profile["syscalls"] = [r for r in profile["syscalls"] if r["names"] != ["mkdir"]]
    profile["syscalls"][0]["names"] = sorted(profile["syscalls"][0]["names"] + ["mkdir"])
    (sub / "profile.json").write_text(json.dumps(profile, indent=2))
    report = grade_one(EXERCISE, sub)
    assert_partial_with_hint(report, "mkdir-denied", "argument filter")


def test_mistake_enforcing_without_staging_gets_the_staging_hint(learner, tmp_path):
    """The learner builds from the requests-only audit and skips the staging run."""
    sub = copy_submission(learner.submission(EXERCISE), tmp_path / "unstaged")
    (sub / "profile.json").write_text((sub / "unstaged.json").read_text())
    report = grade_one(EXERCISE, sub)
    assert {c["id"]: c["status"] for c in report["checks"]}["serves"] == "passed", report["printed"]
    assert_partial_with_hint(report, "reloads", "staging report")
