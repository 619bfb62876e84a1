"""The lessons' shape and references, checked without running anything.

Every lesson: objectives and minutes first, key points last, an exercise with its
workspace, solution and check cells; short code cells; only ``compare`` cells keep outputs;
every lesson file a cell names exists.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import nbformat
import pytest

from labs import lessons, widgets
from labs.cluster import kubeconfig_path
from labs.cluster.labenv import apply_lab_environment, lab_environment, shell_exports
from labs.paths import tools_dir

NOTEBOOKS = sorted((lessons.HERE.parents[1] / "notebooks").glob("[0-9][0-9]-*.ipynb"))
ASSET = re.compile(r'lessons\.asset\("(\d\d)", "([^"]+)"\)')
MAX_CODE_LINES = 12


def tags(cell):
    return cell.get("metadata", {}).get("tags", [])


def test_every_catalogued_lesson_has_its_notebook():
    assert [p.name for p in NOTEBOOKS] == [lesson.notebook for lesson in lessons.LESSONS]
    assert NOTEBOOKS[0].name == "00-welcome.ipynb"   # `make lab` opens it


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_lesson_shape(path):
    nb = nbformat.read(path, as_version=4)
    first, last = nb.cells[0], nb.cells[-1]
    assert first.cell_type == "markdown" and "**Time:**" in first.source and "you can:" in first.source
    assert last.cell_type == "markdown" and last.source.startswith("## Key points")
    assert "setup" in tags(nb.cells[1])
    for tag in ("exercise", "solution", "check"):
        assert sum(tag in tags(c) for c in nb.cells) == 1, f"{path.name}: exactly one {tag} cell"
    order = [next(i for i, c in enumerate(nb.cells) if tag in tags(c)) for tag in ("exercise", "solution", "check")]
    assert order == sorted(order)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_code_cells_are_short_and_clean(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        assert len(cell.source.splitlines()) <= MAX_CODE_LINES, f"{path.name}: move logic into labs/:\n{cell.source}"
        if "compare" not in tags(cell):
            assert not cell.outputs, f"{path.name}: only compare cells keep outputs:\n{cell.source}"
        assert all(o.get("output_type") != "error" for o in cell.outputs)
    assert "widgets" not in nb.metadata


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_named_lesson_files_exist(path):
    text = path.read_text()
    for number, name in ASSET.findall(text):
        assert lessons.asset(number, name).is_file()


def test_exercise_ids_are_the_graders():
    grader = pytest.importorskip("grader")
    known = set(grader.list_exercises())
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        check = next(c for c in nb.cells if "check" in tags(c))
        exercise_id = re.search(r'"(\d\d-[a-z0-9-]+)"', check.source).group(1)
        assert exercise_id in known and exercise_id.startswith(path.name[:2])


# ---------------------------------------------------------------- issue 12, section 2: mechanics
#: A *raw command cell* runs a command a learner could type on a real cluster, not a helper:
#: a code cell (not the solution cell, which the learner edition strips) with a line that
#: starts with `!kubectl`, `!docker`, `!crictl` or `!kind` (IPython's shell escape), or a call
#: of the course's runner with a literal argument list that starts with one of those tools,
#: `run(["kubectl", ...])` / `runner.run(["docker", ...])`.
RAW_TOOLS = ("kubectl", "docker", "crictl", "kind")
RAW_COMMAND = re.compile(r"^\s*!\s*(?:%s)\b|\brun\(\s*\[\s*[\"'](?:%s)[\"']" % (("|".join(RAW_TOOLS),) * 2), re.M)
FROM_LESSON_02 = [p for p in NOTEBOOKS if p.name[:2] >= "02"]


def raw_command_cells(nb) -> list[str]:
    return [c.source for c in nb.cells
            if c.cell_type == "code" and "solution" not in tags(c) and RAW_COMMAND.search(c.source)]


def test_the_raw_command_rule():
    assert RAW_COMMAND.search("ns = 'x'\n!kubectl get pods -n {ns}")
    assert RAW_COMMAND.search("! docker exec node ls /var/lib/kubelet/seccomp/profiles")
    assert RAW_COMMAND.search('runner.run(["kubectl", "describe", "pod", "web"])')
    assert not RAW_COMMAND.search("cluster.kubectl(['get', 'pods'])")       # a helper
    assert not RAW_COMMAND.search("# !kubectl get pods")                    # a comment
    assert not RAW_COMMAND.search("pods.run_pod(manifest, ns)")


@pytest.mark.parametrize("path", FROM_LESSON_02, ids=[p.stem for p in FROM_LESSON_02])
def test_lessons_from_02_run_a_raw_command(path):
    """TEACHING.md 2: each lesson from 02 on runs at least one command a learner could type."""
    nb = nbformat.read(path, as_version=4)
    assert raw_command_cells(nb), (f"{path.name}: no raw command cell (a line starting with "
                                   f"!{'/!'.join(RAW_TOOLS)}, or run([\"kubectl\", ...]))")


def test_lesson_00_reaches_the_cluster_by_hand():
    nb = nbformat.read(NOTEBOOKS[0], as_version=4)
    text = "\n".join(c.source for c in nb.cells)
    assert any(re.search(r"^!kubectl get nodes$", c.source, re.M) for c in nb.cells if c.cell_type == "code")
    assert "KUBECONFIG" in text and "Terminal" in text


def _fake_state(tmp_path):
    (tmp_path / "kubeconfig").write_text("apiVersion: v1\nkind: Config\n")
    return tmp_path


def test_lab_environment_names_the_course_kubeconfig_and_tools(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_STATE_DIR", str(_fake_state(tmp_path)))
    env = lab_environment(environ={"PATH": f"/usr/bin:{tools_dir()}"})
    assert env["KUBECONFIG"] == str(kubeconfig_path("default")) == str(tmp_path / "kubeconfig")
    assert env["PATH"] == f"{tools_dir()}:/usr/bin"      # first, once
    kernel_env = {"PATH": "/bin"}
    apply_lab_environment(kernel_env)                      # what setup_notebook() does to os.environ
    assert kernel_env["KUBECONFIG"] == env["KUBECONFIG"]
    assert "export KUBECONFIG=" in shell_exports(env)


def test_setup_notebook_sets_kubeconfig_for_shell_cells(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_STATE_DIR", str(_fake_state(tmp_path)))

    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("PATH", os.environ["PATH"])   # restored afterwards
    widgets.setup_notebook()
    assert os.environ["KUBECONFIG"] == str(tmp_path / "kubeconfig")


def test_make_lab_starts_jupyter_with_kubeconfig_and_path(tmp_path):
    """`make lab` runs JupyterLab in the environment labs.cluster.labenv defines: the recipe
    is run for real with the Jupyter command swapped for printenv (`-o cluster`: no cluster)."""

    if not shutil.which("make"):
        pytest.skip("make is not installed")
    root = lessons.HERE.parents[1]
    dry = subprocess.run(["make", "-n", "--no-print-directory", "-o", "cluster", "lab"], cwd=root,
                         capture_output=True, text=True)
    assert "labs.cluster.labenv" in dry.stdout and "jupyter lab" in dry.stdout, dry.stdout + dry.stderr
    # terminals: a non-login shell, or Debian's /etc/profile resets PATH and kubectl is gone
    assert "shell_command" in dry.stdout, dry.stdout
    env = dict(os.environ, COURSE_STATE_DIR=str(_fake_state(tmp_path)))
    env.pop("KUBECONFIG", None)
    done = subprocess.run(["make", "-s", "--no-print-directory", "-o", "cluster", "lab", f"PY={sys.executable}",
                           "JUPYTER_LAB=printenv KUBECONFIG PATH #"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    kubeconfig, path = done.stdout.strip().splitlines()[-2:]
    assert kubeconfig == str(tmp_path / "kubeconfig")
    assert path.split(":")[0] == str(tools_dir())


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_lesson_time_matches_the_catalogue(path):
    first = nbformat.read(path, as_version=4).cells[0].source
    stated = re.search(r"\*\*Time:\*\* about (\d+) minutes", first)
    assert stated, f"{path.name}: the first cell must say '**Time:** about N minutes'"
    assert int(stated.group(1)) == lessons.lesson(path.name[:2]).minutes


@pytest.mark.parametrize("length, sessions", lessons.WORKSHOP_PLANS)
def test_workshop_plans_cover_every_lesson_once_and_fit_their_sessions(length, sessions):
    assert [n for session in sessions for n in session] == [lesson.number for lesson in lessons.LESSONS]
    for session in sessions:
        assert sum(lessons.lesson(n).minutes for n in session) <= length, (length, session)
    notes = (lessons.HERE.parents[1] / "docs" / "instructor-notes.md").read_text()
    assert lessons.workshop_plan_text(length) in notes, "docs/instructor-notes.md must quote the plan"
