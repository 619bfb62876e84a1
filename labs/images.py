"""Build the course's container images: `python -m labs.images build`.

The lab images are Dockerfiles in ``labs/images/<name>/`` built FROM a Debian bookworm base
(:mod:`labs.image_base` picks it): one already on this machine, else Debian's digest-pinned
image where a registry answers (macOS and Windows learners need no debootstrap), else a
`debootstrap --variant=minbase` tree fed to `docker import` (no registry on our machines, but
Debian packages are). Every image is tagged and labelled with its recipe hash (Dockerfile folder
+ the base's identity), so a rebuild is skipped when nothing changed and an image built on one
base is never taken for one built on the other.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import re
import sys
import tempfile
import time
from pathlib import Path

from . import engine
from .engine import image_exists, image_id, image_label
from .errors import CommandError, EnvironmentProblem
from .image_base import (
    BASE_DEBOOTSTRAP,
    BASE_SUITE,
    DEBOOTSTRAP_IDENTITY,
    REGISTRY_ENV,
    SOURCE_ENV,
    SOURCES,
    BaseChoice,
    debian_image,
    decide_base,
    registry_identity,
    requested_base,
)
from .names import MANAGED_LABEL_ARG
from .runner import run

__all__ = [
    "BASE_IMAGE",
    "NGINX_IMAGE",
    "COLLECTOR_IMAGE",
    "TOOLS_IMAGE",
    "WORKLOAD_IMAGES",
    "LAB_IMAGES",
    "MANAGED_LABEL",
    "RECIPE_LABEL",
    "BASE_LABEL",
    "apt_mirror",
    "recipe_hash",
    "image_exists",
    "image_id",
    "image_label",
    "choose_base",
    "ensure_base_image",
    "ensure_image",
    "ensure_images",
]

IMAGES_DIR = Path(__file__).resolve().parent / "images"
BASE_IMAGE = "course/base:bookworm"
#: the debootstrap base's repository; its tag is its recipe hash
BASE_REPOSITORY = "course/base"
NGINX_IMAGE = "course/nginx"
COLLECTOR_IMAGE = "course/collector"
TOOLS_IMAGE = "course/tools"
#: lesson 10's programs that are not nginx, one of each kind: image name -> folder
WORKLOAD_IMAGES = {"course/redis": "redis", "course/pyweb": "pyweb", "course/static-httpd": "static-httpd"}
#: image name -> folder under labs/images holding its Dockerfile
LAB_IMAGES = {NGINX_IMAGE: "nginx", COLLECTOR_IMAGE: "collector", TOOLS_IMAGE: "tools", **WORKLOAD_IMAGES}
#: the managed label as ``docker --label`` takes it (kept for tests/apparmor_vm; use labs.names)
MANAGED_LABEL = MANAGED_LABEL_ARG
RECIPE_LABEL = "course.seccomp-lab/recipe"
#: which base a lab image was built FROM (labs.image_base: the debootstrap recipe or a digest)
BASE_LABEL = "course.seccomp-lab/base"
#: a pull of debian:bookworm is about 50 MB; no answer within this is no registry
PULL_TIMEOUT = 600

APT_SOURCES = [Path("/etc/apt/sources.list.d"), Path("/etc/apt/sources.list")]


def apt_mirror(suite: str = BASE_SUITE, sources: list[Path] = APT_SOURCES) -> str:
    """The Debian mirror this machine already uses for ``suite`` (deb822 or one-line format).

    Why: mirrors differ per site (and some sites only reach a proxy); the machine's apt
    configuration is the one known to work here.
    """
    files: list[Path] = []
    for src in sources:
        if src.is_dir():
            files += sorted(p for p in src.iterdir() if p.suffix in (".sources", ".list"))
        elif src.is_file():
            files.append(src)
    for path in files:
        text = path.read_text(errors="replace")
        if path.suffix == ".sources":
            for stanza in re.split(r"\n\s*\n", text):
                fields = dict(re.findall(r"^(\w[\w-]*):\s*(.*)$", stanza, re.M))
                if ("deb" in fields.get("Types", "").split() and fields.get("Enabled", "yes") != "no"
                        and suite in fields.get("Suites", "").split()):
                    return fields["URIs"].split()[0].rstrip("/")
        else:
            for line in text.splitlines():
                parts = re.sub(r"\[[^]]*\]", "", line).split()
                if len(parts) >= 3 and parts[0] == "deb" and parts[2] == suite:
                    return parts[1].rstrip("/")
    raise EnvironmentProblem(
        f"no apt source for Debian {suite} found in /etc/apt/sources.list(.d)",
        fix=f"add a Debian mirror for {suite} to your apt sources, or build on a Debian host")


def _hash_tree(h: hashlib._Hash, folder: Path) -> None:
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        h.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes() + b"\0")


def recipe_hash(name: str | None = None, base: str = DEBOOTSTRAP_IDENTITY) -> str:
    """12 hex digits naming the recipe of the base (name=None) or of lab image ``name`` built
    FROM the base whose identity is ``base`` (labs.image_base)."""
    h = hashlib.sha256(base.encode())
    if name is not None:
        h.update(recipe_hash(None, base).encode())
        _hash_tree(h, IMAGES_DIR / LAB_IMAGES[name])
    return h.hexdigest()[:12]


def _debootstrap_tag() -> str:
    return f"{BASE_REPOSITORY}:{recipe_hash()}"


def _drop_old_recipes(repository: str, keep: str) -> None:
    """Untag this image's earlier recipe builds (12-hex tags this module made); an image a
    container still uses stays, because `docker rmi` refuses it."""
    for tag in engine.images(repository, "{{.Tag}}"):
        if tag != keep and re.fullmatch(r"[0-9a-f]{12}", tag):
            engine.rmi(f"{repository}:{tag}")


def _progress(message: str, started: float) -> None:
    print(f"[images] {message} ({time.monotonic() - started:.1f}s)", flush=True)


def ensure_base_image() -> str:
    """Build `course/base:bookworm` with debootstrap unless its recipe is already built."""
    tag = _debootstrap_tag()
    started = time.monotonic()
    if image_exists(tag):
        engine.tag(tag, BASE_IMAGE)
        _progress(f"{BASE_IMAGE} present ({tag})", started)
        return tag
    if os.geteuid() != 0:
        raise EnvironmentProblem("building the base image needs root (debootstrap)",
                                 fix="run `sudo make images` once (later builds reuse it); without root or "
                                     "debootstrap (macOS, Windows), let Docker reach a registry: the base is then "
                                     f"pulled ({SOURCE_ENV}=registry, {REGISTRY_ENV}=a mirror)")
    mirror = apt_mirror()
    with tempfile.TemporaryDirectory(prefix="course-base-") as tmp:
        root = Path(tmp) / "root"
        _progress(f"debootstrap {BASE_SUITE} from {mirror}", started)
        run(["debootstrap", *BASE_DEBOOTSTRAP, BASE_SUITE, str(root), mirror], timeout=1200,
            fix="check that the machine reaches its Debian mirror (apt-get update)")
        run(["rm", "-rf", str(root / "var/cache/apt/archives"), str(root / "var/lib/apt/lists")])
        (root / "var/lib/apt/lists/partial").mkdir(parents=True)
        (root / "var/cache/apt/archives/partial").mkdir(parents=True)
        tarball = Path(tmp) / "root.tar"
        run(["tar", "-C", str(root), "--numeric-owner", "-cf", str(tarball), "."], timeout=600)
        engine.import_image(tarball, tag, changes=[f"LABEL {MANAGED_LABEL}", f"LABEL {RECIPE_LABEL}={recipe_hash()}",
                                                   'CMD ["/bin/bash"]'])
    engine.tag(tag, BASE_IMAGE)
    _drop_old_recipes(BASE_REPOSITORY, recipe_hash())
    _progress(f"built {BASE_IMAGE} ({tag})", started)
    return tag


def _pull(ref: str) -> tuple[bool, str]:
    """Pull ``ref``: (ok, the engine's last word); no registry is an answer, not an exception."""
    try:
        result = engine.pull(ref, timeout=PULL_TIMEOUT)
    except CommandError:
        return False, f"no complete answer within {PULL_TIMEOUT}s"
    lines = [line.strip() for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    return result.ok, lines[-1] if lines else f"pull exited {result.returncode}"


def _all_built(names: list[str], identity: str, prefix: str) -> bool:
    return all(image_exists(f"{prefix}{name}:{recipe_hash(name, identity)}") for name in names)


def choose_base(names: list[str] | None = None, *, source: str | None = None, prefix: str = "") -> BaseChoice:
    """The base lab images ``names`` build FROM: one on this machine (the base itself, or every
    image already built on it), else debian:bookworm pulled by digest, else debootstrap."""
    names = names or list(LAB_IMAGES)
    requested = requested_base(source)
    debian = debian_image()
    started = time.monotonic()

    def pull() -> tuple[bool, str]:
        _progress(f"pulling {debian} (about 50 MB)", started)
        ok, detail = _pull(debian)
        _progress(f"pull {'done' if ok else 'failed'}: {detail}", started)
        return ok, detail

    chosen, reason = decide_base(
        requested,
        debootstrap_present=image_exists(_debootstrap_tag())
        or _all_built(names, DEBOOTSTRAP_IDENTITY, prefix),
        registry_present=image_exists(debian) or _all_built(names, registry_identity(), prefix),
        pull=pull)
    if chosen == "registry":
        return BaseChoice("registry", debian, registry_identity(), reason)
    return BaseChoice("debootstrap", _debootstrap_tag(), DEBOOTSTRAP_IDENTITY, reason)


def ensure_image(name: str, base: BaseChoice | None = None, *, prefix: str = "") -> str:
    """Build lab image ``name`` (a key of LAB_IMAGES) FROM ``base`` unless its recipe hash is
    present; returns the hash-tagged reference, and ``name`` (":latest") points to it too.
    ``prefix`` goes before every name this makes (tests build beside the course's images)."""
    base = base or choose_base([name], prefix=prefix)
    digest = recipe_hash(name, base.identity)
    repository = prefix + name
    tag = f"{repository}:{digest}"
    started = time.monotonic()
    if image_exists(tag):
        _progress(f"{tag} present", started)
    else:
        base_ref = ensure_base_image() if base.source == "debootstrap" else base.image
        engine.build(IMAGES_DIR / LAB_IMAGES[name], tag, build_args={"BASE": base_ref},
                     labels=[MANAGED_LABEL, f"{RECIPE_LABEL}={digest}", f"{BASE_LABEL}={base.identity}"],
                     timeout=1800, fix="check the build output above; apt-get inside the build needs the Debian mirror")
        _drop_old_recipes(repository, digest)
        _progress(f"built {tag} FROM {base_ref}", started)
    engine.tag(tag, repository)
    return tag


def ensure_images(names: list[str] | None = None, *, source: str | None = None,
                  prefix: str = "") -> dict[str, str]:
    """Make sure the lab images exist (and their base, when one is missing); returns name ->
    hash-tagged reference."""
    wanted, started = names or list(LAB_IMAGES), time.monotonic()
    base = choose_base(wanted, source=source, prefix=prefix)
    _progress(f"base: {base.source}, {base.reason}", started)
    return {name: ensure_image(name, base, prefix=prefix) for name in wanted}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m labs.images", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="build the base and lab images (skips built recipes)")
    build.add_argument("names", nargs="*", help=f"only these images ({', '.join(LAB_IMAGES.values())})")
    build.add_argument("--base", choices=SOURCES, help=f"where the base comes from (default ${SOURCE_ENV} or auto)")
    sub.add_parser("list", help="print each image and its recipe hash (on the debootstrap base)")
    args = parser.parse_args(argv)
    if args.command == "list":
        print(f"{BASE_IMAGE}\t{recipe_hash()}")
        for name in LAB_IMAGES:
            print(f"{name}\t{recipe_hash(name)}")
        return 0
    by_folder = {folder: name for name, folder in LAB_IMAGES.items()}
    names = [by_folder.get(n, n) for n in args.names]
    unknown = set(names) - set(LAB_IMAGES)
    if unknown:
        parser.error(f"unknown image(s) {', '.join(sorted(unknown))}; choose from {', '.join(by_folder)}")
    started = time.monotonic()
    ensure_images(names or None, source=args.base)
    _progress("all images ready", started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
