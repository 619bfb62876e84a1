"""Carry the course's images to machines without network: ``python -m labs.bundle save|load PATH``.

Why: a workshop room with a bad (or no) network can neither pull kind's release image nor
build the node image (Go module proxy, Debian mirror) or the lab images. One ``docker save``
tarball of the offline node image and the lab images at their current recipe hashes, made on a
machine that built them, is enough: after ``load`` every image keeps its recipe-hash tag and
label, so ``make images`` and ``make cluster`` find them current and build nothing. The offline
node image is the one bundled (never kind's release image) because it also carries kind and
kubectl, which ``make cluster`` copies into ``.venv/bin``.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

from . import engine
from .cluster.versions import NODE_IMAGE
from .errors import EnvironmentProblem, LabError
from .images import LAB_IMAGES, recipe_hash
from .results import Result

__all__ = ["BundleReport", "bundle_images", "save_bundle", "load_bundle"]

@dataclass
class BundleReport(Result):
    """What went into (or came out of) a bundle tarball."""

    path: str
    images: list[str] = field(default_factory=list)
    size_mb: float = 0.0


def bundle_images() -> list[str]:
    """The offline node image plus each lab image at its current recipe hash (and its plain name)."""
    images = [NODE_IMAGE]
    for name in LAB_IMAGES:
        images += [f"{name}:{recipe_hash(name)}", f"{name}:latest"]
    missing = [ref for ref in images if not engine.image_exists(ref)]
    if missing:
        raise EnvironmentProblem(f"not built yet: {', '.join(missing)}",
                                 fix="run `make offline-bundle`: it builds them first")
    return images


def save_bundle(path: str | Path) -> BundleReport:
    """``docker save`` the bundle images into ``path`` (folders created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    images = bundle_images()
    engine.save(path, images, timeout=1800, fix=f"check the free space where {path} goes (the bundle is over 1 GB)")
    return BundleReport(str(path), images, round(path.stat().st_size / 2**20, 1))


def load_bundle(path: str | Path) -> BundleReport:
    """``docker load`` a bundle; returns the image references it brought."""
    path = Path(path)
    if not path.is_file():
        raise EnvironmentProblem(f"no bundle at {path}",
                                 fix="copy dist/offline-bundle.tar from a machine that ran `make offline-bundle`")
    out = engine.load(path, timeout=1800)
    images = [line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("Loaded image: ")]
    return BundleReport(str(path), images, round(path.stat().st_size / 2**20, 1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m labs.bundle", description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=["save", "load"])
    parser.add_argument("path")
    args = parser.parse_args(argv)
    try:
        report = save_bundle(args.path) if args.action == "save" else load_bundle(args.path)
    except LabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{args.action}: {report.path} ({report.size_mb} MB): {', '.join(report.images)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
