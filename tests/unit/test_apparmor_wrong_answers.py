"""The AppArmor wrong answers that make test grades in the AppArmor tier (CAUGHT_STATICALLY in
tests/apparmor_vm/guest/cases.py) are there because a static check catches their mistake, so
grading them starts no pod on the slow emulated node. That premise is checked here against a
cluster that does not exist: a live check that reached for it would be "not checked", and the
report already says what the exercise promises."""
from __future__ import annotations

import shutil

import pytest

import grader
from labs.cluster.handle import Cluster
from labs.paths import REPO_ROOT
from tests.apparmor_vm.guest.cases import CAUGHT_STATICALLY, CORPUS_WRONG, PROMISED

CORPUS = REPO_ROOT / "tests" / "data" / "submissions" / "cases"


@pytest.mark.parametrize("case", sorted(CAUGHT_STATICALLY))
def test_statically_caught_wrong_answer_reaches_no_cluster(case, tmp_path):
    if shutil.which("apparmor_parser") is None:
        pytest.skip("apparmor_parser is not installed here: the profile's syntax check cannot run")
    exercise = dict(CORPUS_WRONG)[case]
    nowhere = Cluster(config="default", name="no-such-cluster", kubeconfig=tmp_path / "no-kubeconfig")
    report = grader.grade(exercise, CORPUS / case, config=nowhere, token=f"unit-{case}")
    assert any(c.live for c in report.checks), report.checks
    assert report.not_checked == [], [(c.id, c.message) for c in report.not_checked]
    assert PROMISED[case] in str(report), str(report)
