"""Which QEMU accelerator the AppArmor VM runs on: KVM where the host lets us use it, else TCG.

Why: under TCG every guest instruction is emulated, so a kind node in the guest takes minutes to
join and a TLS handshake is measured in seconds; with KVM the same guest runs at close to native
speed. Some machines (CI runners among them) expose a working ``/dev/kvm``, others have none, so
the VM must run on both, and every run says which one it used. ``COURSE_VM_ACCEL`` forces a
choice (``kvm`` or ``tcg``; ``auto``, the default, probes): forcing ``tcg`` on a KVM machine is how
the slow path is measured.
"""
from __future__ import annotations

import fcntl
import functools
import os
from dataclasses import dataclass

from ..errors import CapabilityMissing, EnvironmentProblem

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
# ioctl numbers from <linux/kvm.h>: _IO(KVMIO=0xAE, n)
_KVM_GET_API_VERSION = 0xAE00
_KVM_CREATE_VM = 0xAE01
_KVM_CREATE_VCPU = 0xAE41
_KVM_API_VERSION = 12


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

    Opening the device is not enough (a container may see it without the right to use it, and
    a nested host may refuse to create a VM), so this creates a VM and one vCPU and closes them.
    """
    try:
        kvm = os.open(device, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        return f"{device} does not exist (no KVM on this host)"
    except PermissionError:
        return f"no permission to open {device} (add the user to the 'kvm' group, or run as root)"
    except OSError as exc:
        return f"{device} cannot be opened: {exc.strerror}"
    opened = [kvm]
    try:
        version = fcntl.ioctl(kvm, _KVM_GET_API_VERSION)
        if version != _KVM_API_VERSION:
            return f"{device} speaks KVM API {version}, QEMU needs {_KVM_API_VERSION}"
        opened.append(fcntl.ioctl(kvm, _KVM_CREATE_VM, 0))
        opened.append(fcntl.ioctl(opened[-1], _KVM_CREATE_VCPU, 0))
    except OSError as exc:
        return f"{device} refused to create a virtual machine: {exc.strerror}"
    finally:
        for fd in reversed(opened):
            os.close(fd)
    return None


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
