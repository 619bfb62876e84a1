"""Pure parts of the course helpers: readiness, learner edition, charts' data, widgets."""
from __future__ import annotations

from dataclasses import dataclass

import nbformat
import pytest

from labs import lessons, plots, progress, student, widgets
from labs.errors import LabError
from labs.lessons.probes import ProbeTable


def test_readiness_marks_partial_and_blocked_lessons():
    ready = {lesson["number"]: lesson for lesson in lessons.readiness({"engine", "cluster"}).lessons}
    assert ready["01"]["runs"] == ready["04"]["runs"] == "fully"
    assert ready["06"]["runs"] == "partly" and "AppArmor" in ready["06"]["missing"][0]
    assert ready["08"]["runs"] == "partly"
    blocked = {lesson["number"]: lesson["runs"] for lesson in lessons.readiness({"engine"}).lessons}
    assert blocked["01"] == "fully" and blocked["02"] == "not at all"


def test_missing_asset_is_a_lab_error():
    with pytest.raises(LabError, match="no file"):
        lessons.asset("02", "nope.yaml")
    assert lessons.asset("02", "probe.py").name == "probe.py"


def _notebook() -> nbformat.NotebookNode:
    cells = [nbformat.v4.new_markdown_cell("# x"), nbformat.v4.new_code_cell("1"),
             nbformat.v4.new_code_cell("answer()", metadata={"tags": ["solution"]})]
    cells[1].outputs = [nbformat.v4.new_output("stream", text="1")]
    cells[1].execution_count = 3
    return nbformat.v4.new_notebook(cells=cells, metadata={"widgets": {}})


def test_strip_notebook_drops_solution_cells_and_outputs():
    nb, removed = student.strip_notebook(_notebook())
    assert removed == 1 and len(nb.cells) == 2
    assert nb.cells[1].outputs == [] and nb.cells[1].execution_count is None
    assert "widgets" not in nb.metadata


def test_student_edition_leaves_out_solutions(tmp_path):
    root = tmp_path / "course"
    (root / "notebooks").mkdir(parents=True)
    nbformat.write(_notebook(), root / "notebooks" / "00-x.ipynb")
    for part in ("starter", "solution"):
        (root / "labs" / "exercises" / "00-x" / part).mkdir(parents=True)
        (root / "labs" / "exercises" / "00-x" / part / "f.txt").write_text(part)
    (root / "Makefile").write_text("all:\n")
    edition = student.build_student_edition(tmp_path / "out", root=root)
    out = tmp_path / "out"
    assert not (out / "labs" / "exercises" / "00-x" / "solution").exists()
    assert (out / "labs" / "exercises" / "00-x" / "starter" / "f.txt").read_text() == "starter"
    assert edition.solution_cells_removed == 1 and edition.notebooks == ["00-x.ipynb"]
    assert edition.solution_folders_removed == ["labs/exercises/00-x/solution"]
    with pytest.raises(LabError):
        student.build_student_edition(root / "notebooks" / "out", root=root)


def test_apply_solution_only_when_asked(tmp_path, monkeypatch):
    root = tmp_path / "course"
    (root / "labs" / "exercises" / "00-x" / "solution").mkdir(parents=True)
    (root / "labs" / "exercises" / "00-x" / "solution" / "f.txt").write_text("answer")
    monkeypatch.delenv(student.APPLY_ENV, raising=False)
    assert not student.apply_solution("00-x", tmp_path / "ws", root=root)
    assert not (tmp_path / "ws").exists()
    monkeypatch.setenv(student.APPLY_ENV, "1")
    assert student.apply_solution("00-x", tmp_path / "ws", root=root)
    assert (tmp_path / "ws" / "f.txt").read_text() == "answer"
    with pytest.raises(LabError, match="learner edition"):
        student.apply_solution("01-y", tmp_path / "ws", root=root)


def test_histogram_and_attack_surface_data():
    assert plots.histogram_data({"read": 5, "write": 5, "mount": 9, "close": 1}, top=3) == [
        ("mount", 9), ("read", 5), ("write", 5)]
    data = plots.attack_surface_data({"wide": {"read", "mount", "ptrace"}, "narrow": {"read"}})
    assert data == [("wide", 3, 2), ("narrow", 1, 0)]
    assert plots.syscall_histogram({"read": 3, "mount": 1}).axes


def test_progress_lines():
    assert progress.format_seconds(83.2) == "1 min 23 s" and progress.format_seconds(4) == "4 s"
    step = progress.Step("Build", expected=60)
    step.note("layer 2")
    assert step.line().startswith("… Build:") and "layer 2" in step.line() and "about 1 min 0 s" in step.line()
    step.finished = step.started + 5
    assert step.line() == "✓ Build: done in 5 s"
    with pytest.raises(RuntimeError), progress.step("Fails"):
        raise RuntimeError("x")


@dataclass
class _Report:
    text: str

    def __str__(self):
        return self.text

    def _repr_html_(self):
        return f"<b>{self.text}</b>"


def test_check_panel_renders_report_error_and_crash():
    panel = widgets.CheckPanel(lambda ex: _Report(f"{ex}: not yet"), "01-x")
    assert panel.runs == 1 and panel.fallback_text == "01-x: not yet"
    bundle = panel._repr_mimebundle_()
    assert bundle["text/plain"] == "01-x: not yet" and "<b>" in bundle["text/html"]
    assert "application/vnd.jupyter.widget-view+json" in bundle
    panel.run_check()
    assert panel.runs == 2 and "check #2" in panel.stamp.value

    def refuse(ex):
        raise LabError("no cluster", fix="make cluster")
    assert "make cluster" in widgets.CheckPanel(refuse, "02-x").fallback_text

    def crash(ex):
        raise KeyError("oops")
    text = widgets.CheckPanel(crash, "03-x").fallback_text
    assert "itself failed" in text and "not your mistake" in text


def test_risk_notes_flag_dangerous_syscalls():
    notes = {n["syscall"]: n for n in widgets.risk_notes(["read", "ptrace"])}
    assert notes["read"]["danger"] is None and notes["ptrace"]["danger"]
    assert notes["read"]["description"]


def test_probe_table_text():
    table = ProbeTable(["A", "B"], {"unshare": {"A": "allowed", "B": "blocked (EPERM)"}})
    assert repr(table) == "unshare: A allowed, B blocked (EPERM)"
    assert "#c0392b" in table._repr_html_()
