"""The AppArmor VM's docker disk: Docker images baked on the host, so the guest never loads them.

Why: ``docker load`` of the 880 MB AppArmor node image took 200 s under emulation. Here a
private dockerd (own ``--data-root``, ``--exec-root``, socket and config file; no bridge, no
iptables, its own network namespace, so the host's networking is untouched) loads the images
from the host's engine with ``docker save | docker load``; it is stopped before ``mkfs.ext4 -d``
copies its data-root into a disk image (no loop device, no mount), cached by the images' ids.
The guest mounts ``LABEL=course-docker`` at ``/var/lib/docker``.

With ``node_var``, the disk also holds ``node-var/``: a kind node's ``/var`` with images already
imported into its containerd, made on the host by running the node there; a guest node started
with ``-v /var/lib/docker/node-var:/var`` has them without a ``ctr images import`` (200 s for
one 226 MB lab image under emulation, where sha256 and the unpacking run instruction by instruction).
"""
from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .. import engine
from ..errors import CapabilityMissing, CommandError, EnvironmentProblem
from ..images import image_id
from ..results import Result
from ..runner import require_tool, run
from .vm import cache_dir, publish_build

__all__ = ["DockerDisk", "build_docker_disk", "docker_disk_key", "BAKE_TIMEOUT", "DOCKER_DISK_LABEL", "NODE_VAR"]

#: The disk's file system label; the guest mounts ``LABEL=course-docker`` at /var/lib/docker.
DOCKER_DISK_LABEL = "course-docker"
#: Bump when :func:`build_docker_disk` changes what it writes.
DOCKER_DISK_VERSION = "1"
#: the whole bake (seconds, sized for a slow 2-core machine): start a private dockerd,
#: ``docker save | docker load`` each image, mkfs
BAKE_TIMEOUT = 900
#: the prepared node /var's folder on the disk (the guest sees it at /var/lib/docker/node-var)
NODE_VAR = "node-var"
#: what the guest's dockerd needs from the data-root (it creates networks, containers and
#: volumes), and the prepared node /var
KEPT = ("image", "overlay2", NODE_VAR)
#: the node's containerd starting, on the host, before images are imported into it
NODE_CONTAINERD_WAIT = 180


@dataclass
class DockerDisk(Result):
    """A disk image holding a Docker data-root with ``images`` already loaded."""

    path: str
    images: list[str]
    key: str
    built_seconds: float = 0.0  # 0 when the cached disk was reused


def _dockerd_version() -> str:
    return run(["dockerd", "--version"], timeout=60).stdout.strip()


def docker_disk_key(image_ids: list[str]) -> str:
    """Hash of what the disk holds: the images' ids, the dockerd that wrote it, the steps."""
    digest = hashlib.sha256(DOCKER_DISK_VERSION.encode() + b"\0" + _dockerd_version().encode())
    for ident in image_ids:
        digest.update(b"\0" + ident.encode())
    return digest.hexdigest()[:16]


def _image_ids(images: list[str]) -> list[str]:
    ids = []
    for ref in images:
        ident = image_id(ref)
        if ident is None:
            raise EnvironmentProblem(f"the image {ref} is missing on this host",
                                     fix="build it first (`make node-image`)")
        ids.append(ident)
    return ids


def build_docker_disk(images: list[str], *, node_var: tuple[str, list[str]] | None = None, force: bool = False,
                      log=print, timeout: float = BAKE_TIMEOUT) -> DockerDisk:
    """Build (or reuse) an ext4 disk image whose root is a Docker data-root holding ``images``.

    ``node_var`` = (node image, images): also write :data:`NODE_VAR`, that node's ``/var`` with
    those images in its containerd. The guest's Docker must use the same storage driver
    (overlay2) and read this dockerd's layout: the key includes ``dockerd --version``, and the
    guest checks every image is there.
    """
    ids = _image_ids(images)
    if node_var:
        ids += [NODE_VAR, *_image_ids([node_var[0], *node_var[1]])]
    key = docker_disk_key(ids)
    directory = cache_dir() / "apparmor-vm-docker" / key
    disk = directory / "docker.img"
    if not force and disk.exists():
        log(f"the docker disk with {', '.join(images)} present: {disk}")
        return DockerDisk(str(disk), list(images), key)
    if os.geteuid() != 0:
        raise CapabilityMissing("baking the AppArmor VM's docker disk needs root (a second dockerd)",
                                fix="run `sudo make test-apparmor-vm` once; later runs reuse the cache")
    for tool in ("unshare", "dockerd", engine.DOCKER_CLI, engine.binary(), "mkfs.ext4"):
        require_tool(tool)
    started = time.monotonic()
    deadline = started + timeout
    directory.parent.mkdir(parents=True, exist_ok=True)
    for stale in directory.parent.glob("build-*"):   # left by a run that was killed
        shutil.rmtree(stale, ignore_errors=True)
    work = Path(tempfile.mkdtemp(prefix="build-", dir=directory.parent))
    try:
        log(f"baking {', '.join(images)} into a Docker data-root (private dockerd, timeout {timeout:.0f}s) ...")
        data_root = work / "data-root"
        _load_into_private_dockerd(images, data_root, deadline, lambda ref: log(
            f"loaded {ref} after {time.monotonic() - started:.0f}s"))
        if node_var:
            log(f"importing {', '.join(node_var[1])} into a {node_var[0]} node's /var ...")
            _prepare_node_var(*node_var, data_root / NODE_VAR, deadline)
        out_dir = work / "disk"
        _write_disk(data_root, out_dir, deadline, log)
        (out_dir / "images.json").write_text(json.dumps({"images": images, "ids": ids, "node_var": node_var},
                                                        indent=1) + "\n")
        publish_build(out_dir, directory)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    seconds = round(time.monotonic() - started, 1)
    log(f"the docker disk was built in {seconds}s: {disk}")
    return DockerDisk(str(disk), list(images), key, built_seconds=seconds)


def _load_into_private_dockerd(images: list[str], data_root: Path, deadline: float, loaded) -> None:
    """Start a private dockerd on ``data_root``, load ``images`` into it, stop it."""
    # a unix socket path must stay under 108 bytes: the exec root lives in /tmp
    exec_root = Path(tempfile.mkdtemp(prefix="course-bake-"))
    sock = f"unix://{exec_root}/docker.sock"
    config = exec_root / "daemon.json"
    config.write_text("{}\n")   # not the host's /etc/docker/daemon.json (hosts, runtimes, ...)
    daemon_log = data_root.parent / "dockerd.log"
    try:
        with daemon_log.open("wb") as out:
            # its own network namespace: a dockerd started with --bridge=none deletes the
            # default bridge docker0 it finds (moby removes the "old" default bridge), and in
            # the host's namespace that was the host engine's docker0 (seen: every later
            # `docker run` failed with "could not find bridge docker0")
            daemon = subprocess.Popen(
                ["unshare", "--net", "dockerd", "--config-file", str(config), "--data-root", str(data_root),
                 "--exec-root", str(exec_root / "exec"), "--pidfile", str(exec_root / "dockerd.pid"),
                 "--host", sock, "--bridge=none", "--iptables=false", "--ip-masq=false",
                 "--storage-driver=overlay2", "--containerd-namespace=course-bake",
                 "--containerd-plugins-namespace=course-bake-plugins"],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            _wait_for_private_dockerd(daemon, sock, daemon_log, min(deadline, time.monotonic() + 120))
            for ref in images:
                _save_load(ref, sock, deadline)
                loaded(ref)
            driver = run(engine.private_docker(sock, "info", "--format", "{{.Driver}}"), timeout=60).stdout.strip()
            if driver != "overlay2":
                raise EnvironmentProblem(f"the private dockerd used the storage driver {driver!r}",
                                         fix="the cache directory must be on ext4 or xfs (set COURSE_CACHE_DIR)")
        finally:
            _stop(daemon, grace=60)
    finally:
        shutil.rmtree(exec_root, ignore_errors=True)


def _prepare_node_var(node_image: str, images: list[str], target: Path, deadline: float) -> None:
    """Run the node on the host engine with /var on a fresh volume, import ``images`` into its
    containerd as ``kind load`` does, stop it, and copy the volume to ``target`` (ownership,
    modes, xattrs and overlay whiteouts kept: ``cp -a`` as root)."""
    name = f"course-node-var-{os.getpid()}"
    docker = engine.command

    def remaining() -> float:
        return max(30.0, deadline - time.monotonic())
    try:
        run(docker("volume", "create", name), timeout=60)
        run(docker("run", "--detach", "--name", name, "--privileged", "--cgroupns=private",
                   "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
                   "--tmpfs", "/tmp", "--tmpfs", "/run", "--volume", f"{name}:/var",
                   "--volume", "/lib/modules:/lib/modules:ro", node_image), timeout=remaining())
        wait_until = time.monotonic() + NODE_CONTAINERD_WAIT
        while not run(docker("exec", name, "ctr", "--namespace=k8s.io", "version"), check=False, timeout=60).ok:
            if time.monotonic() > wait_until:
                raise EnvironmentProblem(f"containerd did not start in a {node_image} node on this engine "
                                         f"in {NODE_CONTAINERD_WAIT}s", fix=f"look at `{engine.binary()} logs {name}`")
            time.sleep(2)
        for ref in images:
            save = shlex.join(docker("save", ref))
            load = shlex.join(docker("exec", "-i", name, "ctr", "--namespace=k8s.io", "images", "import",
                                     "--all-platforms", "--digests", "--snapshotter=overlayfs", "-"))
            run(["bash", "-o", "pipefail", "-c", f"{save} | {load}"], timeout=remaining())
        run(docker("stop", "--time", "30", name), timeout=120)
        source = run(docker("volume", "inspect", "--format", "{{.Mountpoint}}", name), timeout=60).stdout.strip()
        run(["cp", "-a", "--", source, str(target)], timeout=remaining())
    finally:
        run(docker("rm", "--force", "--volumes", name), check=False, timeout=120)
        run(docker("volume", "rm", "--force", name), check=False, timeout=60)


def _write_disk(data_root: Path, out_dir: Path, deadline: float, log) -> None:
    """Keep what the guest needs of the data-root and copy it into ``out_dir/docker.img``."""
    for name in os.listdir(data_root):
        if name not in KEPT:
            path = data_root / name
            shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
    used = int(run(["du", "-sb", str(data_root)], timeout=300).stdout.split()[0])
    size_mb = used // 2**20 + 8192   # room for the kind node's /var volume and its writes
    log(f"mkfs.ext4 -d (docker disk, {used // 2**20} MB used, {size_mb} MB sparse) ...")
    out_dir.mkdir()
    run(["mkfs.ext4", "-q", "-F", "-L", DOCKER_DISK_LABEL, "-d", str(data_root),
         str(out_dir / "docker.img"), f"{size_mb}M"],
        timeout=max(30.0, deadline - time.monotonic()))


def _wait_for_private_dockerd(daemon: subprocess.Popen, sock: str, daemon_log: Path, deadline: float) -> None:
    while not run(engine.private_docker(sock, "version"), check=False, timeout=30).ok:
        if daemon.poll() is not None or time.monotonic() > deadline:
            raise EnvironmentProblem(
                "the private dockerd for the docker disk did not start; its log:\n"
                + daemon_log.read_text(errors="replace")[-2000:],
                fix="read the log above; the cache directory must be on ext4 or xfs (COURSE_CACHE_DIR)")
        time.sleep(1)


def _save_load(ref: str, sock: str, deadline: float) -> None:
    """``<engine> save ref | docker -H sock load`` with one deadline for both ends."""
    save_args, load_args = engine.command("save", ref), engine.private_docker(sock, "load")
    command = f"{shlex.join(save_args)} | {shlex.join(load_args)}"
    save = subprocess.Popen(save_args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    load = subprocess.Popen(load_args, stdin=save.stdout,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    save.stdout.close()   # load owns the pipe now; save gets SIGPIPE if load dies
    try:
        out, _ = load.communicate(timeout=max(1.0, deadline - time.monotonic()))
        save_err = save.communicate(timeout=60)[1]
    except subprocess.TimeoutExpired:
        raise CommandError(command, None, "", fix="loading the image took too long") from None
    finally:
        for proc in (save, load):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    if save.returncode or load.returncode:
        raise CommandError(command, save.returncode or load.returncode,
                           save_err.decode(errors="replace") + out.decode(errors="replace"))


def _stop(proc: subprocess.Popen, grace: float) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
