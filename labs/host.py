"""Make sure a usable Docker engine answers: `python -m labs.host ensure-engine`.

Why this exists: the course runs on laptops (Docker Desktop, Docker Engine) and on bare CI
machines with no engine at all, some of whose kernels keep CAP_SYS_RESOURCE out of the
bounding set, which breaks every `--privileged` container (and so every kind node). The
command changes the machine only where that is safe (root, Debian-like, nothing running);
everywhere else it prints the exact commands to run and exits 1.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

from . import engine
from .errors import CommandError, EnvironmentProblem, LabTimeout
from .names import MANAGED_LABEL_ARG
from .runner import run

__all__ = [
    "HOST_PACKAGES",
    "SHIM_NAME",
    "engine_answers",
    "probe_image",
    "privileged_works",
    "merge_daemon_config",
    "missing_packages",
    "ensure_receive_buffer",
    "ensure_engine",
]

REPO = Path(__file__).resolve().parent.parent
#: The one list of Debian packages the course needs on the host, keyed by the tool it provides.
HOST_PACKAGES = {
    "dockerd": "docker.io",                  # the engine (20.10 in bookworm)
    "debootstrap": "debootstrap",            # base image and AppArmor VM root filesystems
    "ausyscall": "auditd",                   # syscall tables (labs/data/regenerate_syscalls.py)
    "apparmor_parser": "apparmor",           # AppArmor profile syntax checks
    "qemu-system-x86_64": "qemu-system-x86",  # the AppArmor VM lane
    "mkfs.ext4": "e2fsprogs",                # the AppArmor VM disk image
    "pigz": "pigz",                          # fast image (de)compression
    "scmp_sys_resolver": "seccomp",          # libseccomp's resolver: second source for the tables
    "chromium": "chromium",                  # the browser test of JupyterLab (tests/browser)
}
SHIM_NAME = "runc-capfix"
SHIM_SOURCE = REPO / "clusters" / "host" / SHIM_NAME
SHIM_TARGET = Path("/usr/local/bin") / SHIM_NAME
DAEMON_JSON = Path("/etc/docker/daemon.json")
DOCKERD_LOG = Path("/var/log/dockerd.log")
DOCKER_UNIT = "docker.service"           # systemd's unit for dockerd (Debian's docker.io)
RMEM_MAX = Path("/proc/sys/net/core/rmem_max")
#: socket receive buffer ceiling the audit collector needs to absorb bursts without drops
AUDIT_RMEM_MAX = 8 * 1024 * 1024
PROBE_IMAGE = "course/probe:host"
CAPS_ERROR = "unable to apply caps"


_STARTED = time.monotonic()
#: Written when ensure_engine installed the engine itself (a fresh root Debian-like machine, as
#: in CI): such a machine is the course's to provision, so the test-only Podman lane's package
#: may be installed there too, and nowhere else.
ENGINE_MARKER = REPO / ".state" / "engine-installed-by-course"


def step(message: str) -> None:
    """One progress line: what happens now and the seconds since the command started."""
    print(f"[engine {time.monotonic() - _STARTED:6.1f}s] {message}", flush=True)


def engine_answers() -> bool:
    return engine.answers(timeout=30)


def probe_image() -> str:
    """A local image that can run `true`: the course base image when built, else a two-file
    image made from this host's own `true` and its libraries (no registry needed)."""
    for ref in ("course/base:bookworm", PROBE_IMAGE):
        if engine.image_exists(ref):
            return ref
    true = Path(shutil.which("true") or "/bin/true").resolve()
    libs = [line.split("=>")[-1].split("(")[0].strip()
            for line in run(["ldd", str(true)]).stdout.splitlines()]
    files = [str(true), *(lib for lib in libs if lib.startswith("/"))]
    with tempfile.TemporaryDirectory(prefix="course-probe-") as tmp:
        tarball = os.path.join(tmp, "probe.tar")
        run(["tar", "--dereference", "-cf", tarball, *files])
        engine.import_image(tarball, PROBE_IMAGE, changes=[f'CMD ["{true}"]', f"LABEL {MANAGED_LABEL_ARG}"])
    return PROBE_IMAGE


def privileged_works() -> tuple[bool, str]:
    """(works, output) of `docker run --rm --privileged <probe> true`."""
    image = probe_image()
    true = "true" if image.startswith("course/base") else engine.image_inspect(
        image, "{{index .Config.Cmd 0}}", check=True).stdout.strip()
    result = engine.run(image, [true], remove=True, options=["--privileged"], check=False, timeout=120)
    return result.ok, (result.stdout + result.stderr).strip()


def merge_daemon_config(current: dict, shim_path: str = str(SHIM_TARGET)) -> dict:
    """daemon.json with the shim added as a runtime and made the default; other keys kept."""
    merged = dict(current)
    runtimes = dict(merged.get("runtimes") or {})
    runtimes[SHIM_NAME] = {"path": shim_path}
    merged["runtimes"] = runtimes
    merged["default-runtime"] = SHIM_NAME
    return merged


def missing_packages() -> list[str]:
    return sorted({pkg for tool, pkg in HOST_PACKAGES.items() if shutil.which(tool) is None
                   and not Path("/usr/sbin", tool).exists()})


def _can_change_host() -> bool:
    return os.geteuid() == 0 and Path("/etc/debian_version").exists() and shutil.which("apt-get") is not None


def _systemd() -> bool:
    return Path("/run/systemd/system").is_dir()


def _start_dockerd() -> None:
    if _systemd():
        run(["systemctl", "start", DOCKER_UNIT])
    else:      # CI containers and minimal hosts have no init system: run it in the background
        step(f"starting dockerd in the background (log: {DOCKERD_LOG})")
        run(["sh", "-c", f"setsid dockerd >>{DOCKERD_LOG} 2>&1 </dev/null &"])
    deadline = time.monotonic() + 90
    while not engine_answers():
        if time.monotonic() > deadline:
            raise LabTimeout("dockerd did not answer within 90 s",
                             fix=f"read {DOCKERD_LOG} (or `journalctl -u docker`)")
        time.sleep(1)


def _dockerd_pids() -> list[int]:
    pids = []
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == "dockerd":
                pids.append(int(comm.parent.name))
        except OSError:
            continue             # the process exited while we looked
    return pids


def _stop_dockerd() -> None:
    if _systemd():
        run(["systemctl", "stop", DOCKER_UNIT])
        return
    for pid in _dockerd_pids():
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 60
    while _dockerd_pids():
        if time.monotonic() > deadline:
            raise LabTimeout("dockerd did not stop within 60 s", fix="stop dockerd by hand and re-run")
        time.sleep(0.5)


def _install_packages(packages: list[str]) -> None:
    step(f"apt-get install {' '.join(packages)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run(["apt-get", "update"], timeout=600, env=env)
    run(["apt-get", "install", "-y", "--no-install-recommends", *packages], timeout=1800, env=env)


def _provision(packages: list[str]) -> None:
    """Install on a machine with no engine yet, and remember the course provisioned it."""
    _install_packages(packages)
    ENGINE_MARKER.parent.mkdir(parents=True, exist_ok=True)
    ENGINE_MARKER.write_text(f"installed by `python -m labs.host ensure-engine`: {' '.join(packages)}\n")


def _engine_problem() -> tuple[str, str] | None:
    """(what, fix) when an engine exists but this shell cannot use it: starting or
    installing another one would only make things worse."""
    if engine.available():
        output = engine.info(timeout=30)
        text = output.stdout + output.stderr
        if "permission denied" in text:
            return ("the Docker engine refuses this user (permission denied on its socket)",
                    "add yourself to the docker group (sudo usermod -aG docker $USER; log in "
                    "again) or run as root")
    if _dockerd_pids():
        return ("dockerd is running but `docker info` gets no answer",
                f"check DOCKER_HOST / the docker context, and dockerd's log ({DOCKERD_LOG})")
    return None


def _manual(commands: list[str], why: str) -> int:
    print(f"{why}\nRun these commands (as root), then re-run `python -m labs.host ensure-engine`:")
    for command in commands:
        print(f"  {command}")
    return 1


def _install_shim() -> None:
    step(f"installing {SHIM_NAME} as dockerd's default runtime")
    shutil.copy2(SHIM_SOURCE, SHIM_TARGET)
    SHIM_TARGET.chmod(0o755)
    current = json.loads(DAEMON_JSON.read_text()) if DAEMON_JSON.exists() else {}
    DAEMON_JSON.parent.mkdir(parents=True, exist_ok=True)
    DAEMON_JSON.write_text(json.dumps(merge_daemon_config(current), indent=2) + "\n")
    step("restarting dockerd")
    _stop_dockerd()
    _start_dockerd()


def ensure_receive_buffer() -> None:
    """Raise net.core.rmem_max so the audit collector's socket can hold a burst of records
    (the default 208 KiB drops some at 20,000 records/s on a busy 2-core machine)."""
    current = int(RMEM_MAX.read_text()) if RMEM_MAX.exists() else AUDIT_RMEM_MAX
    if current >= AUDIT_RMEM_MAX:
        return
    if os.geteuid() == 0:
        step(f"sysctl net.core.rmem_max={AUDIT_RMEM_MAX} (was {current})")
        RMEM_MAX.write_text(str(AUDIT_RMEM_MAX))
    else:
        step(f"net.core.rmem_max is {current}: audit capture may drop records in bursts; "
             f"fix: sudo sysctl -w net.core.rmem_max={AUDIT_RMEM_MAX}")


def ensure_engine() -> int:
    """Exit status 0 when an engine answers and runs privileged containers."""
    ensure_receive_buffer()
    missing = missing_packages()
    # Installing on our own is safe only on a fresh root Debian-like machine (CI): one with no
    # engine yet. Anywhere else the learner's machine is theirs: say what to run instead.
    if missing and _can_change_host() and not engine_answers():
        _provision(missing)
    elif missing:
        step(f"missing host packages (some lessons and tests need them); install with: "
             f"apt-get install -y {' '.join(missing)}")
    if not engine_answers():
        problem = _engine_problem()
        if problem:
            raise EnvironmentProblem(problem[0], fix=problem[1])
        if not _can_change_host():
            return _manual(["apt-get install -y docker.io   # or install Docker Desktop",
                            "dockerd & (or: systemctl start docker)"],
                           "No Docker engine answers, and this is not a root shell on a "
                           "Debian-like machine, so nothing was changed.")
        if shutil.which("dockerd") is None:
            _provision(["docker.io"])
        _start_dockerd()
    step(f"engine answers: Docker {engine.version('{{.Server.Version}}').stdout.strip()}")
    works, output = privileged_works()
    if works:
        step("privileged containers work")
        return 0
    if CAPS_ERROR not in output:
        raise EnvironmentProblem(f"--privileged containers fail: {output}",
                                 fix="kind needs privileged containers; check dockerd's log")
    running = engine.ps(quiet=True)
    if not _can_change_host() or running:
        why = ("Privileged containers fail (CAP_SYS_RESOURCE is outside this host's bounding set). "
               + (f"Restarting dockerd now would stop {len(running)} running container(s)."
                  if running else "Installing the runtime shim needs root on a Debian-like host."))
        return _manual([f"install -m 755 {SHIM_SOURCE} {SHIM_TARGET}",
                        f"merge into {DAEMON_JSON}: " + json.dumps(merge_daemon_config({})),
                        "restart dockerd"], why)
    _install_shim()
    works, output = privileged_works()
    if not works:
        raise EnvironmentProblem(f"privileged containers still fail with {SHIM_NAME}: {output}",
                                 fix=f"check {DOCKERD_LOG} and {DAEMON_JSON}")
    step("privileged containers work (through the shim)")
    return 0


def ensure_podman() -> int:
    """Install Podman for the test suite's Podman lane where the course provisioned the engine
    itself (CI); elsewhere only say how (the lane is skipped without it). Always exit 0."""
    if shutil.which("podman") is not None:
        step("podman installed: the Podman lane runs")
    elif ENGINE_MARKER.exists() and _can_change_host():
        _install_packages(["podman"])
    else:
        step("podman is not installed, so the Podman test lane will be skipped; "
             "to run it: apt-get install -y --no-install-recommends podman")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m labs.host", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("ensure-engine", help="make a Docker engine answer and run privileged containers")
    sub.add_parser("ensure-podman", help="install Podman for the Podman test lane where the course "
                                         "installed the engine (CI)")
    args = parser.parse_args(argv)
    try:
        return ensure_podman() if args.command == "ensure-podman" else ensure_engine()
    except (CommandError, EnvironmentProblem, LabTimeout) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
