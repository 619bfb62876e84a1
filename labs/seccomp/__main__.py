"""Instructor CLI: ``python -m labs.seccomp validate|build|diff|compare|explain|record``.

Why: checking a folder of learner profiles or building one from a list of syscalls should not
need a notebook. Exit status 1 means a profile was invalid (every problem is printed).
``validate`` also prints warnings (the profile loads but refuses nothing, allows dangerous
syscalls, reports refused syscalls as successes, uses keys containerd ignores) and notes
(names the node's architecture lacks, which runc skips); those keep exit status 0.
``record IMAGE`` (or ``record --manifest FILE``) records a workload and writes its profiles
and report; exit status 1 when the recording is partial or lost records, 130 on Ctrl-C.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from ..errors import LabError, ProfileError
from ..syscalls import ARCHITECTURES, node_arch
from . import (
    build_profile,
    compare_with_runtime_default,
    diff_profiles,
    explain_denial,
    load_profile,
    load_recording,
    write_profile,
)
from .record import record_image
from .record_cluster import record_manifest
from .validate import profile_warnings


def _print_warnings(profile: dict, arch: str) -> None:
    """Each warning/note on one line; the fix once per kind (they repeat)."""
    fixes_shown: set[str] = set()
    for warning in profile_warnings(profile, arch):
        print(f"  {warning.level}: {warning.path}: {warning.message}")
        if warning.fix and warning.kind not in fixes_shown:
            fixes_shown.add(warning.kind)
            print(f"    fix: {warning.fix}")


def _validate(args: argparse.Namespace) -> int:
    failed = 0
    for path in args.profiles:
        try:
            profile = load_profile(Path(path))
        except ProfileError as exc:
            failed += 1
            print(f"INVALID {path}")
            for problem in getattr(exc, "problems", [exc]):
                print(f"  {problem}")
            continue
        warnings = profile_warnings(profile, args.arch)
        counts = []
        for level in ("warning", "note"):
            n = sum(w.level == level for w in warnings)
            if n:
                counts.append(f"{n} {level}{'s' if n > 1 else ''}")
        print(f"ok      {path}" + (f" ({', '.join(counts)}; valid, but read them)" if counts else ""))
        _print_warnings(profile, args.arch)
    return 1 if failed else 0


def _read_names(path: str) -> list[str]:
    """One name per line, or a JSON list, or a JSON object of name -> count."""
    text = Path(path).read_text()
    if text.lstrip().startswith(("[", "{")):
        return list(json.loads(text))
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def _build(args: argparse.Namespace) -> int:
    profile = build_profile(_read_names(args.syscalls), architectures=args.arch or ["x86_64"],
                            include_runtime_startup=not args.no_runtime_startup, staging=args.staging)
    if args.out:
        print(write_profile(profile, args.out))
    else:
        print(json.dumps(profile, indent=2, sort_keys=True))
    return 0


def _is_recording(path: Path) -> bool:
    return path.is_dir() or (path.name == "report.json" and "runs" in json.loads(path.read_text()))


def _diff(args: argparse.Namespace) -> int:
    old, new = Path(args.old), Path(args.new)
    if _is_recording(old) and _is_recording(new):
        print(load_recording(old).diff(load_recording(new)))
    else:
        print(diff_profiles(load_profile(old), load_profile(new)))
    return 0


def _record(args: argparse.Namespace) -> int:
    if bool(args.image) == bool(args.manifest):
        print("record needs an IMAGE or --manifest FILE (one of them)", file=sys.stderr)
        return 2
    target = args.image or Path(args.manifest).stem
    out = Path(args.out or f"recording-{target.split('/')[-1].replace(':', '-')}")
    started = time.monotonic()

    def progress(message: str) -> None:
        print(f"[{time.monotonic() - started:6.1f}s] {message}", flush=True)

    common = dict(drive=args.drive, runs=args.runs, out=out, progress=progress, settle=args.settle,
                  timeout=args.timeout)
    try:
        if args.manifest:
            recording = record_manifest(args.manifest, config=args.config, **common)
        else:
            recording = record_image(args.image, publish=args.publish, **common)
    except KeyboardInterrupt:
        print(f"interrupted: partial results in {out}", file=sys.stderr)
        return 130
    except LabError as exc:
        print(exc, file=sys.stderr)
        print(f"partial results in {out}" if getattr(exc, "recording", None) and out.exists() else
              "nothing recorded", file=sys.stderr)
        return 1
    print(f"{recording.status}: {len(recording.syscalls())} syscalls in {len(recording.runs)} run(s); "
          f"profile.json, profile-staged.json, report.md in {out}")
    return 0 if recording.status == "complete" else 1


def _compare(args: argparse.Namespace) -> int:
    print(compare_with_runtime_default(load_profile(Path(args.profile))))
    return 0


def _explain(args: argparse.Namespace) -> int:
    name = int(args.syscall) if args.syscall.isdigit() else args.syscall
    print(explain_denial(name, args.arch))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m labs.seccomp", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("validate", help="check profiles: every problem (exit 1), warnings and notes (exit 0)")
    p.add_argument("profiles", nargs="+")
    p.add_argument("--arch", default=node_arch(), choices=ARCHITECTURES,
                   help="the nodes' architecture, for notes about names it lacks (default: this machine's)")
    p.set_defaults(func=_validate)
    p = sub.add_parser("build", help="build an allow-list profile from observed syscall names")
    p.add_argument("syscalls", help="file: one name per line, a JSON list, or a JSON name->count object")
    p.add_argument("--arch", action="append", choices=ARCHITECTURES)
    p.add_argument("--staging", action="store_true", help="defaultAction SCMP_ACT_LOG")
    p.add_argument("--no-runtime-startup", action="store_true")
    p.add_argument("--out", help="write here instead of printing")
    p.set_defaults(func=_build)
    p = sub.add_parser("diff", help="syscalls added/removed between two profiles (or two recordings)")
    p.add_argument("old")
    p.add_argument("new")
    p.set_defaults(func=_diff)
    p = sub.add_parser("record", help="record IMAGE (or --manifest POD.yaml) under the audit profile, "
                                      "drive it from the host, write profile.json, profile-staged.json, report")
    p.add_argument("image", nargs="?", help="a local image (docker images)")
    p.add_argument("--manifest", help="a pod manifest: record it on the kind cluster instead")
    p.add_argument("--publish", type=int, metavar="PORT", help="the container port the program serves on")
    p.add_argument("--drive", action="extend", nargs="+", default=[], metavar="CMD",
                   help="host commands run after it listens (sh -c; $PORT $URL $CONTAINER, or on the "
                        "cluster $POD $NAMESPACE $NODE $POD_IP); `docker exec $CONTAINER ...` is recorded")
    p.add_argument("--runs", type=int, default=1, help="record this many runs and merge them")
    p.add_argument("--out", help="folder for the results (default ./recording-<name>)")
    p.add_argument("--settle", type=float, default=3.0, help="done when no new syscall for this long (s)")
    p.add_argument("--timeout", type=float, default=120.0, help="limit for each wait (s)")
    p.add_argument("--config", default="default", help="cluster config for --manifest")
    p.set_defaults(func=_record)
    p = sub.add_parser("compare", help="compare a profile with containerd's RuntimeDefault")
    p.add_argument("profile")
    p.set_defaults(func=_compare)
    p = sub.add_parser("explain", help="advice for a denied syscall (name or number)")
    p.add_argument("syscall")
    p.add_argument("--arch", default="x86_64", choices=ARCHITECTURES)
    p.set_defaults(func=_explain)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ProfileError as exc:
        print(exc, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
