"""The background cold builds hand each fixture its result, its failure or its skip, and their log.

Pure logic with stand-in steps (no QEMU needed: runs even where the tier skips); the real steps
run in every test of this tier that boots a VM.
"""
from __future__ import annotations

import threading

import pytest

from .prebuild import ColdBuilds


def test_steps_run_in_order_and_each_fixture_gets_its_result_and_the_build_log():
    gate = threading.Event()

    def image(results, log):
        log("debootstrap ...")
        gate.wait(10)
        return "image"

    def disk(results, log):
        log(f"baking the disk for {results['image']}")
        return results["image"] + "+disk"
    builds = ColdBuilds({"image": image, "disk": disk})
    said: list[str] = []
    gate.set()
    assert builds.wait("disk", said.append) == "image+disk"
    assert builds.wait("image", said.append) == "image"
    assert [line.split(") ", 1)[1] for line in said if line.startswith("(background")] == [
        "debootstrap ...", "baking the disk for image"]
    assert set(builds.seconds) == {"image", "disk"}
    assert "image" in builds.summary() and "disk" in builds.summary()


def test_a_step_that_skips_or_fails_fails_itself_and_every_later_step():
    def no_qemu(results, log):
        pytest.skip("qemu-system-x86_64 is not installed")

    def never(results, log):
        raise AssertionError("a step after a skipped one ran")
    builds = ColdBuilds({"image": no_qemu, "disk": never})
    for name in ("image", "disk"):
        with pytest.raises(pytest.skip.Exception, match="qemu-system-x86_64 is not installed"):
            builds.wait(name, print)
    assert builds.seconds == {}

    def broken(results, log):
        raise OSError("mkfs.ext4: no space left on device")
    builds = ColdBuilds({"image": lambda results, log: "image", "disk": broken})
    assert builds.wait("image", print) == "image"
    with pytest.raises(OSError, match="no space left"):
        builds.wait("disk", print)
    assert "image" in builds.summary() and "disk" not in builds.summary()
