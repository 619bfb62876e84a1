"""Registry consistency; reference solutions earn every static point, blank starters earn none."""
import shutil

import pytest

import grader
from grader.exercises import EXERCISES
from grader.exercises.common import EXERCISES_DIR

IDS = list(EXERCISES)


def test_eleven_exercises_one_per_lesson():
    assert IDS == ["00-doctor", "01-block-mkdir", "02-restricted-pod", "03-audit", "04-least-privilege-nginx",
                   "05-fix-broken-profile", "06-apparmor-deny-write", "07-apparmor-complain-enforce",
                   "08-cluster-scale", "09-capstone", "10-bring-your-own"]


@pytest.mark.parametrize("exercise_id", IDS)
def test_exercise_folder_is_complete(exercise_id):
    exercise = EXERCISES[exercise_id]
    folder = EXERCISES_DIR / exercise_id
    assert (folder / "README.md").read_text().startswith("# Exercise")
    for name in exercise.files.values():
        assert (folder / "starter" / name).is_file(), f"starter/{name}"
        assert (folder / "solution" / name).is_file(), f"solution/{name}"
    ids = [c.id for c in exercise.checks]
    assert len(ids) == len(set(ids))
    for check in exercise.checks:
        assert set(check.needs) <= set(ids[: ids.index(check.id)]), f"{check.id} needs a later or unknown check"
        assert check.points > 0
        hidden = {c.id for c in exercise.checks if c.hidden}
        assert not (set(check.needs) & hidden) or check.hidden, f"{check.id} would leak a hidden check"


@pytest.mark.parametrize("exercise_id", IDS)
def test_solution_passes_every_static_check(exercise_id):
    report = grader.grade(exercise_id, EXERCISES_DIR / exercise_id / "solution", live=False)
    static = [c for c in report.checks if not c.live]
    assert static, "every exercise has static checks"
    if shutil.which("apparmor_parser") is None and any(c.status == "not_checked" for c in static):
        pytest.skip("apparmor_parser is not installed here: the profile's static checks cannot run "
                    "(apt-get install apparmor; make test installs it)")
    assert all(c.status == "passed" for c in static), str(report)
    assert all(c.status == "not_checked" for c in report.checks if c.live)
    assert report.score == report.max_score > 0


@pytest.mark.parametrize("exercise_id", IDS)
def test_blank_starter_scores_zero_without_errors(exercise_id):
    report = grader.grade(exercise_id, EXERCISES_DIR / exercise_id / "starter")
    assert report.score == 0, str(report)
    assert not [c for c in report.checks if c.status == "error"], str(report)


def test_check_uses_workspace_copy_and_hides_hidden_checks(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_WORKSPACE", str(tmp_path))
    exercise_id = "04-least-privilege-nginx"
    path = grader.start_exercise(exercise_id)
    assert (path / "profile.json").read_text() == (EXERCISES_DIR / exercise_id / "starter" / "profile.json").read_text()
    (path / "profile.json").write_text("{ broken")
    grader.start_exercise(exercise_id)  # never overwrites the learner's edits
    assert (path / "profile.json").read_text() == "{ broken"
    report = grader.check(exercise_id)
    assert "is not valid JSON" in str(report)
    assert not any(c.hidden for c in report.checks)
    assert any(c.hidden for c in grader.grade(exercise_id, path).checks)


def test_missing_workspace_is_feedback_not_a_traceback(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_WORKSPACE", str(tmp_path / "nowhere"))
    report = grader.check("01-block-mkdir")
    assert report.score == 0 and "does not exist" in report.problem
    assert "Not yet" in report._repr_html_()


def test_readme_is_shown_text():
    assert "profile.json" in grader.exercise_readme("04-least-privilege-nginx")
