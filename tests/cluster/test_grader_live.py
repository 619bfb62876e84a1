"""The grader against the real kind cluster (and Docker for exercise 01).

Every reference solution earns full marks with its live checks; blank starters score zero;
wrong-but-valid profiles lose exactly the live points they should; hostile submissions and
timed-out runs leave no namespace, pod or node file behind. AppArmor live checks can only run
on nodes with the AppArmor LSM: elsewhere they must be reported as not checked (not passed).
"""
import importlib.util
import json
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import grader
from grader.checks.live import LAB_IMAGE, SECCOMP_NODE_DIR, TOKEN_LABEL
from grader.context import make_token
from grader.exercises import EXERCISES, ex10_bring_your_own
from grader.exercises.common import EXERCISES_DIR
from labs.cluster import ensure_cluster, installed_seccomp_profiles, load_images, node_capabilities, node_names
from labs.pods import core_api

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "data" / "submissions"
NO_APPARMOR = "this machine's nodes have no AppArmor"


@pytest.fixture(scope="module", autouse=True)
def cluster():
    """The cluster as a grading pipeline prepares it: every image the graders' pods run loaded
    (on a new cluster nothing before this module loads exercise 10's notes service)."""
    ensure_cluster("default")
    load_images([LAB_IMAGE, ex10_bring_your_own.IMAGE])


@pytest.fixture(scope="module")
def apparmor_nodes():
    return any(n.apparmor_lsm and n.containerd_apparmor for n in node_capabilities("default"))


def leftovers(*tokens: str) -> list[str]:
    """Objects of these grading runs still present (other users of the cluster may grade too)."""
    api = core_api()
    found = []
    for token in tokens:
        selector = f"{TOKEN_LABEL}={token}"
        found += [f"namespace {n.metadata.name}" for n in api.list_namespace(label_selector=selector).items]
        found += [f"pod {p.metadata.namespace}/{p.metadata.name}"
                  for p in api.list_pod_for_all_namespaces(label_selector=selector).items]
        for node in node_names():
            found += [f"{node}:{SECCOMP_NODE_DIR}/{f}" for f in installed_seccomp_profiles(node)
                      if f.startswith(f"grader-{token}")]
        containers = subprocess.run(["docker", "ps", "-aq", "--filter", f"name=course-grader-{token}"],
                                    capture_output=True, text=True).stdout.split()
        found += [f"container {c}" for c in containers]
    return found


def graded(exercise_id: str, path: Path, token: str):
    report = grader.grade(exercise_id, path, token=token)
    assert not leftovers(token), str(report)
    return report


@pytest.mark.parametrize("exercise_id", list(EXERCISES))
def test_reference_solution_scores_full_marks_live(exercise_id, apparmor_nodes):
    report = graded(exercise_id, EXERCISES_DIR / exercise_id / "solution", make_token("solution", exercise_id))
    for c in report.not_checked:  # the only acceptable reason: no AppArmor on this machine's nodes
        assert not apparmor_nodes and NO_APPARMOR in c.message, str(report)
    assert report.score == report.max_score, str(report)
    assert any(c.live and c.status == "passed" for c in report.checks) or exercise_id in (
        "06-apparmor-deny-write", "07-apparmor-complain-enforce") and not apparmor_nodes, str(report)


@pytest.mark.parametrize("exercise_id", list(EXERCISES))
def test_blank_starter_scores_zero_live(exercise_id):
    report = graded(exercise_id, EXERCISES_DIR / exercise_id / "starter", make_token("starter", exercise_id))
    assert report.score == 0 and not [c for c in report.checks if c.status == "error"], str(report)


def _profile(tmp_path, profile: dict) -> Path:
    (tmp_path / "profile.json").write_text(json.dumps(profile))
    return tmp_path


def test_valid_profile_that_kills_nginx_loses_the_live_points(tmp_path):
    solution = json.loads((EXERCISES_DIR / "04-least-privilege-nginx/solution/profile.json").read_text())
    solution["syscalls"] = [r for r in solution["syscalls"] if "accept4" not in r["names"]] + [
        {"names": [n for r in solution["syscalls"] if "accept4" in r["names"] for n in r["names"] if n != "accept4"],
         "action": "SCMP_ACT_ALLOW"}]
    report = graded("04-least-privilege-nginx", _profile(tmp_path, solution), make_token("kills-nginx"))
    status = {c.id: c.status for c in report.checks}
    assert status["valid"] == status["denies-by-default"] == "passed"
    assert status["serves"] == "failed", str(report)


def test_profile_that_allows_the_attack_fails_the_attack_check(tmp_path):
    solution = json.loads((EXERCISES_DIR / "04-least-privilege-nginx/solution/profile.json").read_text())
    solution["syscalls"].insert(0, {"names": ["mkdir", "unshare"], "action": "SCMP_ACT_ALLOW",
                                    "comment": "deliberately too open (test)"})
    report = graded("04-least-privilege-nginx", _profile(tmp_path, solution), make_token("too-open"))
    status = {c.id: c.status for c in report.checks}
    assert status["serves"] == status["seccomp-mode"] == "passed", str(report)
    assert status["mkdir-denied"] == status["unshare-denied"] == "failed", str(report)


def test_hostile_corpus_live_leaves_nothing_behind(tmp_path):
    spec = importlib.util.spec_from_file_location("build_archives", CORPUS / "build_archives.py")
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    cases = [(c["case"], CORPUS / "cases" / c["case"], c["exercise"], c["expect"])
             for c in json.loads((CORPUS / "cases.json").read_text())] + builder.build(tmp_path / "gen")

    def grade_case(case):
        name, path, exercise, expect = case
        report = graded(exercise, path, make_token("corpus", name))
        assert expect in str(report), name
        assert not [c for c in report.checks if c.status == "error"], f"{name}\n{report}"

    # three at a time, as `grader grade --jobs 3` runs a class (in threads of one process):
    # one by one the 86 cases took 215 s on a 2-core machine, three at a time 89 s (stop 23)
    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(grade_case, cases))


def test_batch_live_with_timeout_cleans_up(tmp_path):
    subs = tmp_path / "subs"
    for student in ("ann", "ben", "cat"):
        shutil.copytree(EXERCISES_DIR / "04-least-privilege-nginx" / "solution", subs / student)
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "grader", "grade", str(subs), "--exercise", "04-least-privilege-nginx",
                           "--out", str(out), "--jobs", "3"], cwd=ROOT, capture_output=True, text=True, check=True)
    summary = json.loads(done.stdout.splitlines()[-1])
    assert summary["graded"] == 3 and summary["timed_out"] == 0, done.stderr
    for student in ("ann", "ben", "cat"):
        report = json.loads((out / student / "report.json").read_text())
        assert report["score"] == report["max_score"] == report["possible"], report
    # stopped by the timeout in the middle of live grading (a full run takes over 10 s: namespace,
    # profile, two pods, probes, deletion), the driver still removes what the run created
    stopped = subprocess.run([sys.executable, "-m", "grader", "grade", str(subs), "--exercise",
                              "04-least-privilege-nginx", "--out", str(tmp_path / "out2"), "--timeout", "6",
                              "--jobs", "3"], cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(stopped.stdout.splitlines()[-1])["timed_out"] == 3, stopped.stderr
    assert not leftovers(*(make_token(s, "04-least-privilege-nginx") for s in ("ann", "ben", "cat")))
