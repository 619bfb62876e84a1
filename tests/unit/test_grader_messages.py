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


def _capstone_node(monkeypatch, write: subprocess.CompletedProcess) -> None:
    """The capstone's AppArmor pod as the check sees it: nginx answers, the write ends as ``write``."""
    from grader.exercises import ex09_capstone

    monkeypatch.setattr(ex09_capstone, "_pod", lambda ctx, with_apparmor=False: "capstone-aa")
    monkeypatch.setattr(live, "exec_ok", lambda ctx, pod, container, command:
                        subprocess.CompletedProcess(command, 0, "200", "") if container == "probe" else write)


def test_the_capstone_write_check_tells_apparmor_from_seccomp(monkeypatch):
    from grader.exercises.ex09_capstone import FORBIDDEN_WRITE, _apparmor_serves_and_denies
    from grader.model import NotChecked

    refused = f"sh: 1: cannot create {FORBIDDEN_WRITE}: Permission denied"
    _capstone_node(monkeypatch, subprocess.CompletedProcess([], 2, "", refused))
    assert "refused (EACCES)" in _apparmor_serves_and_denies(None)

    _capstone_node(monkeypatch, subprocess.CompletedProcess([], 0, "", ""))
    with pytest.raises(LabError) as caught:
        _apparmor_serves_and_denies(None)
    assert "worked under your AppArmor profile" in caught.value.message and "deny /etc/** w," in caught.value.fix

    # EPERM: the learner's seccomp profile stopped the shell before AppArmor saw the write
    _capstone_node(monkeypatch, subprocess.CompletedProcess([], 1, "", "sh: Operation not permitted"))
    with pytest.raises(NotChecked):
        _apparmor_serves_and_denies(None)
