"""Every hostile or malformed submission gets a clear message, no grader error, and leaves nothing behind."""
import importlib.util
import json
import shutil
import tempfile
from pathlib import Path

import pytest

import grader

CORPUS = Path(__file__).resolve().parents[1] / "data" / "submissions"
ESCAPES = [Path("/tmp/grader-corpus-escape.json"), Path("/tmp/grader-corpus-pwned"), Path("/grader-corpus-escape.json")]


def _builder():
    spec = importlib.util.spec_from_file_location("build_archives", CORPUS / "build_archives.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    text = [(c["case"], CORPUS / "cases" / c["case"], c["exercise"], c["expect"])
            for c in json.loads((CORPUS / "cases.json").read_text())]
    return text + _builder().build(tmp_path_factory.mktemp("generated"))


def test_corpus_has_at_least_40_cases(cases):
    assert len(cases) >= 40
    assert len({c[0] for c in cases}) == len(cases)


def test_every_case_is_refused_with_its_message_and_nothing_is_left(cases):
    tmp = Path(tempfile.gettempdir())
    before = set(tmp.glob("grader-*"))
    failures, unverified = [], []
    no_parser = shutil.which("apparmor_parser") is None
    for name, path, exercise, expect in cases:
        report = grader.grade(exercise, path, live=False)
        text = str(report)
        errors = [c.message for c in report.checks if c.status == "error"]
        if expect not in text and no_parser and any(not c.live and c.status == "not_checked" for c in report.checks):
            unverified.append(name)   # its message comes from a check apparmor_parser runs
        elif expect not in text or errors or report.score >= report.possible:
            failures.append(f"{name}: score {report.score}/{report.possible}, errors {errors}\n{text[:500]}")
        assert report.to_json()  # serialises
        assert report._repr_html_()
    assert not failures, "\n\n".join(failures)
    assert set(tmp.glob("grader-*")) == before, "temp folders left behind"
    assert not [p for p in ESCAPES if p.exists()], "a submission wrote outside its folder"
    if unverified:
        pytest.skip(f"apparmor_parser is not installed here (apt-get install apparmor; make test installs it): "
                    f"{len(cases) - len(unverified)} cases passed, {len(unverified)} not verified: "
                    f"{', '.join(unverified)}")
