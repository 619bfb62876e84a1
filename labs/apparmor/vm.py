"""A small Debian VM with the AppArmor LSM, for hosts whose own kernel has none.

Why: the course's CI machines (and many laptops' Docker VMs) run kernels without AppArmor,
so loading a profile and watching it deny something can only be verified in a guest kernel
that has it. QEMU's software emulator (TCG) needs no KVM; a Debian bookworm kernel boots in
seconds with ``apparmor=1 security=apparmor``.

The image is built once per recipe (``clusters/apparmor-vm/``) with debootstrap and cached
under ``$COURSE_CACHE_DIR`` (default ``~/.cache/seccomp-course``)/``apparmor-vm/<hash>``.
Each boot uses a throw-away overlay (``snapshot=on``): the cached disk never changes. The
guest has no network device; scripts go in and results come out through a 9p share.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import CapabilityMissing, EnvironmentProblem, LabTimeout
from ..images import apt_mirror
from ..results import Result
from ..runner import require_tool, run

__all__ = [
    "RECIPE_DIR",
    "VmImage",
    "VmRun",
    "cache_dir",
    "recipe_hash",
    "build_vm_image",
    "boot_vm",
]

RECIPE_DIR = Path(__file__).resolve().parents[2] / "clusters" / "apparmor-vm"
#: The files that decide what the image contains (the README does not).
RECIPE_FILES = ("init.sh", "packages.txt")
#: Bump when the build steps below change in a way the recipe files do not show.
BUILD_VERSION = "1"
SUITE = "bookworm"
EXIT_MARK = re.compile(r"COURSE-VM-EXIT (\d+)")


@dataclass
class VmImage(Result):
    """A built guest: kernel, initramfs and root disk, and how long building took."""

    directory: str
    kernel: str
    initrd: str
    disk: str
    recipe_hash: str
    built_seconds: float = 0.0  # 0 when the cached image was reused


@dataclass
class VmRun(Result):
    """One boot: the guest script's exit status, its log, the console and the audit log."""

    exit_status: int
    seconds: float
    guest_log: str
    console: str
    audit_log: str
    share: str

    @property
    def ok(self) -> bool:
        return self.exit_status == 0


def cache_dir() -> Path:
    """Where expensive, reusable builds live (survives ``make clean``)."""
    base = os.environ.get("COURSE_CACHE_DIR") or Path.home() / ".cache" / "seccomp-course"
    return Path(base)


def recipe_hash() -> str:
    """Hash of the recipe files and build version: a new hash means a rebuild."""
    digest = hashlib.sha256(BUILD_VERSION.encode())
    for name in RECIPE_FILES:
        digest.update(name.encode() + b"\0" + (RECIPE_DIR / name).read_bytes())
    return digest.hexdigest()[:16]


def _packages() -> list[str]:
    lines = (RECIPE_DIR / "packages.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _image_paths(directory: Path) -> dict[str, Path]:
    return {name: directory / name for name in ("vmlinuz", "initrd.img", "rootfs.img")}


def build_vm_image(*, force: bool = False, log=print) -> VmImage:
    """Build (or reuse) the guest image for the current recipe; needs root and debootstrap."""
    digest = recipe_hash()
    directory = cache_dir() / "apparmor-vm" / digest
    paths = _image_paths(directory)
    if not force and all(p.exists() for p in paths.values()):
        return VmImage(str(directory), str(paths["vmlinuz"]), str(paths["initrd.img"]),
                       str(paths["rootfs.img"]), digest)
    if os.geteuid() != 0:
        raise CapabilityMissing("building the AppArmor VM image needs root (debootstrap, mkfs)",
                                fix="run `sudo make test-apparmor-vm` once; later runs reuse the cache")
    require_tool("debootstrap")
    require_tool("mkfs.ext4")
    started = time.monotonic()
    directory.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"build-{digest}-", dir=directory.parent))
    try:
        root = work / "rootfs"
        log(f"debootstrap {SUITE} with {len(_packages())} packages into {root} ...")
        run(["debootstrap", "--variant=minbase", "--include=" + ",".join(_packages()),
             SUITE, str(root), apt_mirror(SUITE)], timeout=1800,
            fix="check that the Debian mirror in /etc/apt/sources.list(.d) is reachable")
        shutil.copy(RECIPE_DIR / "init.sh", root / "sbin" / "course-init")
        (root / "sbin" / "course-init").chmod(0o755)
        (root / "etc" / "fstab").write_text("")
        for unwanted in ("var/cache/apt/archives", "var/lib/apt/lists"):
            shutil.rmtree(root / unwanted, ignore_errors=True)
        out = work / "image"
        out.mkdir()
        boot = root / "boot"
        shutil.copy(_single(boot.glob("vmlinuz-*")), out / "vmlinuz")
        shutil.copy(_single(boot.glob("initrd.img-*")), out / "initrd.img")
        log("mkfs.ext4 -d (root disk image) ...")
        run(["mkfs.ext4", "-q", "-F", "-L", "course-root", "-d", str(root),
             str(out / "rootfs.img"), "3G"], timeout=900)
        shutil.rmtree(directory, ignore_errors=True)
        out.rename(directory)
        for old in directory.parent.iterdir():   # images of older recipes are never used again
            if old.is_dir() and old != directory and not old.name.startswith("build-"):
                shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    seconds = round(time.monotonic() - started, 1)
    return VmImage(str(directory), str(paths["vmlinuz"]), str(paths["initrd.img"]),
                   str(paths["rootfs.img"]), digest, built_seconds=seconds)


def _single(matches) -> Path:
    found = sorted(p for p in matches if not p.name.endswith((".dpkg-bak", ".new", ".old")))
    if len(found) != 1:
        raise EnvironmentProblem(f"expected one kernel file in the VM's /boot, found {found}",
                                 fix="delete the VM cache directory and rebuild")
    return found[0]


def boot_vm(image: VmImage, share: Path, *, memory_mb: int = 1024, cpus: int = 2,
            timeout: float = 900) -> VmRun:
    """Boot the guest, run ``share/guest.sh`` in it (as root), return what it left behind.

    ``share`` is mounted at ``/mnt/course`` in the guest, read-write; the guest writes
    ``guest.log`` and ``audit.log`` there. No network device is attached.
    """
    require_tool("qemu-system-x86_64")
    if not (share / "guest.sh").exists():
        raise EnvironmentProblem(f"{share}/guest.sh is missing", fix="write the guest script first")
    cmdline = ("console=ttyS0 root=/dev/vda rw init=/sbin/course-init apparmor=1 security=apparmor"
               " audit=1 panic=-1 quiet loglevel=3")
    args = [
        "qemu-system-x86_64", "-accel", "tcg", "-m", str(memory_mb), "-smp", str(cpus),
        "-nographic", "-no-reboot", "-nic", "none",
        "-kernel", image.kernel, "-initrd", image.initrd, "-append", cmdline,
        "-drive", f"file={image.disk},format=raw,if=virtio,snapshot=on",
        "-virtfs", f"local,path={share},mount_tag=course,security_model=none,id=course",
    ]
    started = time.monotonic()
    result = run(args, check=False, timeout=timeout,
                 fix="the VM did not finish in time; see the console output above")
    seconds = round(time.monotonic() - started, 1)
    marks = EXIT_MARK.findall(result.stdout)
    if not marks:
        raise LabTimeout(f"the AppArmor VM stopped without reporting a result (qemu exit "
                         f"{result.returncode}); console tail:\n{result.stdout[-3000:]}{result.stderr[-1000:]}",
                         fix="read the console tail: a kernel panic or a missing 9p module is the usual cause")

    def read(name: str) -> str:
        path = share / name
        return path.read_text(errors="replace") if path.exists() else ""

    return VmRun(int(marks[-1]), seconds, read("guest.log"), result.stdout, read("audit.log"), str(share))
