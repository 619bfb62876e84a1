"""Live grading with nothing but a kubeconfig: no `docker`, no `kind` on PATH.

The grader reaches the nodes through its node agent (a DaemonSet, exec through the API), so a
machine that only holds a kubeconfig (a CI runner, Gradescope) grades live. Proved against the
course cluster: the same class graded the kind way (docker exec) and the kubeconfig-only way
gets the same scores, check by check; the Gradescope bundle's `run_autograder` does the same.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grader.bundle import build_gradescope_bundle
from grader.context import make_token
from grader.exercises import get_exercise
from grader.exercises.common import EXERCISES_DIR
from labs.cluster import get_cluster, kubeconfig_path
from labs.nodeops.agent import AGENT_NAMESPACE, NodeAgent
from labs.nodeops.kind import KindNodeOps
from labs.pods import core_api

ROOT = Path(__file__).resolve().parents[2]
EXERCISE = "04-least-privilege-nginx"
SOLUTION = EXERCISES_DIR / EXERCISE / "solution"
#: what the Gradescope script itself runs besides Python (bash builtins aside)
SCRIPT_TOOLS = ("bash", "cat", "mkdir")


@pytest.fixture(scope="module")
def agent(default_cluster, tmp_path_factory):
    """The node agent, deployed once for this module; removed at its end by `python -m grader
    cleanup`, itself run with the kubeconfig only."""
    deployed = NodeAgent("default")
    deployed.ensure()
    yield deployed
    env = kubeconfig_only(tmp_path_factory.mktemp("cleanup"))
    done = subprocess.run([sys.executable, "-m", "grader", "cleanup"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0 and "removed the node agent" in done.stdout, done.stderr
    assert AGENT_NAMESPACE not in [n.metadata.name for n in core_api().list_namespace().items]


def kubeconfig_only(tmp_path: Path, tools: tuple[str, ...] = ()) -> dict[str, str]:
    """An environment whose PATH holds only ``tools`` (symlinks) and whose state folder holds
    only a copy of the course kubeconfig."""
    bin_dir, state = tmp_path / "bin", tmp_path / "state"
    bin_dir.mkdir()
    state.mkdir()
    for tool in tools:
        (bin_dir / tool).symlink_to(shutil.which(tool))
    shutil.copy(kubeconfig_path("default"), state / "kubeconfig")
    assert shutil.which("docker", path=str(bin_dir)) is None and shutil.which("kind", path=str(bin_dir)) is None
    return {"PATH": str(bin_dir), "HOME": str(tmp_path), "COURSE_STATE_DIR": str(state),
            "KUBECONFIG": str(state / "kubeconfig"), "PYTHONPATH": str(ROOT), "COURSE_ROOT": str(ROOT)}


def a_class(tmp_path: Path) -> Path:
    """Two students: the reference solution, and a valid profile that stops nginx (no accept4)."""
    subs = tmp_path / "subs"
    shutil.copytree(SOLUTION, subs / "ann")
    profile = json.loads((SOLUTION / "profile.json").read_text())
    for rule in profile["syscalls"]:
        rule["names"] = [n for n in rule["names"] if n != "accept4"]
    (subs / "ben").mkdir()
    (subs / "ben" / "profile.json").write_text(json.dumps(profile))
    return subs


def grade(subs: Path, out: Path, nodes: str, env: dict[str, str] | None = None, *options: str) -> dict[str, dict]:
    done = subprocess.run([sys.executable, "-m", "grader", "grade", str(subs), "--exercise", EXERCISE,
                           "--out", str(out), "--jobs", "2", "--nodes", nodes, *options],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return {s.name: json.loads((s / "report.json").read_text()) for s in out.iterdir() if s.is_dir()}


def outcome(report: dict) -> tuple:
    return report["score"], [(c["id"], c["status"]) for c in report["checks"]]


def leftovers(token: str) -> list[str]:
    found = [n.metadata.name for n in core_api().list_namespace().items if n.metadata.name == f"grade-{token}"]
    kind = KindNodeOps(get_cluster())
    return found + [f for node in kind.nodes() for f in kind.token_files(token, node)]


def test_grading_through_a_kubeconfig_only_scores_like_the_kind_path(agent, tmp_path):
    subs = a_class(tmp_path)
    by_kind = grade(subs, tmp_path / "kind", "kind")
    env = kubeconfig_only(tmp_path)
    by_api = grade(subs, tmp_path / "api", "agent", env)
    assert {s: outcome(r) for s, r in by_api.items()} == {s: outcome(r) for s, r in by_kind.items()}
    assert by_api["ann"]["score"] == by_api["ann"]["max_score"] > by_api["ben"]["score"]
    assert not [c for r in by_api.values() for c in r["checks"] if c["status"] in ("not_checked", "error")]
    for student in ("ann", "ben"):
        assert not leftovers(make_token(student, EXERCISE)), student


def test_gradescope_run_autograder_without_docker(agent, tmp_path):
    bundle = build_gradescope_bundle(EXERCISE, tmp_path / "autograder.zip")
    root = tmp_path / "autograder"
    with zipfile.ZipFile(bundle) as zf:
        zf.extractall(root / "source")
    (root / "source" / "run_autograder").chmod(0o755)
    (root / "source" / ".venv").symlink_to(Path(sys.prefix))   # setup.sh's venv, already made here
    shutil.copytree(SOLUTION, root / "submission")
    env = kubeconfig_only(tmp_path, SCRIPT_TOOLS)
    (root / "source" / "state").mkdir()
    shutil.copy(Path(env["KUBECONFIG"]), root / "source" / "state" / "kubeconfig")
    env = {**env, "AUTOGRADER_ROOT": str(root), "PYTHONPATH": ""}
    done = subprocess.run([str(root / "source" / "run_autograder")], env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    results = json.loads((root / "results" / "results.json").read_text())
    assert [t["status"] for t in results["tests"]] == ["passed"] * len(get_exercise(EXERCISE).checks), results
    assert results["score"] == sum(c.points for c in get_exercise(EXERCISE).checks), results
    assert core_api().read_namespace(AGENT_NAMESPACE)   # the agent stays for the next submission


def test_a_run_stopped_by_its_timeout_is_swept_through_the_agent(agent, tmp_path):
    """The killed grading process cannot clean up; the driver sweeps its namespace and node
    files by token through the agent, still without docker."""
    subs = tmp_path / "subs"
    shutil.copytree(SOLUTION, subs / "cat")
    reports = grade(subs, tmp_path / "out", "agent", kubeconfig_only(tmp_path), "--timeout", "6")
    assert "was stopped" in reports["cat"]["problem"], reports
    assert not leftovers(make_token("cat", EXERCISE))
