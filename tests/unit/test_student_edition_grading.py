"""The learner edition grades like the instructor's grader: every reference solution (and a
too-large profile) gets the same static report in both, and the edition never ships the
reference's syscall names."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from grader.exercises import EXERCISES
from grader.exercises.common import EXERCISES_DIR
from labs.student import SOLUTION_FACTS, build_student_edition
from labs.syscalls import all_syscalls

ROOT = Path(__file__).resolve().parents[2]
#: grades every submission given as EXERCISE=PATH with static checks; prints the reports as JSON
GRADE_ALL = """
import json, sys
import grader
out = {}
for arg in sys.argv[1:]:
    exercise, path = arg.split("=", 1)
    report = grader.grade(exercise, path, live=False)
    out[arg] = [(c.id, c.status, c.points, c.message) for c in report.checks if not c.live]
print(json.dumps(out))
"""


def _grade_in(repo: Path, submissions: list[str]) -> dict:
    env = {**os.environ, "PYTHONPATH": str(repo), "COURSE_ROOT": str(repo)}
    done = subprocess.run([sys.executable, "-c", GRADE_ALL, *submissions], cwd=repo, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    return Path(build_student_edition(tmp_path_factory.mktemp("student") / "edition").outdir)


def test_every_reference_solution_gets_the_same_report_in_both_editions(edition, tmp_path):
    big = json.loads((EXERCISES_DIR / "05-fix-broken-profile" / "solution" / "profile.json").read_text())
    big["syscalls"].append({"names": sorted(f"{n}" for n in _many_syscalls()), "action": "SCMP_ACT_ALLOW"})
    (tmp_path / "big").mkdir()
    (tmp_path / "big" / "profile.json").write_text(json.dumps(big))
    submissions = [f"{e}={EXERCISES_DIR / e / 'solution'}" for e in EXERCISES] + [
        f"05-fix-broken-profile={tmp_path / 'big'}"]
    full, learner = _grade_in(ROOT, submissions), _grade_in(edition, submissions)
    for name in submissions[:-1]:
        assert learner[name] == full[name], name
        assert not any("not installed here" in c[3] for c in learner[name]), learner[name]
    size = {c[0]: c for c in full[submissions[-1]]}["size"], {c[0]: c for c in learner[submissions[-1]]}["size"]
    assert size[0][1:3] == size[1][1:3] == ["failed", 0]   # same verdict; only the instructor's names the extras
    assert "Not needed by the recording" in size[0][3] and "Not needed" not in size[1][3]


def test_the_edition_ships_counts_not_names(edition):
    for exercise in ("04-least-privilege-nginx", "05-fix-broken-profile"):
        facts = json.loads((edition / "labs" / "exercises" / exercise / SOLUTION_FACTS).read_text())
        assert facts == {"profile.json": {"allowed_syscalls": facts["profile.json"]["allowed_syscalls"]}}
        assert not (edition / "labs" / "exercises" / exercise / "solution").exists()


def _many_syscalls() -> list[str]:
    return [n for n in all_syscalls("x86_64") if not n.startswith(("mount", "ptrace", "bpf"))][:200]
