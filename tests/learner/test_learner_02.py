"""Lesson 02 / exercise 02: a learner who follows the lesson writes a pod that "restricted" admits and runs.

The scripted learner runs lesson 02's own cells (solutions off): among them the server-side dry
runs, whose refusals list what "restricted" wants. Its answer cell edits the starter the way the
exercise section shows (``manifests.load_manifests``, then ``yaml.safe_dump`` into the file),
setting what those refusals named plus a numeric non-root ``runAsUser`` (the image runs as root),
and tries it as the section shows: the section's ``!kubectl apply --dry-run=server`` line, then a
real run in a throw-away restricted namespace. It must earn every point.

Typical mistakes (instructor notes, "what learners get stuck on"): forgetting the seccomp profile
(baseline does not require one, restricted does) and setting ``runAsNonRoot: true`` without a
``runAsUser`` (admitted, but the kubelet refuses to start a root image). Each keeps partial
credit and gets the promised hint.
"""
from __future__ import annotations

import pytest
import yaml

from tests.learner.learner import assert_full_marks, assert_partial_with_hint, copy_submission, grade_one, learner_run

EXERCISE = "02-restricted-pod"

ANSWER = '''
import yaml
from labs import manifests

pod = manifests.load_manifests(workspace / "pod.yaml")[0]
pod["spec"]["securityContext"] = {"runAsNonRoot": True, "runAsUser": 1000,
                                  "seccompProfile": {"type": "RuntimeDefault"}}
pod["spec"]["containers"][0]["securityContext"] = {"allowPrivilegeEscalation": False,
                                                   "capabilities": {"drop": ["ALL"]}}
(workspace / "pod.yaml").write_text(yaml.safe_dump(pod))

with lab_namespace("try", pod_security="restricted") as strict:
    dry_run = !kubectl apply --dry-run=server -n {strict} -f - < {workspace}/pod.yaml 2>&1
    outcome = pods.run_pod(workspace / "pod.yaml", strict, timeout=60)
print("dry run:", dry_run.s)
print("tried it:", outcome.reason)
'''


@pytest.fixture(scope="module")
def learner(tmp_path_factory, available):
    return learner_run("02", ANSWER, tmp_path_factory, available)


def _rewrite(sub, change) -> None:
    path = sub / "pod.yaml"
    pod = yaml.safe_load(path.read_text())
    change(pod)
    path.write_text(yaml.safe_dump(pod))


def test_learner_following_lesson_02_earns_full_marks(learner):
    assert "(server dry run)" in learner.answer_output, learner.answer_output
    assert "tried it: Running" in learner.answer_output, learner.answer_output
    assert_full_marks(grade_one(EXERCISE, learner.submission(EXERCISE)))


def test_mistake_no_seccomp_profile_gets_the_seccomp_hint(learner, tmp_path):
    """Baseline let the pod in without a profile; the learner assumes restricted does too."""
    sub = copy_submission(learner.submission(EXERCISE), tmp_path / "no-seccomp")
    _rewrite(sub, lambda pod: pod["spec"]["securityContext"].pop("seccompProfile"))
    report = grade_one(EXERCISE, sub)
    assert_partial_with_hint(report, "restricted-seccomp", "seccomp")


def test_mistake_run_as_non_root_without_a_user_gets_the_run_as_user_hint(learner, tmp_path):
    """Admitted (runAsNonRoot: true is all admission asks), but the image's user is root."""
    sub = copy_submission(learner.submission(EXERCISE), tmp_path / "no-run-as-user")
    _rewrite(sub, lambda pod: pod["spec"]["securityContext"].pop("runAsUser"))
    report = grade_one(EXERCISE, sub)
    assert_partial_with_hint(report, "admitted-runs", "runAsUser")
    assert report["score"] == report["max_score"] - 3, report["printed"]   # only the live check lost
