"""``python -m labs.apparmor check FILE...`` (parse only) and ``vm-image`` (build the QEMU guest)."""
from __future__ import annotations

import argparse
import sys

from ..errors import LabError
from . import check_profile_syntax, shipped_profiles


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m labs.apparmor")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="compile profiles with apparmor_parser without loading them")
    check.add_argument("files", nargs="*", help="profile files (default: every shipped profile)")
    sub.add_parser("vm-image", help="build or reuse the AppArmor verification VM image")
    args = parser.parse_args(argv)
    try:
        if args.command == "check":
            for path in args.files or shipped_profiles():
                print(f"{path}: profile {check_profile_syntax(str(path))} parses")
        else:
            from .vm import build_vm_image

            image = build_vm_image()
            print(f"{image.directory} (recipe {image.recipe_hash}, built in {image.built_seconds}s)")
    except LabError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
