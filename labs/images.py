"""Build the course's container images without any registry: `python -m labs.images build`.

Why debootstrap: no registry is reachable on our machines (and in many workshops), but Debian
packages are. The base image is a `debootstrap --variant=minbase` tree fed to `docker import`;
lab images are Dockerfiles in ``labs/images/<name>/`` built FROM it. Every image is tagged and
labelled with its recipe hash (Dockerfile folder + base recipe), so a rebuild is skipped when
nothing changed.
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

from .errors import EnvironmentProblem
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
    "apt_mirror",
    "recipe_hash",
    "image_exists",
    "image_id",
    "image_label",
    "docker_build_env",
    "ensure_base_image",
    "ensure_image",
    "ensure_images",
]

IMAGES_DIR = Path(__file__).resolve().parent / "images"
BASE_IMAGE = "course/base:bookworm"
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
#: the base recipe; changing it changes every image's hash
BASE_SUITE = "bookworm"
BASE_DEBOOTSTRAP = ("--variant=minbase", "--components=main")

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


def recipe_hash(name: str | None = None) -> str:
    """12 hex digits naming the recipe of the base image (name=None) or of a lab image."""
    h = hashlib.sha256(f"{BASE_SUITE} {' '.join(BASE_DEBOOTSTRAP)}".encode())
    if name is not None:
        h.update(recipe_hash().encode())
        _hash_tree(h, IMAGES_DIR / LAB_IMAGES[name])
    return h.hexdigest()[:12]


def image_exists(ref: str) -> bool:
    return run(["docker", "image", "inspect", ref], check=False).ok


def image_id(ref: str) -> str | None:
    """The local image's id, or None when it is not there."""
    result = run(["docker", "image", "inspect", "--format", "{{.Id}}", ref], check=False)
    return result.stdout.strip() if result.ok else None


def image_label(ref: str, label: str) -> str | None:
    """One label of a local image; None when the image or the label is not there."""
    result = run(["docker", "image", "inspect", "--format",
                  f'{{{{index .Config.Labels "{label}"}}}}', ref], check=False)
    return result.stdout.strip() or None if result.ok else None


def docker_build_env() -> dict[str, str]:
    """Environment for `docker build`: the legacy builder when the CLI has no buildx plugin
    (a new docker CLI otherwise refuses to build against an old engine)."""
    env = dict(os.environ)
    if not run(["docker", "buildx", "version"], check=False).ok:
        env["DOCKER_BUILDKIT"] = "0"
    return env


def _drop_old_recipes(repository: str, keep: str) -> None:
    """Untag this image's earlier recipe builds (12-hex tags this module made); an image a
    container still uses stays, because `docker rmi` refuses it."""
    tags = run(["docker", "images", repository, "--format", "{{.Tag}}"]).stdout.split()
    for tag in tags:
        if tag != keep and re.fullmatch(r"[0-9a-f]{12}", tag):
            run(["docker", "rmi", f"{repository}:{tag}"], check=False)


def _progress(message: str, started: float) -> None:
    print(f"[images] {message} ({time.monotonic() - started:.1f}s)", flush=True)


def ensure_base_image() -> str:
    """Build `course/base:bookworm` with debootstrap unless its recipe is already built."""
    tag = f"course/base:{recipe_hash()}"
    started = time.monotonic()
    if image_exists(tag):
        run(["docker", "tag", tag, BASE_IMAGE])
        _progress(f"{BASE_IMAGE} present ({tag})", started)
        return tag
    if os.geteuid() != 0:
        raise EnvironmentProblem("building the base image needs root (debootstrap)",
                                 fix="run `sudo make images` once; later builds reuse it")
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
        run(["docker", "import",
             "--change", f"LABEL {MANAGED_LABEL}",
             "--change", f"LABEL {RECIPE_LABEL}={recipe_hash()}",
             "--change", 'CMD ["/bin/bash"]',
             str(tarball), tag], timeout=600)
    run(["docker", "tag", tag, BASE_IMAGE])
    _drop_old_recipes("course/base", recipe_hash())
    _progress(f"built {BASE_IMAGE} ({tag})", started)
    return tag


def ensure_image(name: str, *, base: str | None = None) -> str:
    """Build lab image ``name`` (a key of LAB_IMAGES) unless its recipe hash is present;
    returns the hash-tagged reference. ``name`` itself (":latest") points to it too."""
    digest = recipe_hash(name)
    tag = f"{name}:{digest}"
    started = time.monotonic()
    if not image_exists(tag):
        base = base or ensure_base_image()
        run(["docker", "build", "--build-arg", f"BASE={base}",
             "--label", MANAGED_LABEL, "--label", f"{RECIPE_LABEL}={digest}",
             "-t", tag, str(IMAGES_DIR / LAB_IMAGES[name])],
            env=docker_build_env(), timeout=1800,
            fix="check the build output above; apt-get inside the build needs the Debian mirror")
        _drop_old_recipes(name, digest)
        _progress(f"built {tag}", started)
    else:
        _progress(f"{tag} present", started)
    run(["docker", "tag", tag, name])
    return tag


def ensure_images(names: list[str] | None = None) -> dict[str, str]:
    """Make sure the base and the lab images exist; returns name -> hash-tagged reference."""
    wanted = names or list(LAB_IMAGES)
    missing = [n for n in wanted if not image_exists(f"{n}:{recipe_hash(n)}")]
    base = ensure_base_image() if missing else None
    return {name: ensure_image(name, base=base) for name in wanted}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m labs.images", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="build the base and lab images (skips built recipes)")
    build.add_argument("names", nargs="*", help=f"only these images ({', '.join(LAB_IMAGES.values())})")
    sub.add_parser("list", help="print each image and its recipe hash")
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
    ensure_images(names or None)
    _progress("all images ready", started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
