"""Machine formats of grade reports: Gradescope results.json, a class CSV, JUnit XML.

Not-checked checks appear with ``max_score`` 0 in Gradescope and as skipped in JUnit, so no
format counts unverified work as earned.
"""
from __future__ import annotations

import csv
import json
import os
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

from .model import ERROR, FAILED, NOT_CHECKED, PASSED, GradeReport

__all__ = ["gradescope_results", "write_json_atomic", "write_class_csv", "write_junit"]


def gradescope_results(report: GradeReport) -> dict:
    """The results.json Gradescope's autograder harness reads."""
    tests = []
    for i, c in enumerate(report.checks, 1):
        output = c.message + (f"\nHint: {c.hint}" if c.hint else "")
        tests.append({
            "number": str(i),
            "name": c.title + (" (not checked here)" if c.status == NOT_CHECKED else ""),
            "score": c.points,
            "max_score": 0 if c.status == NOT_CHECKED else c.max_points,
            "status": "passed" if c.status == PASSED else "failed",
            "output": output,
            "visibility": "after_published" if c.hidden else "visible",
        })
    output = report.summary() + (f"\nNot yet: {report.problem}" if report.problem else "")
    return {"score": report.score, "output": output, "execution_time": report.seconds,
            "tests": tests, "visibility": "visible", "stdout_visibility": "hidden"}


def write_json_atomic(path: Path, data: dict) -> None:
    """Write a unique temp file then rename it over ``path``: an interrupted run never leaves a
    half file that looks finished, and two processes writing the same file never mix bytes."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(json.dumps(data, indent=2, sort_keys=True))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_class_csv(path: Path, rows: list[tuple[str, GradeReport]]) -> None:
    check_ids = list(dict.fromkeys(c.id for _, r in rows for c in r.checks))
    with path.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["student", "exercise", "score", "max_score", "possible", "not_checked", "problem", *check_ids])
        for student, r in rows:
            per = {c.id: (f"{c.points:g}" if c.status != NOT_CHECKED else "n/c") for c in r.checks}
            out.writerow([student, r.exercise, f"{r.score:g}", f"{r.max_score:g}", f"{r.possible:g}",
                          len(r.not_checked), r.problem, *(per.get(i, "") for i in check_ids)])


def write_junit(path: Path, rows: list[tuple[str, GradeReport]]) -> None:
    suites = ET.Element("testsuites")
    for student, r in rows:
        suite = ET.SubElement(suites, "testsuite", name=f"{r.exercise}.{student}", tests=str(len(r.checks)),
                              failures=str(sum(c.status == FAILED for c in r.checks)),
                              errors=str(sum(c.status == ERROR for c in r.checks)),
                              skipped=str(sum(c.status == NOT_CHECKED for c in r.checks)),
                              time=f"{r.seconds:.2f}")
        for c in r.checks:
            case = ET.SubElement(suite, "testcase", classname=f"{r.exercise}.{student}", name=c.id,
                                 time=f"{c.seconds:.2f}")
            if c.status == FAILED:
                ET.SubElement(case, "failure", message=c.message).text = c.hint
            elif c.status == ERROR:
                ET.SubElement(case, "error", message=c.message)
            elif c.status == NOT_CHECKED:
                ET.SubElement(case, "skipped", message=c.message)
    ET.ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)
