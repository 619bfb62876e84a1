"""The batch CLI end to end (static checks only: no cluster needed): formats, resume, force, timeout."""
import csv
import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest

from grader.exercises.common import EXERCISES_DIR

ROOT = Path(__file__).resolve().parents[2]
EX = "04-least-privilege-nginx"


def _cli(*args, check=True):
    return subprocess.run([sys.executable, "-m", "grader", *args], cwd=ROOT, capture_output=True, text=True,
                          check=check, timeout=300)


@pytest.fixture
def class_folder(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    shutil.copytree(EXERCISES_DIR / EX / "solution", subs / "alice")
    shutil.copytree(EXERCISES_DIR / EX / "starter", subs / "bob")
    with zipfile.ZipFile(subs / "carol.zip", "w") as zf:
        zf.writestr("../../escape.json", "{}")
    with zipfile.ZipFile(subs / "dave.zip", "w") as zf:
        zf.write(EXERCISES_DIR / EX / "solution" / "profile.json", "dave-04/profile.json")
    return subs


def test_class_is_graded_in_parallel_and_resumed(class_folder, tmp_path):
    out = tmp_path / "out"
    done = _cli("grade", str(class_folder), "--exercise", EX, "--out", str(out), "--jobs", "2", "--static-only")
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["graded"] == 4 and summary["skipped"] == 0
    assert "[4/4]" in done.stderr
    scores = {row["student"]: row for row in csv.DictReader((out / "class.csv").open())}
    assert scores["alice"]["score"] == scores["alice"]["max_score"] == scores["dave"]["score"] != "0"
    assert scores["bob"]["score"] == "0"
    assert "path traversal" in scores["carol"]["problem"]
    results = json.loads((out / "carol" / "results.json").read_text())
    assert results["score"] == 0 and "path traversal" in results["output"]
    assert len(ET.parse(out / "junit.xml").getroot().findall("testsuite")) == 4
    assert not (tmp_path / "escape.json").exists()

    (out / "bob" / "results.json").unlink()  # as if interrupted before bob finished
    done = _cli("grade", str(class_folder), "--exercise", EX, "--out", str(out), "--static-only")
    again = json.loads(done.stdout.splitlines()[-1])
    assert again["graded"] == 1 and again["skipped"] == 3
    forced = json.loads(_cli("grade", str(class_folder), "--exercise", EX, "--out", str(out), "--static-only",
                             "--force").stdout.splitlines()[-1])
    assert forced["graded"] == 4


def test_one_zip_of_the_class(class_folder, tmp_path):
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for student in ("alice", "bob"):
            zf.write(class_folder / student / "profile.json", f"export/{student}/profile.json")
    out = tmp_path / "out"
    done = _cli("grade", str(archive), "--exercise", EX, "--out", str(out), "--static-only")
    summary = json.loads(done.stdout.splitlines()[-1])
    assert summary["graded"] == 2 and (out / "alice" / "results.json").exists()


def test_timeout_stops_a_submission_and_reports_it(class_folder, tmp_path):
    out = tmp_path / "out"
    summary = json.loads(_cli("grade", str(class_folder), "--exercise", EX, "--out", str(out), "--static-only",
                              "--timeout", "0.01").stdout.splitlines()[-1])
    assert summary["timed_out"] == 4
    results = json.loads((out / "alice" / "results.json").read_text())
    assert results["score"] == 0 and "was stopped" in results["output"]


def test_grade_one_writes_gradescope_results(tmp_path):
    target = tmp_path / "results" / "results.json"
    _cli("grade-one", str(EXERCISES_DIR / EX / "solution"), "--exercise", EX, "--gradescope", str(target),
         "--static-only")
    data = json.loads(target.read_text())
    assert data["score"] == 4 and all(t["max_score"] == 0 for t in data["tests"] if "not checked" in t["name"])


def test_gradescope_bundle_runs_like_gradescope(tmp_path):
    """Unpack the bundle, then run its run_autograder logic with the venv's python on a submission."""
    bundle = tmp_path / "autograder.zip"
    _cli("gradescope-bundle", "--exercise", EX, "--out", str(bundle))
    with zipfile.ZipFile(bundle) as zf:
        names = set(zf.namelist())
        assert {"setup.sh", "run_autograder", "EXERCISE", "requirements-grader.txt"} <= names
        assert f"labs/exercises/{EX}/solution/profile.json" in names
        assert not [n for n in names if "/solution/" in n and EX not in n]
        assert zf.getinfo("run_autograder").external_attr >> 16 & 0o111
        zf.extractall(tmp_path / "source")
    source = tmp_path / "source"
    assert (source / "EXERCISE").read_text().strip() == EX
    results = tmp_path / "results.json"
    subprocess.run([sys.executable, "-m", "grader", "grade-one", str(EXERCISES_DIR / EX / "starter"), "--exercise",
                    EX, "--gradescope", str(results), "--static-only"], cwd=source, check=True, capture_output=True)
    assert json.loads(results.read_text())["score"] == 0
