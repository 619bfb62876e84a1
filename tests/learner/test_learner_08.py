"""Exercise 08 on the learner's path: lesson 08's own cells, then only what it showed.

The learner puts the lesson's profile into the ConfigMap with the call the exercise section
shows (``scale.save_profiles_in_configmap``), and edits the DaemonSet in the starter file by
hand: the node folder and a toleration for the control-plane taint (which the lesson tells
them to read with ``kubectl describe node``). Two typical mistakes from the instructor notes:
no toleration (the control-plane node never gets the profile), and the audit profile, which
only logs, in the ConfigMap.
"""
from __future__ import annotations

import json
import shutil

import pytest
import yaml

from labs import lessons
from labs.lessons.scale import save_profiles_in_configmap
from labs.seccomp import audit_profile, build_profile, load_profile

from .learner import assert_full_marks, assert_partial_with_hint, copy_submission, grade_one, learner_run

EXERCISE = "08-cluster-scale"

TOLERATION = """      tolerations:
      - key: node-role.kubernetes.io/control-plane
        operator: Exists
        effect: NoSchedule
"""

ANSWER = f'''
scale.save_profiles_in_configmap(workspace / "install.yaml", {{"app.json": profile}})
edited = ((workspace / "install.yaml").read_text()
          .replace("path: REPLACE_ME", "path: /var/lib/kubelet/seccomp/profiles")
          .replace("    spec:\\n      containers:", "    spec:\\n" + {TOLERATION!r} + "      containers:"))
(workspace / "install.yaml").write_text(edited)   # what the learner does in JupyterLab's editor
print(edited[-1000:])
'''


@pytest.fixture(scope="module")
def learner(tmp_path_factory, available):
    """One learner run shared by the tests below (the lesson takes minutes)."""
    return learner_run("08", ANSWER, tmp_path_factory, available)


@pytest.mark.slow
def test_learner_following_lesson_08_earns_full_marks(learner):
    assert "node-role.kubernetes.io/control-plane" in learner.answer_output, learner.answer_output
    assert_full_marks(grade_one(EXERCISE, learner.submission(EXERCISE)))


@pytest.mark.slow
def test_no_toleration_gets_partial_credit_and_the_taint_hint(learner, tmp_path):
    mistake = copy_submission(learner.submission(EXERCISE), tmp_path / EXERCISE)
    path = mistake / "install.yaml"
    path.write_text(path.read_text().replace(TOLERATION, ""))
    assert_partial_with_hint(grade_one(EXERCISE, mistake), "daemonset-shape", "Taints")


@pytest.mark.slow
def test_audit_profile_in_the_configmap_gets_partial_credit_and_the_enforcing_hint(learner, tmp_path):
    mistake = copy_submission(learner.submission(EXERCISE), tmp_path / EXERCISE)
    save_profiles_in_configmap(mistake / "install.yaml", {"app.json": audit_profile()})
    assert_partial_with_hint(grade_one(EXERCISE, mistake), "profile-valid", "enforcing profile")


def test_saving_the_profile_keeps_the_learners_daemonset(tmp_path):
    """The exercise's save call replaces only the ConfigMap's data, as often as it is run."""


    path = tmp_path / "install.yaml"
    shutil.copy(lessons.HERE.parent / "exercises" / EXERCISE / "starter" / "install.yaml", path)
    daemonset = path.read_text().split("---", 1)[1]
    profile = build_profile(["nanosleep"])
    for _ in range(2):
        save_profiles_in_configmap(path, {"app.json": profile})
    configmap, rest = path.read_text().split("---", 1)
    assert rest == daemonset
    (doc,) = yaml.safe_load_all(configmap)
    assert load_profile(json.loads(doc["data"]["app.json"])) == load_profile(profile)
    assert "app.json: |" in configmap   # a block, as kubectl prints it
