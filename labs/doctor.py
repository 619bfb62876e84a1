"""Check every prerequisite of the course and say how to fix each: `python -m labs.doctor`.

Why: a learner (or CI) should learn in one screen what is missing, in the order the lessons
need it, instead of meeting a traceback in lesson 6. ``doctor()`` returns a Result that
notebook 00 shows as a checklist.
"""
from __future__ import annotations

import html
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import engine
from .audit import AuditCollector
from .cluster import cluster_status, node_capabilities
from .cluster.apparmor_image import engine_enforces_apparmor
from .cluster.nodeimage import node_image_hash, recipe_hash
from .cluster.nodesource import requested_source, stock_node_image
from .cluster.versions import NODE_IMAGE
from .errors import LabError
from .host import AUDIT_RMEM_MAX, CAPS_ERROR, engine_answers, privileged_works, probe_image
from .images import COLLECTOR_IMAGE
from .lessons import LessonReadiness, readiness
from .paths import state_dir, tools_dir
from .results import Result
from .runner import run

__all__ = ["Check", "DoctorReport", "doctor", "expected_capabilities", "kernel_file", "CHECKS"]

STATUS_ICONS = {"ok": "✅", "warn": "⚠️", "fail": "❌"}
ACTIONS_LOGGED = Path("/proc/sys/kernel/seccomp/actions_logged")
APPARMOR_ENABLED = Path("/sys/module/apparmor/parameters/enabled")
LOG_ALL = "kill_process kill_thread trap errno user_notif trace log"


@dataclass
class Check(Result):
    """One prerequisite: ``status`` is ok, warn (some lessons degrade) or fail (blocked)."""

    name: str
    status: str
    detail: str
    fix: str = ""


@dataclass
class DoctorReport(Result):
    checks: list[Check] = field(default_factory=list)
    #: per lesson, how it will run here once `make lab` has made the cluster (None: no engine)
    lessons: LessonReadiness | None = None

    @property
    def ok(self) -> bool:
        return all(c.status != "fail" for c in self.checks)

    def __str__(self) -> str:
        lines = []
        for c in self.checks:
            lines.append(f"[{c.status.upper():4}] {c.name}: {c.detail}")
            if c.fix and c.status != "ok":
                lines.append(f"       fix: {c.fix}")
        if self.lessons is not None:
            lines += ["", "Lessons on this machine (once `make lab` has made the cluster):", str(self.lessons)]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        items = "".join(
            f"<li style='list-style:none'>{STATUS_ICONS[c.status]} <b>{html.escape(c.name)}</b>: "
            f"{html.escape(c.detail)}"
            + (f"<br><span style='margin-left:1.6em'>fix: <code>{html.escape(c.fix)}</code></span>"
               if c.fix and c.status != "ok" else "")
            + "</li>" for c in self.checks)
        return f"<div><b>Course prerequisites</b><ul style='padding-left:0'>{items}</ul></div>"


def _engine() -> Check:
    if not engine_answers():
        return Check("Docker engine", "fail", f"no {engine.binary().capitalize()} engine answers "
                     f"`{engine.shown('info')}`", "make engine  (python -m labs.host ensure-engine)")
    version = engine.version("{{.Server.Version}}").stdout.strip()
    chosen = f" ({engine.ENGINE_ENV}={engine.binary()})" if engine.binary() != engine.ENGINES[0] else ""
    return Check("Docker engine", "ok", f"{engine.binary().capitalize()} {version}{chosen}")


def _privileged() -> Check:
    works, output = privileged_works()
    if works:
        return Check("privileged containers", "ok", "kind nodes can start")
    if CAPS_ERROR in output:
        return Check("privileged containers", "fail",
                     "--privileged fails: CAP_SYS_RESOURCE is outside this host's bounding set",
                     "make engine  (installs the runc-capfix runtime shim)")
    return Check("privileged containers", "fail", f"--privileged fails: {output[-300:]}",
                 "check dockerd's log")


def _tool(name: str) -> Callable[[], Check]:
    def check() -> Check:
        path = shutil.which(name) or (str(tools_dir() / name) if (tools_dir() / name).exists() else None)
        if path is None:
            return Check(name, "warn", f"{name} is not installed", "make cluster  (installs it into .venv/bin)")
        args = [path, "version", "--client"] if name == "kubectl" else [path, "version"]
        version = run(args, check=False).stdout.strip().splitlines()
        return Check(name, "ok", version[0] if version else path)
    return check


def kernel_file(path: Path) -> str:
    """A /proc or /sys file of the kernel that runs the containers: read here on Linux, and
    through a container elsewhere (Docker Desktop runs its engine in a Linux VM)."""
    if sys.platform.startswith("linux"):
        return path.read_text() if path.exists() else ""
    return engine.run(probe_image(), ["cat", str(path)], remove=True, check=False).stdout


def _seccomp() -> Check:
    status = kernel_file(Path("/proc/self/status"))
    if "Seccomp:" not in status:
        return Check("kernel seccomp", "fail", "this kernel has no seccomp filter support",
                     "use a Linux kernel built with CONFIG_SECCOMP_FILTER (any distribution kernel)")
    logged = kernel_file(ACTIONS_LOGGED).split()
    if "log" not in logged:
        return Check("kernel seccomp", "fail",
                     f"seccomp works but SCMP_ACT_LOG is not logged (actions_logged: {' '.join(logged)})",
                     f"sudo sysctl -w kernel.seccomp.actions_logged='{LOG_ALL}'")
    return Check("kernel seccomp", "ok", "filters work and actions_logged contains log")


def _apparmor() -> Check:
    """What AppArmor can do here, and so what lessons 06, 07 and 09 run live: an instructor's
    one-line answer per laptop before a workshop."""
    enabled = kernel_file(APPARMOR_ENABLED).strip()
    if enabled == "Y" and engine_enforces_apparmor():
        return _apparmor_cluster()
    lane = ("`make test-apparmor-vm` still proves the profiles in a QEMU VM"
            if shutil.which("qemu-system-x86_64") else
            "with qemu-system-x86 installed, `make test-apparmor-vm` proves the profiles in a VM")
    where = "the engine's kernel has no AppArmor LSM" if enabled != "Y" else \
        "the kernel has AppArmor but the Docker engine does not use it (docker info lists no name=apparmor)"
    return Check("AppArmor LSM", "warn", f"{where}: AppArmor pods cannot run here; lessons 06, 07 and 09 "
                 "read recorded samples for the cells that load a profile, and their AppArmor checks say "
                 "'not checked'", f"use an Ubuntu/Debian/SUSE host with AppArmor enabled for those cells; {lane}")


def _apparmor_cluster() -> Check:
    live = "lessons 06, 07 and 09 run live and their AppArmor checks are graded"
    if not cluster_status("default").ready:
        return Check("AppArmor LSM", "ok", f"the engine enforces AppArmor: `make cluster` builds the "
                     f"AppArmor-capable node, then {live}")
    missing = [c.name for c in node_capabilities("default") if not (c.apparmor_lsm and c.containerd_apparmor)]
    if missing:
        return Check("AppArmor LSM", "warn", f"the engine enforces AppArmor, but containerd on {', '.join(missing)} "
                     "does not (a node image without AppArmor support)",
                     "make cluster  (re-creates the cluster on the AppArmor-capable node image)")
    return Check("AppArmor LSM", "ok", f"the engine and every node of the default cluster enforce AppArmor: {live}")


def _audit_capture() -> Check:
    if not engine.image_exists(COLLECTOR_IMAGE):
        return Check("audit capture", "warn", f"{COLLECTOR_IMAGE} is not built yet", "make images")
    try:
        with AuditCollector(ready_timeout=30) as collector:
            rcvbuf = collector.rcvbuf
    except LabError as exc:
        return Check("audit capture", "fail", f"the collector cannot subscribe: {exc.message}",
                     exc.fix or "python -m labs.doctor after fixing the engine")
    if rcvbuf < 2 * AUDIT_RMEM_MAX:
        return Check("audit capture", "warn", f"the collector subscribed, but its receive buffer "
                     f"is {rcvbuf >> 10} KiB: bursts of records may be dropped (and reported lost)",
                     f"sudo sysctl -w net.core.rmem_max={AUDIT_RMEM_MAX}  (or: make engine)")
    return Check("audit capture", "ok", f"the collector subscribed (receive buffer {rcvbuf >> 10} KiB)")


def _node_image() -> Check:
    """Which node image `make cluster` will use, without going to the network to find out."""
    source, stock = requested_source(), stock_node_image()
    if source != "stock" and node_image_hash() == recipe_hash():
        return Check("node image", "ok", f"the offline build {NODE_IMAGE} is current")
    if source != "offline" and engine.image_exists(stock):
        return Check("node image", "ok", f"kind's release image {stock.split('@')[0]} is here")
    plan = {"auto": "pulls kind's release image where a registry answers, else builds one offline",
            "stock": "pulls kind's release image", "offline": "builds the node image offline"}[source]
    return Check("node image", "warn", f"no node image yet: `make cluster` {plan} (the offline build "
                 "needs Go, gcc and debootstrap and takes 5-15 minutes on 2 cores)", "make node-image")


def _cluster() -> Check:
    kubeconfig = state_dir() / "kubeconfig"
    if not kubeconfig.exists() or shutil.which("kubectl") is None:
        return Check("cluster reachable", "warn", "no course cluster yet", "make cluster")
    result = run(["kubectl", "--kubeconfig", str(kubeconfig), "get", "--raw", "/readyz"],
                 check=False, timeout=30)
    if result.ok:
        return Check("cluster reachable", "ok", f"API server ready ({kubeconfig})")
    return Check("cluster reachable", "fail", f"the API server does not answer: {result.stderr.strip()[-200:]}",
                 "make cluster  (recreates or restarts the kind cluster)")


#: (name, check, needs a working engine)
CHECKS: list[tuple[str, Callable[[], Check], bool]] = [
    ("Docker engine", _engine, False),
    ("privileged containers", _privileged, True),
    ("kind", _tool("kind"), False),
    ("kubectl", _tool("kubectl"), False),
    ("kernel seccomp", _seccomp, not sys.platform.startswith("linux")),
    ("AppArmor LSM", _apparmor, not sys.platform.startswith("linux")),
    ("audit capture", _audit_capture, True),
    ("node image", _node_image, True),
    ("cluster reachable", _cluster, True),
]


def doctor() -> DoctorReport:
    """Run every check; one that cannot run (no engine) is reported, never raised."""
    report = DoctorReport()
    engine_ok = True
    for name, check, needs_engine in CHECKS:
        if needs_engine and not engine_ok:
            report.checks.append(Check(name, "fail", "skipped: no Docker engine", "make engine"))
            continue
        try:
            result = check()
        except LabError as exc:
            result = Check(name, "fail", exc.message, exc.fix or "")
        report.checks.append(result)
        if name == "Docker engine":
            engine_ok = result.status == "ok"
    if engine_ok:
        report.lessons = readiness(expected_capabilities(report))
    return report


def expected_capabilities(report: DoctorReport) -> set[str]:
    """Pure: what lessons.detect_available() will find once the default cluster runs, given
    these checks (a multi-node cluster only counts when it already exists)."""
    status = {c.name: c.status for c in report.checks}
    expected = {"engine"} if status.get("Docker engine") == "ok" else set()
    if expected and status.get("privileged containers") == "ok":
        expected.add("cluster")
        if status.get("AppArmor LSM") == "ok":
            expected.add("apparmor")
    return expected


def main() -> int:
    report = doctor()
    print(report)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
