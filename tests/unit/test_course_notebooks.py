"""The lessons' shape and references, checked without running anything.

Every lesson: objectives and minutes first, key points last, an exercise with its
workspace, solution and check cells; short code cells; only ``compare`` cells keep outputs;
every lesson file a cell names exists.
"""
from __future__ import annotations

import re

import nbformat
import pytest

from labs import lessons

NOTEBOOKS = sorted((lessons.HERE.parents[1] / "notebooks").glob("[0-9][0-9]-*.ipynb"))
ASSET = re.compile(r'lessons\.asset\("(\d\d)", "([^"]+)"\)')
MAX_CODE_LINES = 12


def tags(cell):
    return cell.get("metadata", {}).get("tags", [])


def test_every_catalogued_lesson_has_its_notebook():
    assert [p.name for p in NOTEBOOKS] == [l.notebook for l in lessons.LESSONS]
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
