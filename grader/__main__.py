"""Command line: ``python -m grader grade SUBMISSIONS --exercise ID --out DIR [--jobs N] [--timeout S]``.

Other subcommands: ``list`` (exercise ids), ``grade-one`` (one submission; used by ``grade``
for process isolation and by the Gradescope bundle), ``gradescope-bundle`` (autograder zip),
``cleanup`` (remove the node agent). ``--nodes`` and ``--image-prefix`` reach the per-submission
processes through the environment (``COURSE_NODE_OPS``, ``COURSE_IMAGE_PREFIX``).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from labs.errors import LabError
from labs.nodeops.agent import NodeAgent, NodeAgentUnavailable

from .api import grade
from .batch import ClusterGone, grade_class, resume_settings
from .bundle import build_gradescope_bundle
from .checks.live import preflight
from .exercises import EXERCISES
from .formats import gradescope_results, write_json_atomic

_NODE_MODES = ("auto", "kind", "agent")


def _cluster_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--nodes", choices=_NODE_MODES, help="how to reach the nodes: kind (docker exec), "
                        "agent (a DaemonSet, through the API only) or auto (kind for local kind nodes; default)")
    parser.add_argument("--image-prefix", help="registry the nodes pull the lab images from, e.g. "
                        "registry.example.edu/ (default: images loaded with kind)")


def _apply_cluster_options(args: argparse.Namespace) -> None:
    if getattr(args, "nodes", None):
        os.environ["COURSE_NODE_OPS"] = args.nodes
    if getattr(args, "image_prefix", None) is not None:
        os.environ["COURSE_IMAGE_PREFIX"] = args.image_prefix


def _preflight(exercise_id: str) -> str | None:
    """Why a class cannot be graded live on this cluster (missing lab images), else None."""

    try:
        preflight(EXERCISES[exercise_id].cluster)
    except NodeAgentUnavailable as exc:
        if "image " in exc.message:   # no node can run the lab image: nothing could be graded
            return f"{exc.message}\nwhat to do: {exc.fix}"
        print(f"warning: {exc.message} ({exc.fix}); live checks on those nodes are reported as not checked",
              file=sys.stderr)
    except LabError as exc:
        return f"{exc.message}\nwhat to do: {exc.fix}"
    return None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m grader", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list exercise ids").set_defaults(handler=_list)
    g = sub.add_parser("grade", help="grade a class: folder of per-student folders/zips, or one zip")
    g.add_argument("submissions", type=Path, nargs="?", help="not needed with --resume")
    g.add_argument("--exercise", choices=list(EXERCISES), help="not needed with --resume")
    g.add_argument("--out", required=True, type=Path)
    g.add_argument("--jobs", type=int, help="submissions graded at once (default 2; pods spread over the nodes)")
    g.add_argument("--timeout", type=float, help="seconds per submission (default 600)")
    g.add_argument("--resume", action="store_true", help="complete the batch recorded in --out, with its settings")
    g.add_argument("--force", action="store_true", help="regrade students that already have results")
    g.add_argument("--static-only", action="store_true", help="skip live checks (no cluster needed)")
    g.add_argument("--cleanup", action="store_true", help="remove the node agent when done")
    g.set_defaults(handler=_grade_class)
    _cluster_options(g)
    one = sub.add_parser("grade-one", help="grade one submission (folder, file or archive)")
    one.add_argument("submission", type=Path)
    one.add_argument("--exercise", required=True, choices=list(EXERCISES))
    one.add_argument("--json", type=Path, help="write the full report here")
    one.add_argument("--gradescope", type=Path, help="write Gradescope results.json here")
    one.add_argument("--token", help="name for this run's cluster objects")
    one.add_argument("--static-only", action="store_true")
    one.set_defaults(handler=_grade_one)
    _cluster_options(one)
    c = sub.add_parser("cleanup", help="remove the node agent (DaemonSet and its namespace)")
    c.add_argument("--config", default="default", help="cluster config (default: default)")
    c.set_defaults(handler=_cleanup)
    b = sub.add_parser("gradescope-bundle", help="zip a Gradescope autograder for one exercise")
    b.add_argument("--exercise", required=True, choices=list(EXERCISES))
    b.add_argument("--out", required=True, type=Path)
    b.set_defaults(handler=_bundle)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    _apply_cluster_options(args)
    return args.handler(args, parser)


def _list(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    for exercise in EXERCISES.values():
        print(f"{exercise.id}\t{exercise.title}")
    return 0


def _cleanup(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    print("removed the node agent" if NodeAgent(args.config).remove() else "no node agent was deployed")
    return 0


def _bundle(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    print(build_gradescope_bundle(args.exercise, args.out))
    return 0


def _grade_one(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    report = grade(args.exercise, args.submission, token=args.token, live=not args.static_only)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(args.json, report.to_dict())
    if args.gradescope:
        args.gradescope.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(args.gradescope, gradescope_results(report))
    print(report)
    return 0


def _grade_class(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Exit 2: the cluster cannot grade live (nothing graded); 3: the cluster went away mid-batch."""
    settings = _batch_settings(args, parser)
    problem = _preflight(settings["exercise_id"]) if settings["live"] else None
    if problem:
        print(f"cannot grade live on this cluster, nothing was graded: {problem}", file=sys.stderr)
        return 2
    try:
        summary = grade_class(**settings)
    except ClusterGone as exc:
        print(f"error: {exc.message}\nwhat to do: {exc.fix}", file=sys.stderr)
        return 3
    if args.cleanup:
        NodeAgent(EXERCISES[settings["exercise_id"]].cluster).remove()
    print(json.dumps({"graded": summary.graded, "skipped": summary.skipped, "timed_out": summary.timed_out,
                      "seconds": summary.seconds, "out": str(summary.out), "busy": summary.busy}))
    return 0


def _batch_settings(args: argparse.Namespace, parser: argparse.ArgumentParser) -> dict:
    """grade_class's arguments: from the command line, or with --resume from the batch in --out."""
    try:
        saved = resume_settings(args.out) if args.resume else {}
    except LabError as exc:
        parser.error(f"{exc.message} ({exc.fix})")
    if saved and args.exercise not in (None, saved["exercise"]):
        parser.error(f"--resume: {args.out} holds a batch of {saved['exercise']}, not {args.exercise}")
    source, exercise = args.submissions or saved.get("source"), args.exercise or saved.get("exercise")
    if source is None or exercise is None:
        parser.error("grade needs SUBMISSIONS and --exercise (or --resume with a batch in --out)")
    return {"source": Path(source), "exercise_id": exercise, "out": args.out,
            "jobs": args.jobs or saved.get("jobs", 2), "timeout": args.timeout or saved.get("timeout", 600),
            "force": args.force, "live": saved.get("live", True) and not args.static_only}


if __name__ == "__main__":
    sys.exit(main())
