"""Choosing the AppArmor VM's accelerator: KVM when it works, TCG otherwise, and say which."""
import os

import pytest

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


def test_a_device_that_is_not_kvm_is_reported(tmp_path):
    """/dev/null opens but answers no KVM ioctl: the probe must say so, not crash or pass."""
    problem = kvm_problem(os.devnull)
    assert problem is not None and os.devnull in problem
