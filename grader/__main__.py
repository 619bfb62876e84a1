"""Command line: ``python -m grader grade SUBMISSIONS --exercise ID --out DIR [--jobs N] [--timeout S]``.

Other subcommands: ``list`` (exercise ids), ``grade-one`` (one submission; used by ``grade``
for process isolation and by the Gradescope bundle), ``gradescope-bundle`` (autograder zip).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .api import grade
from .batch import grade_class
from .bundle import build_gradescope_bundle
from .exercises import EXERCISES
from .formats import gradescope_results, write_json_atomic


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list exercise ids")
    g = sub.add_parser("grade", help="grade a class: folder of per-student folders/zips, or one zip")
    g.add_argument("submissions", type=Path)
    g.add_argument("--exercise", required=True, choices=list(EXERCISES))
    g.add_argument("--out", required=True, type=Path)
    g.add_argument("--jobs", type=int, default=2)
    g.add_argument("--timeout", type=float, default=600, help="seconds per submission")
    g.add_argument("--force", action="store_true", help="regrade students that already have results")
    g.add_argument("--static-only", action="store_true", help="skip live checks (no cluster needed)")
    one = sub.add_parser("grade-one", help="grade one submission (folder, file or archive)")
    one.add_argument("submission", type=Path)
    one.add_argument("--exercise", required=True, choices=list(EXERCISES))
    one.add_argument("--json", type=Path, help="write the full report here")
    one.add_argument("--gradescope", type=Path, help="write Gradescope results.json here")
    one.add_argument("--token", help="name for this run's cluster objects")
    one.add_argument("--static-only", action="store_true")
    b = sub.add_parser("gradescope-bundle", help="zip a Gradescope autograder for one exercise")
    b.add_argument("--exercise", required=True, choices=list(EXERCISES))
    b.add_argument("--out", required=True, type=Path)
    args = parser.parse_args(argv)

    if args.command == "list":
        for exercise in EXERCISES.values():
            print(f"{exercise.id}\t{exercise.title}")
        return 0
    if args.command == "gradescope-bundle":
        print(build_gradescope_bundle(args.exercise, args.out))
        return 0
    if args.command == "grade-one":
        report = grade(args.exercise, args.submission, token=args.token, live=not args.static_only)
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            write_json_atomic(args.json, report.to_dict())
        if args.gradescope:
            args.gradescope.parent.mkdir(parents=True, exist_ok=True)
            write_json_atomic(args.gradescope, gradescope_results(report))
        print(report)
        return 0
    summary = grade_class(args.submissions, args.exercise, args.out, jobs=args.jobs, timeout=args.timeout,
                          force=args.force, live=not args.static_only)
    print(json.dumps({"graded": summary.graded, "skipped": summary.skipped, "timed_out": summary.timed_out,
                      "seconds": summary.seconds, "out": str(summary.out)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
