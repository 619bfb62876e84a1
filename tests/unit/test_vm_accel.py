"""Choosing the AppArmor VM's accelerator: KVM when it works, TCG otherwise, and say which."""
import os

import pytest

from labs.apparmor import accel
from labs.apparmor.accel import ACCEL_ENV, TCG_CPU, choose_accelerator, kvm_problem
from labs.errors import CapabilityMissing, EnvironmentProblem


def test_auto_takes_kvm_when_it_runs_guests():
    accelerator = choose_accelerator("auto", None)
    assert accelerator.qemu_args() == ["-accel", "kvm", "-cpu", "host"]


def test_auto_falls_back_to_tcg_and_says_why():
    accelerator = choose_accelerator("", "/dev/kvm does not exist (no KVM on this host)")
    assert accelerator.qemu_args() == ["-accel", "tcg", "-cpu", TCG_CPU]
    assert "/dev/kvm does not exist" in accelerator.reason


def test_tcg_can_be_forced_on_a_kvm_host():
    assert choose_accelerator(" TCG ", None).name == "tcg"


def test_asking_for_kvm_where_it_cannot_run_is_an_error_naming_the_fallback():
    with pytest.raises(CapabilityMissing) as raised:
        choose_accelerator("kvm", "no permission to open /dev/kvm (add the user to the 'kvm' group, or run as root)")
    assert "kvm' group" in raised.value.message and f"unset {ACCEL_ENV}" in raised.value.fix


def test_an_unknown_value_names_the_variable_and_the_choices():
    with pytest.raises(EnvironmentProblem) as raised:
        choose_accelerator("hvf", None)
    assert ACCEL_ENV in raised.value.message and "auto, kvm or tcg" in raised.value.fix


def test_a_missing_device_is_reported_not_raised(tmp_path):
    assert "does not exist" in kvm_problem(str(tmp_path / "kvm"))


def _fake_qemu(tmp_path, monkeypatch, script: str) -> None:
    """A stand-in qemu-system-x86_64 on PATH: the probe's reading and deadline are pure logic."""
    fake = tmp_path / "qemu-system-x86_64"
    fake.write_text(f"#!/bin/sh\n{script}\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    monkeypatch.setattr(accel, "FIRMWARE_WAIT", 2)


def test_a_vcpu_that_never_runs_the_firmware_means_tcg(tmp_path, monkeypatch):
    """Seen on one of our machines: /dev/kvm opened and made a VM whose vCPU never ran."""
    _fake_qemu(tmp_path, monkeypatch, "echo 'qemu: warming up' >&2; exec sleep 30")
    problem = kvm_problem(os.devnull)
    assert problem == "QEMU under KVM did not run its firmware in 2 s (qemu: warming up)"


def test_the_firmware_banner_means_kvm_runs_guests(tmp_path, monkeypatch):
    _fake_qemu(tmp_path, monkeypatch, "echo 'SeaBIOS (version 1.16.2)'; exec sleep 30")
    assert kvm_problem(os.devnull) is None
