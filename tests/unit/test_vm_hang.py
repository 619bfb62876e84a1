"""A hung AppArmor VM boot is recognised by the guest kernel's soft-lockup lines, stopped early
and booted again with the share as it was (CI once waited 1500 s on two spinning vCPUs).

The retry is exercised with a stand-in ``qemu-system-x86_64`` script (this tests the host-side
control logic only; the real guest runs in tests/apparmor_vm)."""
from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from labs.apparmor import vm as vmmod
from labs.apparmor.vm import VmHung, VmImage, boot_vm, longest_soft_lockup

CONSOLE = """\
[  130.1] watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [runc:477]
[  158.2] watchdog: BUG: soft lockup - CPU#0 stuck for 48s! [runc:478]
[ 1233.2] watchdog: BUG: soft lockup - CPU#1 stuck for 1103s! [runc:477]
"""

#: first boot: add files to the share and spin reporting a soft lockup; second boot: finish
FAKE_QEMU = """#!/bin/sh
share=$(echo "$@" | sed -E 's/.*local,path=([^,]*),mount_tag=course.*/\\1/')
if [ ! -e "$share/../boots" ]; then
    touch "$share/../boots" "$share/guest.log" && mkdir "$share/scratch" && touch "$share/scratch/x"
    echo "[  201.0] watchdog: BUG: soft lockup - CPU#0 stuck for 200s! [runc:478]"
    exec sleep 60
fi
[ -e "$share/scratch" ] && echo "LEFTOVER"
echo hello > "$share/guest.log"
echo "COURSE-VM-EXIT 0"
"""


def test_the_longest_stuck_time_is_read_from_the_console():
    assert longest_soft_lockup(CONSOLE) == 1103
    assert longest_soft_lockup("[ 1.0] Linux version 6.1\nCOURSE-VM-EXIT 0\n") == 0


@pytest.fixture
def fake_qemu(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    qemu = bin_dir / "qemu-system-x86_64"
    qemu.write_text(FAKE_QEMU)
    qemu.chmod(qemu.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    image = VmImage(str(tmp_path), "vmlinuz", "initrd", "disk.raw", "hash")
    share = tmp_path / "share"
    share.mkdir()
    (share / "guest.sh").write_text("true\n")
    return image, share


def test_a_hung_boot_is_stopped_and_booted_again_with_the_share_as_it_was(fake_qemu, monkeypatch):
    image, share = fake_qemu
    monkeypatch.setattr(vmmod, "HUNG_AFTER", 100)
    run = boot_vm(image, share, timeout=50, attempts=2)
    assert run.ok and run.guest_log == "hello\n"
    assert "LEFTOVER" not in run.console          # the first boot's files were removed
    assert (share / "guest.sh").exists()          # what the caller put there was kept
    assert len(run.hung_boots) == 1 and "stuck for 200s" in run.hung_boots[0]
    assert run.seconds < 50                       # the second boot's time only


def test_a_hung_boot_without_attempts_left_raises_vm_hung(fake_qemu, monkeypatch):
    image, share = fake_qemu
    monkeypatch.setattr(vmmod, "HUNG_AFTER", 100)
    with pytest.raises(VmHung, match="soft lockup"):
        boot_vm(image, share, timeout=50, attempts=1)
    assert Path(share / "guest.sh").exists()


#: first boot: the guest script says a step hung (exit 75); second boot: finish
STUCK_QEMU = """#!/bin/sh
share=$(echo "$@" | sed -E 's/.*local,path=([^,]*),mount_tag=course.*/\\1/')
if [ ! -e "$share/../boots" ]; then
    touch "$share/../boots"
    echo "docker run of the node: exit 124" > "$share/guest.log"
    echo "COURSE-VM-EXIT 75"
    exit 0
fi
echo hello > "$share/guest.log"
echo "COURSE-VM-EXIT 0"
"""


def test_a_guest_that_says_a_step_hung_is_booted_again(fake_qemu):
    image, share = fake_qemu
    (Path(os.environ["PATH"].split(os.pathsep)[0]) / "qemu-system-x86_64").write_text(STUCK_QEMU)
    run = boot_vm(image, share, timeout=50, attempts=2)
    assert run.ok and run.guest_log == "hello\n"
    assert len(run.hung_boots) == 1 and "COURSE-VM-EXIT 75" in run.hung_boots[0]


def test_on_the_last_attempt_a_stuck_guest_is_its_result(fake_qemu):
    image, share = fake_qemu
    (Path(os.environ["PATH"].split(os.pathsep)[0]) / "qemu-system-x86_64").write_text(STUCK_QEMU)
    run = boot_vm(image, share, timeout=50, attempts=1)
    assert run.exit_status == vmmod.GUEST_STUCK and "exit 124" in run.guest_log


#: the guest script logs a line, then its userspace stops: no soft lockup, no exit
SILENT_QEMU = """#!/bin/sh
share=$(echo "$@" | sed -E 's/.*local,path=([^,]*),mount_tag=course.*/\\1/')
echo "step grading" > "$share/guest.log"
exec sleep 60
"""


def test_a_guest_silent_past_its_limit_is_stopped_as_hung(fake_qemu):
    image, share = fake_qemu
    qemu = Path(os.environ["PATH"].split(os.pathsep)[0]) / "qemu-system-x86_64"
    qemu.write_text(SILENT_QEMU)
    with pytest.raises(VmHung, match="no line to guest.log for 3s") as raised:
        boot_vm(image, share, timeout=50, attempts=1, silent_after=3)
    assert (share / "guest.log").read_text() == "step grading\n"   # kept for the caller to read
    assert "sleep" not in raised.value.output
