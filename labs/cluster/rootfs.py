"""The node image's base: a Debian bookworm root filesystem made by debootstrap, plus kind's
node files, imported with ``docker import`` (no registry involved).

kind's files (entrypoint, containerd config, kubelet unit and drop-ins) come from the
``sigs.k8s.io/kind`` module in the Go module cache: read at build time, never copied into this
repository. The module zip drops file modes, so they are set here as kind's Dockerfile does.
"""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from .. import engine
from ..errors import EnvironmentProblem
from ..images import RECIPE_LABEL, apt_mirror
from ..names import MANAGED_LABEL_ARG
from ..paths import NODE_IMAGE_DIR, build_dir
from ..runner import run
from .gobuild import module_info
from .versions import KIND_VERSION

__all__ = ["SUITE", "node_packages", "rootfs_hash", "ensure_rootfs_image"]

SUITE = "bookworm"
KIND_FILES = "images/base/files"
#: kind's Dockerfile modes: executables in these folders, 0644 for every other file
EXECUTABLE_DIRS = ("usr/local/bin", "kind/bin")
ENTRYPOINT = '["/usr/local/bin/entrypoint", "/sbin/init"]'
BASE_REPOSITORY = "course-cluster/node-base"


def node_packages(text: str | None = None) -> list[str]:
    """Package names from clusters/node-image/packages.txt (comments and blanks dropped)."""
    if text is None:
        text = (NODE_IMAGE_DIR / "packages.txt").read_text()
    return [line.split("#", 1)[0].strip() for line in text.splitlines() if line.split("#", 1)[0].strip()]


def rootfs_hash() -> str:
    """Hash of everything the base image is made from: suite, kind version, recipe files."""
    h = hashlib.sha256(f"{SUITE} {KIND_VERSION} {Path(__file__).read_text()}".encode())
    for path in sorted(p for p in NODE_IMAGE_DIR.rglob("*") if p.is_file()):
        mode = "x" if path.stat().st_mode & 0o111 else "-"
        h.update(f"{path.relative_to(NODE_IMAGE_DIR)} {mode}\0".encode() + path.read_bytes() + b"\0")
    return h.hexdigest()[:12]


def _copy_kind_files(root: Path) -> None:
    work = build_dir("kind-module")
    (work / "go.mod").write_text("module course.local/probe\n")
    source = Path(module_info("sigs.k8s.io/kind", KIND_VERSION, work)["Dir"]) / KIND_FILES
    shutil.copytree(source, root, dirs_exist_ok=True, copy_function=shutil.copyfile)
    for path in source.rglob("*"):
        target = root / path.relative_to(source)
        if path.is_dir():
            target.chmod(0o755)
        else:
            executable = any(str(path.relative_to(source)).startswith(d + "/") for d in EXECUTABLE_DIRS)
            target.chmod(0o755 if executable else 0o644)


def ensure_rootfs_image(progress=print) -> str:
    """Build ``course-cluster/node-base:<hash>`` unless it exists; returns the tag."""
    digest = rootfs_hash()
    tag = f"{BASE_REPOSITORY}:{digest}"
    if engine.image_exists(tag):
        progress(f"node base image {tag} present")
        return tag
    if shutil.which("debootstrap") is None:
        raise EnvironmentProblem("building the node image needs debootstrap",
                                 fix="apt-get install debootstrap (as root), then re-run `make node-image`")
    work = build_dir("rootfs")
    root = work / "root"
    shutil.rmtree(root, ignore_errors=True)
    mirror = apt_mirror(SUITE)
    progress(f"debootstrap {SUITE} ({len(node_packages())} packages) from {mirror}")
    run(["debootstrap", "--variant=minbase", f"--include={','.join(node_packages())}",
         SUITE, str(root), mirror], timeout=1800,
        fix="check that this machine reaches its Debian mirror (apt-get update) and runs as root")
    _copy_kind_files(root)
    shutil.copytree(NODE_IMAGE_DIR / "files", root, dirs_exist_ok=True)
    run(["chroot", str(root), "/bin/bash", "-s"],
        input=(NODE_IMAGE_DIR / "configure-rootfs.sh").read_text(), timeout=600)
    tarball = work / "root.tar"
    progress(f"{engine.binary()} import of the node root filesystem")
    run(["tar", "-C", str(root), "--numeric-owner", "-cf", str(tarball), "."], timeout=900)
    engine.import_image(tarball, tag, timeout=900,
                        changes=["ENV container=docker", f"ENTRYPOINT {ENTRYPOINT}", f"LABEL {MANAGED_LABEL_ARG}",
                                 f"LABEL {RECIPE_LABEL}={digest}"])
    tarball.unlink()
    shutil.rmtree(root)
    _remove_older_bases(tag)
    return tag


def _remove_older_bases(current: str) -> None:
    """Drop base images of earlier recipes (ours alone: the repository is course-cluster/)."""
    for ref in engine.images(BASE_REPOSITORY, "{{.Repository}}:{{.Tag}}"):
        if ref != current:
            engine.rmi(ref)
