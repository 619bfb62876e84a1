"""Batch faults without a cluster: the per-student lock, two graders on one folder, --resume,
and the cluster going away mid-batch (its answers faked; the real one is tests/cluster/test_batch_faults_cluster.py)."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader import batch
from grader.exercises import get_exercise
from grader.exercises.common import EXERCISES_DIR
from grader.model import CheckResult, GradeReport

ROOT = Path(__file__).resolve().parents[2]
EX = "04-least-privilege-nginx"


def _cli(*args):
    return subprocess.Popen([sys.executable, "-m", "grader", *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _class(folder: Path, count: int) -> Path:
    for i in range(count):
        shutil.copytree(EXERCISES_DIR / EX / ("solution" if i % 2 else "starter"), folder / f"s{i:02d}")
    return folder


def test_student_lock_is_exclusive_and_released(tmp_path):
    with batch.student_lock(tmp_path / "ana") as first:
        with batch.student_lock(tmp_path / "ana") as second:
            assert first and not second
        with batch.student_lock(tmp_path / "ben") as other:
            assert other
    with batch.student_lock(tmp_path / "ana") as again:
        assert again


def test_lost_cluster_asks_only_when_a_live_check_did_not_pass():
    asked = []

    def answers(value):
        return lambda: asked.append(1) or value
    live_ok = GradeReport(EX, "x", [CheckResult("serves", "S", "passed", 2, 2, "ok", live=True)])
    live_bad = GradeReport(EX, "x", [CheckResult("serves", "S", "failed", 0, 2, "refused", live=True)])
    assert not batch.lost_cluster(live_ok, answers(False)) and asked == []
    assert batch.lost_cluster(live_bad, answers(False))
    assert not batch.lost_cluster(live_bad, answers(True)) and len(asked) == 2


def test_two_graders_share_one_output_folder(tmp_path):
    subs, out = _class(tmp_path / "subs", 8), tmp_path / "out"
    args = ("grade", str(subs), "--exercise", EX, "--out", str(out), "--static-only", "--jobs", "2")
    procs = [_cli(*args), _cli(*args)]
    summaries = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, stderr
        summaries.append(json.loads(stdout.splitlines()[-1]))
    assert sum(s["graded"] for s in summaries) == 8   # each student graded by exactly one process
    for student in sorted(p.name for p in subs.iterdir()):
        report = json.loads((out / student / "report.json").read_text())
        results = json.loads((out / student / "results.json").read_text())
        assert results["score"] == report["score"] == (0 if int(student[1:]) % 2 == 0 else report["max_score"])
    assert not list(out.rglob("*.tmp"))
    rows = (out / "class.csv").read_text().splitlines()
    assert len(rows) == 9   # the later process wrote every student


def test_resume_completes_a_stopped_batch_with_its_own_settings(tmp_path):
    subs, out = _class(tmp_path / "subs", 3), tmp_path / "out"
    first = _cli("grade", str(subs), "--exercise", EX, "--out", str(out), "--static-only")
    assert first.wait(300) == 0
    (out / "s01" / "results.json").unlink()
    again = _cli("grade", "--resume", "--out", str(out), "--static-only")
    stdout, stderr = again.communicate(timeout=300)
    assert again.returncode == 0, stderr
    assert json.loads(stdout.splitlines()[-1])["graded"] == 1 and "resuming: 2 students" in stderr
    assert json.loads((out / "batch.json").read_text())["state"] == "done"
    nothing = _cli("grade", "--resume", "--out", str(tmp_path / "empty"))
    _, stderr = nothing.communicate(timeout=300)
    assert nothing.returncode == 2 and "no batch to resume" in stderr


def test_cluster_gone_mid_batch_stops_keeps_finished_and_resumes(tmp_path, monkeypatch):
    subs, out = _class(tmp_path / "subs", 4), tmp_path / "out"
    exercise = get_exercise(EX)
    up = {"answers": True}
    graded = []

    def fake_grade_one(student, path, exercise_id, out_dir, timeout, live):
        if student == "s02" and student not in graded:
            up["answers"] = False   # the cluster vanished while s02 was graded
        graded.append(student)
        status = "passed" if up["answers"] else "failed"
        return GradeReport(EX, str(path), [CheckResult(c.id, c.title, status, c.points if status == "passed" else 0,
                                                       c.points, status, live=c.live) for c in exercise.checks])
    monkeypatch.setattr(batch, "_grade_one", fake_grade_one)
    monkeypatch.setattr(batch, "_cluster_answers", lambda config: up["answers"])
    monkeypatch.setattr(batch, "_cleanup_token", lambda token, exercise_id: None)
    with pytest.raises(batch.ClusterGone) as stopped:
        batch.grade_class(subs, EX, out, jobs=1)
    assert "2 of 4 students are graded" in stopped.value.message and "--resume" in stopped.value.fix
    assert graded == ["s00", "s01", "s02"]   # nothing new started after the loss
    assert [p.parent.name for p in sorted(out.glob("*/results.json"))] == ["s00", "s01"]
    assert json.loads((out / "batch.json").read_text())["state"] == "stopped"
    assert "s00" in (out / "class.csv").read_text() and "s02" not in (out / "class.csv").read_text()
    up["answers"] = True
    summary = batch.grade_class(subs, EX, out, jobs=1)
    assert summary.graded == 2 and summary.skipped == 2 and graded[3:] == ["s02", "s03"]
    assert json.loads((out / "batch.json").read_text())["state"] == "done"
