"""``python -m labs.apparmor check FILE...`` (parse only), ``merge`` / ``diff`` (complain-mode runs into
one profile with provenance) and ``vm-image`` (build the QEMU guest)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import LabError
from . import check_profile_syntax, shipped_profiles
from .recording import AppArmorRecording, AppArmorRun, load_apparmor_recording
from .vm import build_vm_image


def _merge(args) -> None:
    runs = []
    for spec in args.runs:
        label, sep, log = spec.partition("=")
        if not sep or not label:
            raise LabError(f"{spec!r} is not LABEL=LOGFILE", fix="name each run: smoke=run1.log full=run2.log")
        runs.append(AppArmorRun.from_audit_text(label, Path(log).read_text()))
    recording = AppArmorRecording(args.name, runs, from_profile=args.from_profile, flags=args.flag)
    out = recording.write(args.out or f"recording-{args.name}")
    new = ", ".join(f"{label} +{count}" for label, count, _, _ in recording.coverage())
    print(f"{recording.status}: {len(recording.rules())} rules from {len(runs)} run(s) (new per run: {new})")
    print(f"{out / args.name}, {out / 'report.md'}, {out / 'report.json'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m labs.apparmor")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="compile profiles with apparmor_parser without loading them")
    check.add_argument("files", nargs="*", help="profile files (default: every shipped profile)")
    merge = sub.add_parser("merge", help="merge complain-mode runs (audit logs) into one profile with a report "
                                         "of the runs behind each rule")
    merge.add_argument("name", help="the merged profile's name")
    merge.add_argument("runs", nargs="+", metavar="LABEL=LOG", help="one audit log (audit.log, syslog) per run")
    merge.add_argument("--from-profile", help="keep the records of this complain profile (and its children)")
    merge.add_argument("--flag", action="append", default=[], help="profile flag, e.g. attach_disconnected")
    merge.add_argument("--out", help="folder for the profile and report (default ./recording-NAME)")
    diff = sub.add_parser("diff", help="rules added/removed between two merged recordings (folders or report.json)")
    diff.add_argument("old")
    diff.add_argument("new")
    sub.add_parser("vm-image", help="build or reuse the AppArmor verification VM image")
    args = parser.parse_args(argv)
    try:
        if args.command == "check":
            for path in args.files or shipped_profiles():
                print(f"{path}: profile {check_profile_syntax(str(path))} parses")
        elif args.command == "merge":
            _merge(args)
        elif args.command == "diff":
            print(load_apparmor_recording(args.old).diff(load_apparmor_recording(args.new),
                                                         old_label=args.old, new_label=args.new))
        else:
            image = build_vm_image()
            print(f"{image.directory} (recipe {image.recipe_hash}, built in {image.built_seconds}s)")
    except (LabError, OSError) as exc:       # OSError: a log or report that cannot be read
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
