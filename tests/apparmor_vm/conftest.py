"""The AppArmor lane: one QEMU boot per session runs guest/checks.py; tests read its facts.

Skips only when QEMU cannot run here, or the image cannot be built (not root) and none is
cached: both are missing machine capabilities, and the reason says which.
"""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from labs.errors import CapabilityMissing
from labs.runner import run

GUEST = Path(__file__).resolve().parent / "guest"


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
    (share / "guest.sh").write_text("cd /mnt/course && exec python3 checks.py\n")
    started = time.monotonic()
    vm = boot_vm(vm_image, share)
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
