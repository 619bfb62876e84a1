"""The AppArmor lane: one QEMU boot per session runs guest/checks.py; tests read its facts.

Skips only when QEMU cannot run here, or the image cannot be built (not root) and none is
cached: both are missing machine capabilities, and the reason says which. Every slow step
announces itself on the terminal (``[apparmor-vm] ...`` lines, shown even though pytest
captures output), so a slow run says where its time goes; budget.py has the timeouts. The
VM image and the docker disk are built from the start of the session (prebuild.py), while the
tiers before this one run.
"""
from __future__ import annotations

import json
import shutil
import time
import warnings
from pathlib import Path

import pytest

from labs.errors import CapabilityMissing
from labs.runner import run

from .budget import CHECKS_BOOT, HANG_ATTEMPTS
from .prebuild import ColdBuilds
from .worker import NODE_IMAGES

GUEST = Path(__file__).resolve().parent / "guest"


def _qemu_runs() -> str | None:
    if shutil.which("qemu-system-x86_64") is None:
        return "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)"
    if not run(["qemu-system-x86_64", "--version"], check=False, timeout=60).ok:
        return "qemu-system-x86_64 does not run on this machine"
    return None


@pytest.fixture(scope="session")
def announce(pytestconfig):
    """``announce(msg)`` prints ``[apparmor-vm] msg`` on the terminal at once, past pytest's
    output capture (the way live logging does), and keeps it in the captured output too."""
    capman = pytestconfig.pluginmanager.getplugin("capturemanager")
    reporter = pytestconfig.pluginmanager.getplugin("terminalreporter")
    started = time.monotonic()

    def say(msg: str) -> None:
        line = f"[apparmor-vm {time.monotonic() - started:5.0f}s] {msg}"
        print(line, flush=True)
        if capman is not None and reporter is not None:
            with capman.global_and_fixture_disabled():
                reporter.write_line(line)
    return say


def _build_vm_image(results, log):
    from labs.apparmor.vm import build_vm_image

    reason = _qemu_runs()
    if reason:
        pytest.skip(reason)
    try:
        return build_vm_image(log=log)
    except CapabilityMissing as exc:
        pytest.skip(str(exc))


def _build_node_disk(results, log):
    """``(node_image, disk, timings)``: the AppArmor node image and the docker disk holding it and
    the lab images (both cached), what the kubelet VM, the worker node and the learner host boot
    with; copy ``timings`` before adding to it."""
    from labs.apparmor.docker_disk import build_docker_disk
    from labs.cluster.apparmor_image import ensure_apparmor_node_image
    from labs.cluster.versions import NODE_IMAGE
    from labs.images import image_exists
    from labs.lessons import POD_IMAGES

    if not image_exists(NODE_IMAGE):
        pytest.skip(f"the offline node image {NODE_IMAGE} is not built on this machine (make node-image)")
    absent = [image for image in POD_IMAGES if not image_exists(image)]
    if absent:
        pytest.skip(f"lab images missing: {', '.join(absent)} (make images)")
    timings = {"vm_image_build_s": results["vm_image"].built_seconds}
    started = time.monotonic()
    node_image = ensure_apparmor_node_image(NODE_IMAGE, progress=log)
    timings["node_image_s"] = round(time.monotonic() - started, 1)
    disk = build_docker_disk([node_image, *POD_IMAGES], node_var=(node_image, list(NODE_IMAGES)), log=log)
    timings["docker_disk_build_s"] = disk.built_seconds
    return node_image, disk, timings


COLD_BUILDS = pytest.StashKey[ColdBuilds]()


def _start_cold_builds(config, *, disk: bool) -> ColdBuilds:
    steps = {"vm_image": _build_vm_image, **({"node_disk": _build_node_disk} if disk else {})}
    config.stash[COLD_BUILDS] = ColdBuilds(steps)
    return config.stash[COLD_BUILDS]


def pytest_collection_finish(session):
    """Start this tier's cold builds as soon as the session knows it will run the tier."""
    if session.config.option.collectonly:
        return
    tier = [item for item in session.items if Path(str(item.path)).is_relative_to(Path(__file__).parent)]
    if any("vm_image" in item.fixturenames for item in tier):
        _start_cold_builds(session.config, disk=any("node_disk" in item.fixturenames for item in tier))


def pytest_terminal_summary(terminalreporter, config):
    if COLD_BUILDS in config.stash:
        terminalreporter.write_line(config.stash[COLD_BUILDS].summary())


def _cold_build(request, name: str, announce):
    """Wait for a build pytest_collection_finish started (a fixture in the closure of a collected test)."""
    return request.config.stash[COLD_BUILDS].wait(name, announce)


@pytest.fixture(scope="session")
def vm_image(announce, request):
    return _cold_build(request, "vm_image", announce)


@pytest.fixture(scope="session")
def node_disk(vm_image, announce, request):
    """See :func:`_build_node_disk`."""
    return _cold_build(request, "node_disk", announce)


@pytest.fixture(scope="session")
def boot(announce):
    """``boot(image, share, **kwargs)``: :func:`labs.apparmor.vm.boot_vm` with progress on the
    terminal and a hung boot booted again (budget.HANG_ATTEMPTS); each hung boot is said out
    loud in the warnings summary, with its console tail, never passed over in silence."""
    from labs.apparmor.vm import boot_vm

    def run_guest(image, share, **kwargs):
        vm = boot_vm(image, share, progress=announce, **{"attempts": HANG_ATTEMPTS, **kwargs})
        for console in vm.hung_boots:
            warnings.warn(f"an AppArmor VM boot hung (soft lockup) and was booted again; "
                          f"console tail: {console[-1500:]!r}", stacklevel=2)
        return vm
    return run_guest


@pytest.fixture(scope="session")
def vm_results(vm_image, tmp_path_factory, repo_root, announce, boot):
    """Boot once, run every guest step, return results.json plus the run's timings."""
    share = tmp_path_factory.mktemp("apparmor-vm-share")
    shutil.copytree(repo_root / "labs", share / "src" / "labs",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("checks.py", "steps.py"):
        shutil.copy(GUEST / name, share / name)
    (share / "guest.sh").write_text("cd /mnt/course && exec python3 -u checks.py\n")
    started = time.monotonic()
    announce(f"booting the VM for the AppArmor checks (timeout {CHECKS_BOOT}s)")
    vm = boot(vm_image, share, timeout=CHECKS_BOOT)
    results_file = share / "results.json"
    assert results_file.exists(), f"the guest wrote no results; guest log:\n{vm.guest_log}\n{vm.console[-3000:]}"
    results = json.loads(results_file.read_text())
    results["timings"] = {"image_build_s": vm_image.built_seconds, "boot_and_checks_s": vm.seconds,
                          "wall_s": round(time.monotonic() - started, 1)}
    announce(f"checks VM timings: {results['timings']} steps: {results['seconds']}")
    results["guest_log"] = vm.guest_log
    return results


@pytest.fixture
def vm_step(vm_results):
    """Return one guest step's facts; fail with the guest's traceback if the step crashed."""
    def get(name: str) -> dict:
        value = vm_results["steps"][name]
        if isinstance(value, dict) and "error" in value:
            pytest.fail(f"guest step {name} crashed:\n{value['error']}")
        return value
    return get
