"""Run each lesson like a learner would, with and without the exercise solutions."""
from __future__ import annotations

import re

import nbformat
import pytest
from nbclient import NotebookClient
from pytest_notebook.nb_regression import NBRegressionFixture

from labs.cluster import cluster_status, delete_cluster, ensure_cluster, installed_seccomp_profiles, node_names

from .nbtools import (
    DIFF_REPLACE,
    LESSONS,
    NOTEBOOKS,
    blank_check_notebook,
    diff_ignore,
    exec_env,
    lesson_number,
    output_text,
    tags,
)

SCORE = re.compile(r"^(\S+): ([\d.]+)/([\d.]+) points", re.M)
CRASH = ("Traceback (most recent call last)", "itself failed")


@pytest.mark.slow
@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
def test_lesson_runs_with_solutions(path, require_core, tmp_path):
    """Top to bottom with COURSE_APPLY_SOLUTIONS=1: no error, stored outputs unchanged,
    every check passes what it could check on this machine."""
    require_core(lesson_number(path))
    stored = nbformat.read(path, as_version=4)
    fixture = NBRegressionFixture(exec_timeout=600, exec_cwd=str(NOTEBOOKS),
                                  exec_env=exec_env(tmp_path / "workspace", solutions=True),
                                  diff_ignore=diff_ignore(stored), diff_replace=DIFF_REPLACE,
                                  diff_use_color=False)
    result = fixture.check(str(path), raise_errors=False)
    assert not result.diff_filtered, f"stored outputs changed:\n{result.diff_string}"
    texts = [output_text(c) for c in result.nb_final.cells if c.cell_type == "code"]
    for text in texts:
        assert not any(marker in text for marker in CRASH), text[-2000:]
    checks = [output_text(c) for c in result.nb_final.cells if "check" in tags(c)]
    assert checks, f"{path.name} has no check cell"
    for text in checks:
        match = SCORE.search(text)
        assert match, f"no score in the check output:\n{text[-1500:]}"
        assert "[FAIL]" not in text and "[ERR " not in text, text
        assert float(match.group(2)) == float(match.group(3)), text


def execute(nb: nbformat.NotebookNode, env: dict[str, str]) -> None:
    """Run ``nb`` in place in a fresh kernel, from notebooks/, with ``env`` set."""
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        client.execute()


@pytest.mark.slow
def test_blank_exercises_say_not_yet(available, tmp_path):
    """Every check on an untouched starter gives 'not yet' feedback, never a traceback."""
    if "engine" not in available:
        pytest.skip("this machine lacks a running container engine (make engine)")
    nb = blank_check_notebook()
    execute(nb, exec_env(tmp_path / "workspace", solutions=False))
    checks = [c for c in nb.cells if "check" in tags(c)]
    assert len(checks) == len(LESSONS)
    for cell in nb.cells:
        assert not any(o.get("output_type") == "error" for o in cell.get("outputs", [])), output_text(cell)
    for cell in checks:
        text = output_text(cell)
        assert "not yet" in text.lower(), f"{cell.source}: no 'not yet' feedback:\n{text[-1500:]}"
        assert not any(marker in text for marker in CRASH), text[-2000:]
        assert "[PASS]" not in text or "[FAIL]" in text, f"{cell.source}: a blank exercise passed:\n{text}"


@pytest.mark.slow
def test_lesson_08_node_by_node_on_the_multi_node_cluster(require_core, tmp_path):
    """Lesson 08's multi-node branch, which the run above skips on the single-node cluster:
    the node without the profile fails while the others run, and exercise 08's DaemonSet puts
    the profile on all three nodes. Its outputs differ from the stored (single-node) ones, so
    they are checked by content instead of compared. This is also `make test`'s only proof of
    the committed multi-node config (one 3-node cluster per run: about 90 s on 2 cores)."""
    require_core("08")
    existed = cluster_status("multi-node").exists
    ensure_cluster("multi-node")
    try:
        assert sorted(n.role for n in cluster_status("multi-node").nodes) == ["control-plane", "worker", "worker"]
        nb = nbformat.read(next(p for p in LESSONS if lesson_number(p) == "08"), as_version=4)
        execute(nb, exec_env(tmp_path / "workspace", solutions=True))
        holding = [n for n in node_names("multi-node") if "course-scale.json" in installed_seccomp_profiles(n)]
    finally:
        if not existed:
            delete_cluster("multi-node")
    assert len(holding) == 3, holding       # the lesson's last install reached every node
    texts = [output_text(c) for c in nb.cells if c.cell_type == "code"]
    assert any("using the multi-node cluster: 3 node(s)" in t for t in texts), texts
    tables = [[row for row in t.splitlines() if row.startswith("seccomp-course-multi-")] for t in texts]
    partial, everywhere = [rows for rows in tables if rows][:2]   # node -> outcome, before and after
    assert len(partial) == 3 and all(": Running" in row for row in partial[:2]), partial
    # Kubernetes' own reason for a Localhost profile file missing on that node (checked on the
    # course cluster): waiting CreateContainerError, "cannot load seccomp profile ... no such file"
    assert "CreateContainerError" in partial[2] and "cannot load seccomp profile" in partial[2], partial
    assert len(everywhere) == 3 and all(": Running" in row for row in everywhere), everywhere
    check = next(output_text(c) for c in nb.cells if "check" in tags(c))
    match = SCORE.search(check)
    assert match and float(match.group(2)) == float(match.group(3)), check
    assert "all 3 nodes (multi-node cluster)" in check, check
