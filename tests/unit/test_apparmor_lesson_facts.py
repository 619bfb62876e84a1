"""Lessons 06/07 and exercises 06/07 hold the AppArmor and Kubernetes facts of issue 12.

- A plain ``deny`` rule is silent; only ``audit deny`` logs (apparmor.d(5), "Rule Qualifiers").
  The lesson's example says so, no text calls a plain deny "logged", and exercise 06 grades it.
- Kubernetes 1.34 rejects a pod on a node without AppArmor (Failed, reason AppArmor); the
  lessons never present ``Blocked`` as today's reason, and say exactly which annotation sync
  remains (annotation -> field at creation; field -> annotation dropped in 1.34).
- Exercise 07 grades the review step: the debugging shell's record must stay refused.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
import pytest

import grader
from grader.exercises.common import EXERCISES_DIR
from labs import lessons
from labs.apparmor import (
    PROFILES_DIR,
    RUNTIME_SIGNAL_RULE,
    check_profile_syntax,
    profile_from_records,
    shipped_profiles,
)
from labs.audit import parse_audit_text

NOTEBOOKS = lessons.HERE.parents[1] / "notebooks"
BASE_ABSTRACTION = Path("/etc/apparmor.d/abstractions/base")
needs_parser = pytest.mark.skipif(shutil.which("apparmor_parser") is None, reason="apparmor_parser not installed")


def _text(number: str) -> str:
    nb = nbformat.read(NOTEBOOKS / lessons.lesson(number).notebook, as_version=4)
    return "\n".join(c.source for c in nb.cells)


def _statuses(report) -> dict[str, str]:
    return {c.id: c.status for c in report.checks}


def test_lesson_06_example_separates_refusing_from_logging():
    text = _text("06")
    example = re.search(r"```\n#include <tunables/global>.*?```", text, re.S).group(0)
    plain = [line for line in example.splitlines() if re.match(r"\s*deny\s", line)]
    audited = [line for line in example.splitlines() if re.match(r"\s*audit\s+deny\s", line)]
    assert plain and audited
    assert all("logged" not in line.split("#", 1)[1] or "no audit record" in line for line in plain), plain
    assert all("logged" in line for line in audited), audited
    assert "and are logged" not in text and "without logging" in text


@needs_parser
def test_lesson_06_example_profile_parses(tmp_path):
    """A learner who copies the concept section's example gets a profile apparmor_parser accepts
    (abstractions/base needs the variables of tunables/global)."""
    text = _text("06")
    example = re.search(r"```\n(#include <tunables/global>.*?)```", text, re.S).group(1)
    path = tmp_path / "example"
    path.write_text(example)
    assert check_profile_syntax(path) == "NAME"


@pytest.mark.parametrize("path", [p for p in shipped_profiles()] + [PROFILES_DIR / "README.md"], ids=lambda p: p.name)
def test_no_shipped_profile_calls_a_plain_deny_logged(path):
    for line in path.read_text().splitlines():
        if re.match(r"\s*deny\s", line) and "#" in line:
            assert "log" not in line.split("#", 1)[1], line


def test_lessons_show_todays_kubernetes_behaviour():
    text = " ".join((_text("06") + _text("07")).split())
    assert "stop syncing" not in text
    assert "reason `AppArmor`" in text and "Cannot enforce AppArmor: AppArmor is not enabled on the host" in text
    for match in re.finditer(r"Blocked", text):   # only as history, never as today's reason
        before = text[max(0, match.start() - 250):match.start()]
        assert "before 1.31" in before or "#125776" in before, text[match.start() - 250:match.end()]
    assert "Before 1.30" not in text   # soft admission (Blocked) was removed in 1.31: kubernetes/kubernetes#125776
    assert "copies the annotation into the field" in text and "dropped in 1.34" in text
    assert "apparmor_parser -r -W" in text


def test_lesson_06_kubelet_falls_back_to_the_annotation():
    """pkg/security/apparmor GetProfile: field first, then the annotation (static pods; kubernetes#123435)."""
    text = " ".join(_text("06").split())
    assert "reads only the field" not in text
    assert "falls back to the annotation for static pods" in text


def test_complain_mode_still_enforces_deny_rules():
    """aa-complain(8): 'deny' rules will be enforced even in complain mode."""
    text = " ".join(_text("07").split())
    assert "refuses nothing" not in text and "only explicit `deny` rules are still enforced" in text
    readme = (EXERCISES_DIR / "07-apparmor-complain-enforce" / "README.md").read_text()
    assert "never refuses" not in readme


def test_lesson_07_learned_profile_keeps_what_the_recording_profile_allowed():
    """course-audit-complain includes abstractions/base, whose accesses leave no ALLOWED record:
    a profile generated from the records alone would refuse nginx's shared libraries."""
    complain = (PROFILES_DIR / "course-audit-complain").read_text()
    assert "#include <abstractions/base>" in complain
    nb = nbformat.read(NOTEBOOKS / lessons.lesson("07").notebook, as_version=4)
    generate = [c.source for c in nb.cells if c.cell_type == "code" and "profile_from_records" in c.source]
    assert generate and all('base_rules=("#include <abstractions/base>",)' in s for s in generate), generate


def graded_06_reference_with(tmp_path, old: str, new: str):
    """Exercise 06's reference with one edit to its profile, graded without a cluster."""
    sub = tmp_path / "06"
    shutil.copytree(EXERCISES_DIR / "06-apparmor-deny-write" / "solution", sub)
    profile = sub / "deny-write.apparmor"
    assert old in profile.read_text()
    profile.write_text(profile.read_text().replace(old, new))
    return grader.grade("06-apparmor-deny-write", sub, live=False)


@needs_parser
def test_exercise_06_plain_deny_loses_only_the_logging_point(tmp_path):
    report = graded_06_reference_with(tmp_path, "audit deny", "deny")
    statuses = _statuses(report)
    assert statuses["deny-write"] == "passed" and statuses["denial-logged"] == "failed", str(report)
    assert 0 < report.score < report.max_score


def _complain_records():
    return parse_audit_text((EXERCISES_DIR / "07-apparmor-complain-enforce" / "starter" / "complain.log")
                            .read_text()).apparmor


@needs_parser
def test_exercise_07_unreviewed_recording_fails_the_review_only(tmp_path):
    records = _complain_records()
    assert [r.name for r in records if r.comm == "sh"] == ["/etc/passwd"]
    kept_only = [r for r in records if r.comm != "sh"]
    for name, kept, reviewed in (("all", records, "failed"), ("kept", kept_only, "passed")):
        sub = tmp_path / name
        sub.mkdir()
        (sub / "app.apparmor").write_text(profile_from_records("course-app", kept, flags=("attach_disconnected",)))
        statuses = _statuses(grader.grade("07-apparmor-complain-enforce", sub, live=False))
        assert statuses["covers-records"] == "passed" and statuses["reviewed"] == reviewed, statuses


def test_exercise_07_log_reaches_the_learners_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_WORKSPACE", str(tmp_path))
    folder = grader.start_exercise("07-apparmor-complain-enforce")
    assert (folder / "complain.log").is_file() and (folder / "app.apparmor").is_file()


def test_lesson_06_says_why_a_container_profile_includes_the_base_abstraction():
    """The include carries the rule that lets the runtime stop the container (labs.apparmor.signals);
    the worker-node test shows a pod without it staying Terminating on an AppArmor kernel."""
    text = " ".join(_text("06").split())
    assert "`signal (receive) peer=unconfined,`" in text and "Terminating" in text
    assert "unable to signal init: permission denied" in text


@pytest.mark.skipif(not BASE_ABSTRACTION.exists(),
                    reason="the apparmor package (its /etc/apparmor.d/abstractions) is not installed here")
def test_the_base_abstraction_carries_the_runtime_signal_rule():
    """What the lesson says abstractions/base holds, read from the installed AppArmor's own file."""
    installed = BASE_ABSTRACTION
    assert RUNTIME_SIGNAL_RULE in [line.strip() for line in installed.read_text().splitlines()]


@needs_parser
def test_exercise_06_names_the_missing_signal_rule_and_the_fix(tmp_path):
    report = graded_06_reference_with(tmp_path, "#include <abstractions/base>", "")
    check = next(c for c in report.checks if c.id == "stoppable")
    assert check.status == "failed" and "unable to signal init" in check.message, check
    assert "signal (receive) peer=unconfined," in str(report)
    assert all(c.status == "passed" for c in report.checks if c.id != "stoppable" and not c.live), str(report)
