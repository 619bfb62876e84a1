"""A small Debian VM with the AppArmor LSM, for hosts whose own kernel has none.

Why: the course's CI machines (and many laptops' Docker VMs) run kernels without AppArmor,
so loading a profile and watching it deny something can only be verified in a guest kernel
that has it. QEMU's software emulator (TCG) needs no KVM; a Debian bookworm kernel boots in
seconds with ``apparmor=1 security=apparmor``.

The image is built once per recipe (``clusters/apparmor-vm/``) with debootstrap and cached
under ``$COURSE_CACHE_DIR`` (default ``~/.cache/seccomp-course``)/``apparmor-vm/<hash>``.
Docker images the guest needs (the AppArmor kind node) come on a second disk baked on the
host (labs.apparmor.docker_disk). Each boot uses throw-away overlays (``snapshot=on``): the
cached disks never change. Scripts go in and results come out through a 9p share. By default the
guest has no network device; a :class:`VmNetwork` gives it QEMU's restricted user network, which
reaches nothing but the forwards it lists (a kind worker node in the guest joined to a control
plane on the host).
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import CapabilityMissing, CommandError, EnvironmentProblem, LabTimeout
from ..images import apt_mirror
from ..results import Result
from ..runner import require_tool, run
from .vm_network import VmNetwork

__all__ = [
    "RECIPE_DIR",
    "VmImage",
    "VmRun",
    "cache_dir",
    "restore_share",
    "publish_build",
    "recipe_hash",
    "build_vm_image",
    "boot_vm",
    "VmHung",
    "HUNG_AFTER",
    "GUEST_STUCK",
    "DEBOOTSTRAP_TIMEOUT",
    "MKFS_TIMEOUT",
    "VM_IMAGE_TIMEOUT",
]

RECIPE_DIR = Path(__file__).resolve().parents[2] / "clusters" / "apparmor-vm"
#: The files that decide what the image contains (the README does not).
RECIPE_FILES = ("init.sh", "packages.txt")
#: Bump when the build steps below change in a way the recipe files do not show.
BUILD_VERSION = "1"
SUITE = "bookworm"
EXIT_MARK = re.compile(r"COURSE-VM-EXIT (\d+)")
#: the guest kernel's soft-lockup watchdog: a CPU that has not scheduled for N seconds
SOFT_LOCKUP = re.compile(r"soft lockup - CPU#\d+ stuck for (\d+)s")
#: A guest CPU stuck this long is hung, not slow: the watchdog counts time the CPU never
#: scheduled, however slow the emulation. Seen under TCG (about 1 boot in 20): two runc
#: processes spinning on both vCPUs from 130 s of uptime until the 1500 s boot timeout.
HUNG_AFTER = 180
#: the console's last bytes searched for the soft-lockup report (each report, with its call
#: trace, is about 3 KB per CPU)
CONSOLE_SCAN = 32768
#: A guest script exits with this status when one of its steps hung past its own limit (a
#: ``docker run`` of the node that never returned, under emulation): booted again like a hang.
GUEST_STUCK = 75

# Timeouts (seconds) of the slow steps, for a 2-core machine about 3x slower than the one
# they were measured on (clusters/apparmor-vm/README.md has the measured times). Callers that
# wrap these steps (the tests' pytest timeouts) add them up, so the inner timeout always
# fires first and names the step.
DEBOOTSTRAP_TIMEOUT = 900
MKFS_TIMEOUT = 300
VM_IMAGE_TIMEOUT = DEBOOTSTRAP_TIMEOUT + MKFS_TIMEOUT


@dataclass
class VmImage(Result):
    """A built guest: kernel, initramfs and root disk, and how long building took."""

    directory: str
    kernel: str
    initrd: str
    disk: str
    recipe_hash: str
    built_seconds: float = 0.0  # 0 when the cached image was reused


class VmHung(CommandError):
    """The guest kernel reported a CPU stuck (soft lockup): the boot will not finish."""


@dataclass
class VmRun(Result):
    """One boot: the guest script's exit status, its log, the console and the audit log.

    ``hung_boots`` holds the console tail of each earlier attempt that hung (empty when the
    first boot finished): a retried boot is never silent."""

    exit_status: int
    seconds: float
    guest_log: str
    console: str
    audit_log: str
    share: str
    hung_boots: list[str] = field(default_factory=list)

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
        log(f"debootstrap {SUITE} with {len(_packages())} packages into {root} "
            f"(timeout {DEBOOTSTRAP_TIMEOUT}s) ...")
        run(["debootstrap", "--variant=minbase", "--include=" + ",".join(_packages()),
             SUITE, str(root), apt_mirror(SUITE)], timeout=DEBOOTSTRAP_TIMEOUT,
            fix="check that the Debian mirror in /etc/apt/sources.list(.d) is reachable")
        log(f"debootstrap done after {time.monotonic() - started:.0f}s")
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
             str(out / "rootfs.img"), "3G"], timeout=MKFS_TIMEOUT)
        publish_build(out, directory)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    seconds = round(time.monotonic() - started, 1)
    log(f"VM image built in {seconds}s: {directory}")
    return VmImage(str(directory), str(paths["vmlinuz"]), str(paths["initrd.img"]),
                   str(paths["rootfs.img"]), digest, built_seconds=seconds)


def publish_build(built: Path, directory: Path) -> None:
    """Move a finished build into its cache folder; builds of older recipes or images are never
    used again, so their folders go (a ``build-*`` folder may be another run's work)."""
    shutil.rmtree(directory, ignore_errors=True)
    built.rename(directory)
    for old in directory.parent.iterdir():
        if old.is_dir() and old != directory and not old.name.startswith("build-"):
            shutil.rmtree(old, ignore_errors=True)


def _single(matches) -> Path:
    found = sorted(p for p in matches if not p.name.endswith((".dpkg-bak", ".new", ".old")))
    if len(found) != 1:
        raise EnvironmentProblem(f"expected one kernel file in the VM's /boot, found {found}",
                                 fix="delete the VM cache directory and rebuild")
    return found[0]


class _Follower:
    """Report the complete new lines of files the guest writes into the 9p share."""

    def __init__(self, share: Path, names: tuple[str, ...], progress):
        self.paths = [share / name for name in names]
        self.offsets = {path: 0 for path in self.paths}
        self.progress = progress
        self.last_line_at = time.monotonic()

    def silent_for(self) -> float:
        """Seconds since the guest last wrote a line to any followed file (or since the boot)."""
        return time.monotonic() - self.last_line_at

    def poll(self) -> None:
        for path in self.paths:
            try:
                with path.open("rb") as f:
                    f.seek(self.offsets[path])
                    chunk = f.read()
            except FileNotFoundError:
                continue
            end = chunk.rfind(b"\n") + 1
            self.offsets[path] += end
            if end:
                self.last_line_at = time.monotonic()
            for line in chunk[:end].decode(errors="replace").splitlines():
                if line.strip() and self.progress is not None:
                    self.progress(f"{path.name}: {line}")


def boot_vm(image: VmImage, share: Path, *, disks: tuple[str, ...] = (), memory_mb: int = 1024,
            cpus: int = 2, timeout: float = 900, progress=None, attempts: int = 1,
            follow: tuple[str, ...] = ("guest.log",), read_only: dict[str, Path] | None = None,
            silent_after: float | None = None, network: VmNetwork | None = None) -> VmRun:
    """Boot the guest, run ``share/guest.sh`` in it (as root), return what it left behind.

    ``share`` is mounted at ``/mnt/course`` in the guest, read-write; the guest writes
    ``guest.log`` and ``audit.log`` there. ``read_only`` exports more host folders as 9p
    shares the guest cannot change, by mount tag (the guest script mounts them: ``mount -t 9p
    -o trans=virtio,version=9p2000.L,ro TAG DIR``), e.g. the project and its virtualenv.
    ``disks`` are extra raw disk images (``/dev/vdb``,
    ...), attached with throw-away overlays like the root disk. No network device is attached
    unless ``network`` lists forwards (:class:`VmNetwork`).
    ``progress`` (a callable) gets each new line of the ``follow`` files while the guest runs
    (polled every 2 s), prefixed with the file's name: a slow run shows where it is.

    A boot whose kernel reports a CPU stuck for :data:`HUNG_AFTER` seconds is stopped at once,
    and so is one whose ``follow`` files gained no line for ``silent_after`` seconds (a guest
    script that logs on a timer has stopped running: seen under TCG with both vCPUs busy and
    no soft lockup reported), and one still running after ``timeout``. A hung boot (also a timed-out one whose
    console shows a soft lockup) is booted again, with the share as it was, while ``attempts``
    allow, and so is one whose guest script exited :data:`GUEST_STUCK`; the returned run's
    ``hung_boots`` keeps each hung console's tail. Raises
    :class:`VmHung` or :class:`CommandError` (returncode None) when no attempt finished.
    """
    require_tool("qemu-system-x86_64")
    if not (share / "guest.sh").exists():
        raise EnvironmentProblem(f"{share}/guest.sh is missing", fix="write the guest script first")
    args = _qemu_args(image, share, disks, memory_mb, cpus, read_only, network)
    before = set(share.rglob("*"))
    hung_boots: list[str] = []
    for attempt in range(1, attempts + 1):
        try:
            returncode, stdout, stderr, seconds = _boot_once(args, share, timeout, _Follower(share, follow, progress),
                                                             silent_after)
            if EXIT_MARK.findall(stdout)[-1:] == [str(GUEST_STUCK)] and attempt < attempts:
                raise VmHung(" ".join(args), returncode, stdout,
                             fix=f"the guest script exited {GUEST_STUCK}: a step of it hung (its guest.log says which)")
            break
        except VmHung as exc:
            if attempt == attempts:
                raise
            hung_boots.append(exc.output[-3000:])
            if progress is not None:
                progress(f"the guest hung ({exc.message.splitlines()[0][:120]}...): booting it again "
                         f"(attempt {attempt + 1} of {attempts})")
            restore_share(share, before)
    marks = EXIT_MARK.findall(stdout)
    if not marks:
        raise LabTimeout(f"the AppArmor VM stopped without reporting a result (qemu exit "
                         f"{returncode}); console tail:\n{stdout[-3000:]}{stderr[-1000:]}",
                         fix="read the console tail: a kernel panic or a missing 9p module is the usual cause")

    def read(name: str) -> str:
        path = share / name
        return path.read_text(errors="replace") if path.exists() else ""

    return VmRun(int(marks[-1]), seconds, read("guest.log"), stdout, read("audit.log"), str(share),
                 hung_boots)


#: The emulated CPU. TCG's default model (qemu64) has no AES-NI and no PCLMULQDQ, so every TLS
#: record between the guest's Kubernetes components went through Go's software AES-GCM,
#: emulated instruction by instruction; QEMU runs AESENC/PCLMULQDQ as native helpers. Westmere
#: adds those (and SSE4.2, POPCNT) without AVX, whose emulation is the youngest part of TCG.
VM_CPU = "Westmere"


def _qemu_args(image: VmImage, share: Path, disks: tuple[str, ...], memory_mb: int, cpus: int,
               read_only: dict[str, Path] | None, network: VmNetwork | None = None) -> list[str]:
    # loglevel=5: the console shows warnings, so a soft lockup comes with its registers and call
    # trace (printed at the default level, 4), not its first line alone; audit records (notice,
    # 5) stay off the slow serial console
    cmdline = ("console=ttyS0 root=/dev/vda rw init=/sbin/course-init apparmor=1 security=apparmor"
               " audit=1 panic=-1 loglevel=5")
    # cache=unsafe: the overlays are thrown away, so the guest's fsyncs (etcd's) need not reach
    # the host's disk
    drive = "format=raw,if=virtio,snapshot=on,cache=unsafe"
    return [
        "qemu-system-x86_64", "-accel", "tcg", "-cpu", VM_CPU, "-m", str(memory_mb), "-smp", str(cpus),
        "-nographic", "-no-reboot", "-nic", network.nic() if network else "none",
        "-kernel", image.kernel, "-initrd", image.initrd, "-append", cmdline,
        "-drive", f"file={image.disk},{drive}",
        *[arg for disk in disks for arg in ("-drive", f"file={disk},{drive}")],
        "-virtfs", f"local,path={share},mount_tag=course,security_model=none,id=course",
        *[arg for tag, path in (read_only or {}).items()
          for arg in ("-virtfs", f"local,path={path},mount_tag={tag},security_model=none,readonly=on,id={tag}")],
    ]


def longest_soft_lockup(console: str) -> int:
    """The longest time (s) the guest kernel reported a CPU stuck, 0 when it reported none."""
    return max((int(s) for s in SOFT_LOCKUP.findall(console)), default=0)


def _boot_once(args: list[str], share: Path, timeout: float, follower: _Follower,
               silent_after: float | None = None) -> tuple[int, str, str, float]:
    """Run QEMU until it exits; stop it on a hang (:class:`VmHung`) or after ``timeout``."""
    command = " ".join(args)
    started = time.monotonic()
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    chunks: dict[str, list[bytes]] = {"stdout": [], "stderr": []}
    readers = [threading.Thread(target=lambda s=stream, n=name: chunks[n].extend(iter(lambda: s.read1(4096), b"")),
                                daemon=True)
               for name, stream in (("stdout", proc.stdout), ("stderr", proc.stderr))]
    for reader in readers:
        reader.start()

    def stop(error: type[CommandError], message: str) -> CommandError:
        proc.kill()
        proc.wait()
        for reader in readers:
            reader.join(timeout=10)
        console = b"".join(chunks["stdout"] + chunks["stderr"]).decode(errors="replace")
        if error is CommandError and longest_soft_lockup(console):
            error = VmHung
        return error(command, None, console, fix=message)

    try:
        while True:
            try:
                proc.wait(timeout=2)
                break
            except subprocess.TimeoutExpired:
                follower.poll()
            recent = b"".join(chunks["stdout"][-64:])[-CONSOLE_SCAN:].decode(errors="replace")
            if longest_soft_lockup(recent) >= HUNG_AFTER:
                raise stop(VmHung, f"the guest kernel reported a CPU stuck for {HUNG_AFTER}s or more "
                                   "(soft lockup): the boot was stopped; see the console output above")
            if silent_after is not None and follower.silent_for() > silent_after:
                raise stop(VmHung, f"the guest wrote no line to {', '.join(p.name for p in follower.paths)} "
                                   f"for {silent_after:.0f}s: its script stopped running; the boot was stopped")
            if time.monotonic() - started > timeout:
                raise stop(CommandError, f"the VM did not finish in {timeout:.0f}s; see the console output above")
    finally:
        if proc.poll() is None:   # interrupted (pytest-timeout, Ctrl-C): never leave QEMU behind
            proc.kill()
            proc.wait()
    for reader in readers:
        reader.join(timeout=10)
    follower.poll()
    stdout = b"".join(chunks["stdout"]).decode(errors="replace")
    stderr = b"".join(chunks["stderr"]).decode(errors="replace")
    return proc.returncode, stdout, stderr, round(time.monotonic() - started, 1)


def restore_share(share: Path, before: set[Path]) -> None:
    """Remove what a hung guest added to the share, so the next boot starts as the first did."""
    for path in sorted(set(share.rglob("*")) - before, key=lambda p: len(p.parts), reverse=True):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
