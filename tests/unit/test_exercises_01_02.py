"""Exercises 01 and 02 and the facts their lessons teach (issue 12: facts 2, 4, 8, 11; two-step hints).

Static only (no Docker, no cluster): the live halves are proven by tests/learner/test_learner_01.py
and test_learner_02.py.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest
import yaml

import grader
from grader.checks.seccomp import effective_action
from grader.exercises import ex01_block_mkdir as ex01
from grader.model import NotChecked

ROOT = Path(__file__).resolve().parents[2]
EX01 = ROOT / "labs" / "exercises" / "01-block-mkdir"
EX02 = ROOT / "labs" / "exercises" / "02-restricted-pod"


def _lesson_text(name: str) -> str:
    nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    return "\n".join(c.source for c in nb.cells)


def _hint(readme: Path) -> str:
    return readme.read_text().partition("**Hint:**")[2]


def _grade(exercise: str, folder: Path):
    report = grader.grade(exercise, folder, live=False)
    return report, {c.id: c for c in report.checks}


def test_ex01_refusing_only_mkdir_keeps_the_valid_point_and_names_mkdirat(tmp_path):
    profile = json.loads((EX01 / "solution" / "profile.json").read_text())
    profile["syscalls"] = [r for r in profile["syscalls"] if "mkdirat" not in r["names"]]
    (tmp_path / "profile.json").write_text(json.dumps(profile))
    report, checks = _grade("01-block-mkdir", tmp_path)
    assert checks["valid"].status == "passed" and checks["blocks-mkdir"].status == "failed"
    assert "mkdirat" in checks["blocks-mkdir"].hint
    assert 0 < report.score < report.possible


def test_ex02_missing_seccomp_keeps_the_other_controls_points(tmp_path):
    pod = yaml.safe_load((EX02 / "solution" / "pod.yaml").read_text())
    pod["spec"]["securityContext"].pop("seccompProfile")
    (tmp_path / "pod.yaml").write_text(yaml.safe_dump(pod))
    report, checks = _grade("02-restricted-pod", tmp_path)
    assert checks["restricted-seccomp"].status == "failed"
    assert checks["restricted-user"].status == checks["restricted-privileges"].status == "passed"
    assert report.score == 2


def test_first_hints_name_concepts_not_answers():
    """README hints (shown before any check) give no rule to paste: no mode value, no field values."""
    ex01, ex02 = _hint(EX01 / "README.md"), _hint(EX02 / "README.md")
    assert not re.search(r"448|0700|\b700\b|SCMP_CMP|\"index\"", ex01), ex01
    assert not re.search(r"runAsUser:|drop: \[|RuntimeDefault|allowPrivilegeEscalation: false", ex02), ex02
    assert "700" not in (EX01 / "README.md").read_text()   # the mode is found, not given


def test_lesson_02_unconfined_is_still_the_default_without_seccomp_default():
    text = _lesson_text("02-seccomp-kubernetes.ipynb")
    assert "Before Kubernetes 1.27" not in text
    assert "seccompDefault: true" in text and "off by default" in text and "Unconfined" in text
    assert "about 360" not in text                        # counted on the node instead
    assert "crictl inspect" in text and "--dry-run=server" in text and "privileged" in text


def test_lesson_01_teaches_the_architecture_check_as_libseccomp_does_it():
    text = _lesson_text("01-syscalls-seccomp.ipynb")
    assert "walk around it" not in text
    assert "bad-architecture action" in text and "hand-written" in text
    assert "about 360" not in text and "all_syscalls(\"x86_64\")" in text
    assert "cannot read the string" in text and "mkdir -m 700" not in text.split("## Exercise")[0]


def test_ex01_reference_solution_lets_nginx_mode_through_both_entry_points():
    """aarch64 has no mkdir syscall: nginx's mkdirat(AT_FDCWD, path, 0700) must pass there too."""
    profile = json.loads((EX01 / "solution" / "profile.json").read_text())
    at_fdcwd = -100 & 0xFFFFFFFFFFFFFFFF
    assert effective_action(profile, "mkdir", (0, 0o700), arch="x86_64")[0] == "SCMP_ACT_ALLOW"
    assert effective_action(profile, "mkdirat", (at_fdcwd, 0, 0o700), arch="aarch64")[0] == "SCMP_ACT_ALLOW"
    assert effective_action(profile, "mkdirat", (at_fdcwd, 0, 0o777), arch="aarch64")[0] == "SCMP_ACT_ERRNO"


def test_lesson_01_states_runc_behaviour_precisely():
    """Review R2: the log flag needs runc >= 1.2.0; once one argument has two conditions, runc
    OR's every condition of the rule (not only that argument's); x32 keeps the x86_64 audit tag;
    the setuid demo names every chmod entry point, fchmodat2 included."""
    text = _lesson_text("01-syscalls-seccomp.ipynb")
    assert "not\nevery runtime passes on" not in text and "runc 1.2.0" in text and "runc#3390" in text
    assert "turns *every* condition of the rule into a rule of its own" in " ".join(text.split())
    assert "matchCall" in text and "__X32_SYSCALL_BIT" in text
    assert "{{" not in "\n".join(line for line in text.splitlines() if line.startswith("!"))  # IPython eats {{ }}
    profile = json.loads((ROOT / "labs" / "lessons" / "01-syscalls-seccomp" / "deny-setuid-chmod.json").read_text())
    index_of = {n: r["args"][0]["index"] for r in profile["syscalls"] for n in r["names"]}
    assert index_of == {"chmod": 1, "fchmod": 1, "fchmodat": 2, "fchmodat2": 2}


def test_lesson_02_runtime_default_and_pod_security_facts():
    text = _lesson_text("02-seccomp-kubernetes.ipynb")
    assert "`keyctl` always" in text                       # not in containerd's list at all
    assert "may add only the default set" not in text and "NET_RAW" in text
    assert "deny mount," in text                           # the probe measures seccomp only


def test_ex01_container_checks_are_not_checked_where_the_grader_has_no_docker(monkeypatch):
    """Gradescope's live mode holds a kubeconfig only: no Docker is not a wrong answer."""
    class Context:
        token = "t"

        def memo(self, key, make):
            return make()

    monkeypatch.setattr(ex01.engine, "available", lambda: False)
    with pytest.raises(NotChecked, match="no Docker"):
        ex01._container(Context(), {"defaultAction": "SCMP_ACT_ALLOW"}, "learner")
