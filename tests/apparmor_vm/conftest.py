"""The AppArmor lane: one QEMU boot per session runs guest/checks.py; tests read its facts.

Skips only when QEMU cannot run here, or the image cannot be built (not root) and none is
cached: both are missing machine capabilities, and the reason says which.
"""
from __future__ import annotations

import json
import shutil
import time
import warnings
from pathlib import Path

import pytest

from labs.errors import CapabilityMissing, CommandError
from labs.runner import run

GUEST = Path(__file__).resolve().parent / "guest"
#: the checks take under a minute; this leaves room for a slow machine and, with one retry,
#: still ends before pytest's own 900 s timeout (which would hide the console)
BOOT_TIMEOUT = 300


def _qemu_runs() -> str | None:
    if shutil.which("qemu-system-x86_64") is None:
        return "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)"
    if not run(["qemu-system-x86_64", "--version"], check=False, timeout=60).ok:
        return "qemu-system-x86_64 does not run on this machine"
    return None


@pytest.fixture(scope="session")
def vm_image():
    from labs.apparmor.vm import build_vm_image

    reason = _qemu_runs()
    if reason:
        pytest.skip(reason)
    try:
        return build_vm_image(log=lambda msg: print(f"[apparmor-vm] {msg}"))
    except CapabilityMissing as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def vm_results(vm_image, tmp_path_factory, repo_root):
    """Boot once, run every guest step, return results.json plus the run's timings."""
    from labs.apparmor.vm import boot_vm

    share = tmp_path_factory.mktemp("apparmor-vm-share")
    shutil.copytree(repo_root / "labs", share / "src" / "labs",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(GUEST / "checks.py", share / "checks.py")
    (share / "guest.sh").write_text("cd /mnt/course && exec python3 -u checks.py\n")
    started = time.monotonic()
    try:
        vm = boot_vm(vm_image, share, timeout=BOOT_TIMEOUT)
    except CommandError as exc:
        # Seen once in 20+ runs: the emulated guest spun at full CPU and never finished. One
        # more boot is allowed, and said out loud in the warnings summary; a second hang fails.
        guest_log = (share / "guest.log").read_text() if (share / "guest.log").exists() else "(none)"
        warnings.warn(f"the AppArmor VM did not finish in {BOOT_TIMEOUT}s and was booted again; "
                      f"guest log: {guest_log[-500:]!r}; console tail: {exc.output[-1500:]!r}")
        for leftover in ("guest.log", "results.json", "audit.log"):
            (share / leftover).unlink(missing_ok=True)
        vm = boot_vm(vm_image, share, timeout=BOOT_TIMEOUT)
    results_file = share / "results.json"
    assert results_file.exists(), f"the guest wrote no results; guest log:\n{vm.guest_log}\n{vm.console[-3000:]}"
    results = json.loads(results_file.read_text())
    results["timings"] = {"image_build_s": vm_image.built_seconds, "boot_and_checks_s": vm.seconds,
                          "wall_s": round(time.monotonic() - started, 1)}
    print(f"[apparmor-vm] timings: {results['timings']} steps: {results['seconds']}")
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
