"""Grader messages that must send the learner the right way (pure: the live call is faked)."""
from __future__ import annotations

import subprocess

import pytest

from grader.checks import live
from grader.checks.seccomp import require_size_within
from grader.exercises.apparmor_live import require_enforced
from labs.errors import LabError, ProfileError


def _exec_answers(monkeypatch, returncode: int, stdout: str, stderr: str = "") -> None:
    monkeypatch.setattr(live, "exec_ok", lambda ctx, pod, container, command:
                        subprocess.CompletedProcess(command, returncode, stdout, stderr))


def test_a_label_the_profile_does_not_let_cat_read_is_not_blamed_on_complain_mode(monkeypatch):
    _exec_answers(monkeypatch, 1, "", "cat: /proc/self/attr/current: Permission denied")
    with pytest.raises(LabError) as caught:
        require_enforced(None, "capstone-aa", "web", process="self")
    assert "could not be read" in caught.value.message and "Permission denied" in caught.value.message
    assert "attr/current r" in caught.value.fix and "complain" not in caught.value.fix


def test_a_complain_mode_label_is_named_with_its_fix(monkeypatch):
    _exec_answers(monkeypatch, 0, "course-app (complain)\n")
    with pytest.raises(LabError) as caught:
        require_enforced(None, "pod", "main")
    assert "not in enforce mode" in caught.value.message and "flags=(complain)" in caught.value.fix
    _exec_answers(monkeypatch, 0, "course-app (enforce)\n")
    assert "course-app (enforce)" in require_enforced(None, "pod", "main")


def test_the_size_limit_names_the_workload_that_was_recorded():
    with pytest.raises(ProfileError) as caught:
        require_size_within({f"s{i}" for i in range(40)}, 20, ratio=1.3, slack=8, workload="notes service")
    assert "a recorded notes service run needs about 20 (limit 34)" in caught.value.message
