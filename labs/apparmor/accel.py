"""Which QEMU accelerator the AppArmor VM runs on: KVM where the host lets us use it, else TCG.

Why: under TCG every guest instruction is emulated, so a kind node in the guest takes minutes to
join and a TLS handshake is measured in seconds; with KVM the same guest runs at close to native
speed. Some machines (CI runners among them) expose a working ``/dev/kvm``, others have none, so
the VM must run on both, and every run says which one it used. ``COURSE_VM_ACCEL`` forces a
choice (``kvm`` or ``tcg``; ``auto``, the default, probes): forcing ``tcg`` on a KVM machine is how
the slow path is measured.
"""
from __future__ import annotations

import functools
import os
import subprocess
import threading
from dataclasses import dataclass

from ..errors import CapabilityMissing, EnvironmentProblem
from ..runner import require_tool

__all__ = ["ACCEL_ENV", "TCG_CPU", "Accelerator", "choose_accelerator", "kvm_problem", "vm_accelerator"]

ACCEL_ENV = "COURSE_VM_ACCEL"
#: The emulated CPU under TCG. TCG's default model (qemu64) has no AES-NI and no PCLMULQDQ, so
#: every TLS record between the guest's Kubernetes components went through Go's software
#: AES-GCM, emulated instruction by instruction; QEMU runs AESENC/PCLMULQDQ as native helpers.
#: Westmere adds those (and SSE4.2, POPCNT) without AVX, whose emulation is the youngest part of TCG.
TCG_CPU = "Westmere"
#: Under KVM the guest sees the host's own CPU (what KVM can pass through).
KVM_CPU = "host"

KVM_DEVICE = "/dev/kvm"
#: what QEMU's firmware (SeaBIOS) prints first on the serial console, and how long to wait for it
FIRMWARE_BANNER = "SeaBIOS"
FIRMWARE_WAIT = 10


@dataclass(frozen=True)
class Accelerator:
    """The accelerator a boot uses, and why it was chosen (shown in progress and reports)."""

    name: str  # "kvm" or "tcg"
    cpu: str
    reason: str

    def qemu_args(self) -> list[str]:
        return ["-accel", self.name, "-cpu", self.cpu]


def kvm_problem(device: str = KVM_DEVICE) -> str | None:
    """Why KVM cannot run a guest here, or None when it can.

    A device that opens is not enough: on one of our machines ``/dev/kvm`` opened and created a
    VM and a vCPU, which then spun in the host kernel without running one instruction. So this
    boots QEMU's firmware under KVM and waits for its banner on the serial console.
    """
    try:
        os.close(os.open(device, os.O_RDWR | os.O_CLOEXEC))
    except FileNotFoundError:
        return f"{device} does not exist (no KVM on this host)"
    except PermissionError:
        return f"no permission to open {device} (add the user to the 'kvm' group, or run as root)"
    except OSError as exc:
        return f"{device} cannot be opened: {exc.strerror}"
    firmware = ["qemu-system-x86_64", "-accel", "kvm", "-cpu", KVM_CPU, "-m", "64", "-nographic",
                "-nodefaults", "-serial", "stdio", "-no-reboot", "-nic", "none"]
    require_tool(firmware[0])
    # the firmware never exits (there is nothing to boot), so read until its banner, then stop it
    # (labs.runner.run would always wait for the whole timeout)
    qemu = subprocess.Popen(firmware, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = threading.Timer(FIRMWARE_WAIT, qemu.kill)
    deadline.start()
    seen = b""
    for chunk in iter(lambda: qemu.stdout.read1(512), b""):
        seen += chunk
        if FIRMWARE_BANNER.encode() in seen:
            break
    qemu.kill()
    qemu.wait()
    deadline.cancel()
    output = seen.decode(errors="replace")
    if FIRMWARE_BANNER in output:
        return None
    detail = output.strip().splitlines()[-1][:200] if output.strip() else "no console output"
    return f"QEMU under KVM did not run its firmware in {FIRMWARE_WAIT} s ({detail})"


def choose_accelerator(requested: str, problem: str | None) -> Accelerator:
    """The accelerator for a ``COURSE_VM_ACCEL`` value, given what :func:`kvm_problem` found."""
    requested = (requested or "auto").strip().lower()
    if requested not in ("auto", "kvm", "tcg"):
        raise EnvironmentProblem(f"{ACCEL_ENV}={requested!r} is not an accelerator this course knows",
                                 fix=f"set {ACCEL_ENV} to auto, kvm or tcg (or unset it)")
    if requested == "tcg":
        return Accelerator("tcg", TCG_CPU, f"{ACCEL_ENV}=tcg asks for software emulation")
    if problem is None:
        return Accelerator("kvm", KVM_CPU, f"{KVM_DEVICE} runs guests here")
    if requested == "kvm":
        raise CapabilityMissing(f"{ACCEL_ENV}=kvm, but {problem}",
                                fix=f"unset {ACCEL_ENV} to fall back to software emulation (slower)")
    return Accelerator("tcg", TCG_CPU, f"software emulation: {problem}")


@functools.cache
def vm_accelerator() -> Accelerator:
    """The accelerator for this process's boots (probed once)."""
    requested = os.environ.get(ACCEL_ENV, "auto")
    return choose_accelerator(requested, None if requested.strip().lower() == "tcg" else kvm_problem())
