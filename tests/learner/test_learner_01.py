"""Lesson 01 / exercise 01: a learner who follows the lesson writes a mkdir-blocking profile that passes.

The scripted learner runs lesson 01's own cells (solutions off). Its answer cell does what the
lesson and the exercise's hints lead to, with calls the lesson showed: it looks at how nginx
created its folders in a container without seccomp (the README hint: "find out how nginx
creates its folders"; the check hint names ``stat -c %a``), then reads the starter as plain JSON,
writes its rules (an argument condition on mkdir's mode, as in the
lesson's setuid ``chmod`` example, and a plain refusal of mkdirat) and saves them with
``seccomp.write_profile``: what the exercise section shows. It must earn every point.

Typical mistakes (instructor notes, "what learners get stuck on"): refusing only ``mkdir`` (the
second entry point, ``mkdirat``, stays open) and writing the octal mode 0700 as the JSON number
700. Each keeps partial credit and gets the hint the exercise promises.
"""
from __future__ import annotations

import json

import pytest

from tests.learner.learner import assert_full_marks, assert_partial_with_hint, copy_submission, grade_one, learner_run

EXERCISE = "01-block-mkdir"

ANSWER = '''
with LabContainer.start(NGINX_IMAGE, seccomp="unconfined", publish={80: 0}) as box:
    box.http_get(80)
    mode = box.exec(["stat", "-c", "%a", "/var/lib/nginx/body"]).stdout.strip()
print("nginx creates its folders with mode", mode)
profile = json.loads((workspace / "profile.json").read_text())
profile["syscalls"] = [
    {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO",
     "args": [{"index": 1, "value": int(mode, 8), "op": "SCMP_CMP_NE"}]},
    {"names": ["mkdirat"], "action": "SCMP_ACT_ERRNO"},
]
seccomp.write_profile(profile, workspace / "profile.json")
'''


@pytest.fixture(scope="module")
def learner(tmp_path_factory, available):
    return learner_run("01", ANSWER, tmp_path_factory, available)


def _rewrite(sub, change) -> None:
    path = sub / "profile.json"
    profile = json.loads(path.read_text())
    change(profile)
    path.write_text(json.dumps(profile, indent=2))


def test_learner_following_lesson_01_earns_full_marks(learner):
    assert "with mode 700" in learner.answer_output, learner.answer_output
    assert_full_marks(grade_one(EXERCISE, learner.submission(EXERCISE)))


def test_mistake_refusing_only_mkdir_gets_the_second_entry_point_hint(learner, tmp_path):
    """The learner blocks mkdir (what `mkdir DIR` calls on x86_64) and forgets mkdirat."""
    sub = copy_submission(learner.submission(EXERCISE), tmp_path / "only-mkdir")
    _rewrite(sub, lambda p: p.update(syscalls=[r for r in p["syscalls"] if "mkdirat" not in r["names"]]))
    report = grade_one(EXERCISE, sub)
    assert_partial_with_hint(report, "blocks-mkdir", "mkdirat")


def test_mistake_octal_mode_written_as_decimal_gets_the_decimal_hint(learner, tmp_path):
    """The learner copies the mode as it reads it, 700, into JSON (which means decimal 700, not 0o700)."""
    sub = copy_submission(learner.submission(EXERCISE), tmp_path / "mode-700")
    _rewrite(sub, lambda p: p["syscalls"][0]["args"][0].update(value=700))
    report = grade_one(EXERCISE, sub)
    assert_partial_with_hint(report, "nginx-serves", "decimal")
    assert report["score"] == report["max_score"] - 2, report["printed"]   # only nginx-serves lost
