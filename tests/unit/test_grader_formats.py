"""Result formats: Gradescope results.json, class CSV, JUnit XML, JSON round trip."""
import csv
import json
import xml.etree.ElementTree as ET

from grader.formats import gradescope_results, write_class_csv, write_junit
from grader.model import CheckResult, GradeReport


def _report():
    return GradeReport("04-least-privilege-nginx", "alice", [
        CheckResult("valid", "valid", "passed", 1, 1, "ok"),
        CheckResult("serves", "serves", "failed", 0, 2, "nginx did not answer", "audit while serving", live=True),
        CheckResult("aa", "apparmor", "not_checked", 0, 3, "not checked: no AppArmor", live=True),
        CheckResult("hidden", "hidden one", "error", 0, 1, "grader error", hidden=True),
    ])


def test_gradescope_counts_unchecked_work_as_zero_max():
    data = gradescope_results(_report())
    assert data["score"] == 1
    tests = {t["name"]: t for t in data["tests"]}
    assert tests["apparmor (not checked here)"]["max_score"] == 0
    assert tests["serves"]["status"] == "failed" and "Hint: audit while serving" in tests["serves"]["output"]
    assert tests["hidden one"]["visibility"] == "after_published"
    assert sum(t["max_score"] for t in data["tests"]) == 4
    json.dumps(data)


def test_round_trip_through_json():
    report = _report()
    again = GradeReport.from_dict(json.loads(report.to_json()))
    assert again == report and again.to_dict()["max_score"] == 4 and again.possible == 7


def test_csv_and_junit(tmp_path):
    rows = [("alice", _report()), ("bob", GradeReport("04-least-privilege-nginx", "bob", [], "timed out"))]
    write_class_csv(tmp_path / "c.csv", rows)
    table = list(csv.DictReader((tmp_path / "c.csv").open()))
    assert table[0]["score"] == "1" and table[0]["aa"] == "n/c" and table[1]["problem"] == "timed out"
    write_junit(tmp_path / "j.xml", rows)
    suite = ET.parse(tmp_path / "j.xml").getroot().find("testsuite")
    assert suite.get("failures") == "1" and suite.get("skipped") == "1" and suite.get("errors") == "1"
