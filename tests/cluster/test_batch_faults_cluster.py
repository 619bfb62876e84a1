"""A batch that loses its cluster half-way, on the real cluster: the grader's kubeconfig (a
private copy) is pointed at a closed port after the first student is graded. The run must
stop with the message and exit code, keep the finished student, and ``--resume`` with the
kubeconfig restored must grade the rest live and leave nothing behind."""
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.checks.live import LAB_IMAGE, TOKEN_LABEL
from grader.context import make_token
from grader.exercises.common import EXERCISES_DIR
from labs.cluster import ensure_cluster, kubeconfig_path, load_images
from labs.pods import core_api

ROOT = Path(__file__).resolve().parents[2]
EX = "02-restricted-pod"
STUDENTS = ("s0", "s1", "s2")


@pytest.fixture(scope="module", autouse=True)
def cluster():
    ensure_cluster("default")
    load_images([LAB_IMAGE])


def _grader(state: Path, *args) -> subprocess.Popen:
    env = {**os.environ, "COURSE_STATE_DIR": str(state), "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "grader", *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_cluster_lost_mid_batch_stops_then_resume_completes(tmp_path):
    state, subs, out = tmp_path / "state", tmp_path / "subs", tmp_path / "out"
    state.mkdir()
    good = kubeconfig_path("default").read_text()
    (state / "kubeconfig").write_text(good)
    for student in STUDENTS:
        shutil.copytree(EXERCISES_DIR / EX / "solution", subs / student)
    run = _grader(state, "grade", str(subs), "--exercise", EX, "--out", str(out), "--jobs", "1")
    deadline = time.monotonic() + 600
    while not (out / "s0" / "results.json").exists() and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    server = next(line.split("server:", 1)[1].strip() for line in good.splitlines() if "server:" in line)
    (state / "kubeconfig").write_text(good.replace(server, "https://127.0.0.1:1"))   # the cluster "vanishes"
    _, stderr = run.communicate(timeout=600)
    assert run.returncode == 3, stderr
    assert "stopped answering" in stderr and "--resume" in stderr
    assert json.loads((out / "batch.json").read_text())["state"] == "stopped"
    kept = json.loads((out / "s0" / "results.json").read_text())
    assert kept["score"] == 7, kept
    assert not (out / "s2" / "results.json").exists()

    (state / "kubeconfig").write_text(good)
    again = _grader(state, "grade", "--resume", "--out", str(out))
    stdout, stderr = again.communicate(timeout=900)
    assert again.returncode == 0, stderr
    assert json.loads(stdout.splitlines()[-1])["skipped"] == 1
    for student in STUDENTS:
        report = json.loads((out / student / "report.json").read_text())
        assert report["score"] == report["max_score"] == 7 and any(c["live"] for c in report["checks"]), report
    api = core_api()
    for student in STUDENTS:
        selector = f"{TOKEN_LABEL}={make_token(student, EX)}"
        assert not api.list_namespace(label_selector=selector).items
