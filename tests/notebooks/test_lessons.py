"""Run each lesson like a learner would, with and without the exercise solutions."""
from __future__ import annotations

import re

import nbformat
import pytest
from nbclient import NotebookClient
from pytest_notebook.nb_regression import NBRegressionFixture

from .nbtools import DIFF_REPLACE, LESSONS, NOTEBOOKS, blank_check_notebook, diff_ignore, exec_env, \
    lesson_number, output_text, tags

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


@pytest.mark.slow
def test_blank_exercises_say_not_yet(available, tmp_path):
    """Every check on an untouched starter gives 'not yet' feedback, never a traceback."""
    if "docker" not in available:
        pytest.skip("this machine lacks a running Docker engine")
    nb = blank_check_notebook()
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    env = exec_env(tmp_path / "workspace", solutions=False)
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        client.execute()
    checks = [c for c in nb.cells if "check" in tags(c)]
    assert len(checks) == len(LESSONS)
    for cell in nb.cells:
        assert not any(o.get("output_type") == "error" for o in cell.get("outputs", [])), output_text(cell)
    for cell in checks:
        text = output_text(cell)
        assert "not yet" in text.lower(), f"{cell.source}: no 'not yet' feedback:\n{text[-1500:]}"
        assert not any(marker in text for marker in CRASH), text[-2000:]
        assert "[PASS]" not in text or "[FAIL]" in text, f"{cell.source}: a blank exercise passed:\n{text}"
