"""The tier's timeouts agree with each other (no QEMU needed: runs even where the tier skips).

pytest-timeout kills a test without the VM's console or the guest's log, so it must never be
the timeout that fires: each test's pytest timeout covers every nested timeout it may wait
for, cold, and the guest's own waits end before the host stops waiting for the guest.
"""
from __future__ import annotations

from labs.apparmor.docker_disk import BAKE_TIMEOUT
from labs.apparmor.vm import DEBOOTSTRAP_TIMEOUT, MKFS_TIMEOUT, VM_IMAGE_TIMEOUT
from labs.cluster.apparmor_image import BUILD_TIMEOUT

from . import (
    budget,
    emulation,
    test_apparmor_kubelet_vm,
    test_apparmor_learner_host,
    test_apparmor_node_image,
    test_apparmor_vm,
    test_apparmor_worker_node,
)


def _timeout(module) -> float:
    marks = module.pytestmark if isinstance(module.pytestmark, list) else [module.pytestmark]
    (mark,) = [m for m in marks if m.name == "timeout"]
    return mark.args[0]


def test_each_test_timeout_covers_its_nested_timeouts_cold():
    assert VM_IMAGE_TIMEOUT >= DEBOOTSTRAP_TIMEOUT + MKFS_TIMEOUT
    boots = budget.HANG_ATTEMPTS   # a hung boot is booted again
    assert boots >= 2
    assert _timeout(test_apparmor_vm) >= VM_IMAGE_TIMEOUT + boots * budget.CHECKS_BOOT
    # the learner host boots once (a hang is reported with what the guest saved)
    assert _timeout(test_apparmor_learner_host) >= (VM_IMAGE_TIMEOUT + BUILD_TIMEOUT + BAKE_TIMEOUT
                                                    + budget.LEARNER_BOOT)
    assert budget.LEARNER_SILENCE < budget.LEARNER_BOOT
    assert _timeout(test_apparmor_kubelet_vm) >= (VM_IMAGE_TIMEOUT + BUILD_TIMEOUT + BAKE_TIMEOUT
                                                  + boots * budget.KUBELET_BOOT)
    assert _timeout(test_apparmor_node_image) >= BUILD_TIMEOUT + budget.NODE_START
    # the worker node boots once, lives through the module; its first test creates the control plane
    host = budget.WORKER_HOST
    assert _timeout(test_apparmor_worker_node) >= (VM_IMAGE_TIMEOUT + BUILD_TIMEOUT + BAKE_TIMEOUT
                                                   + host["create_timeout"] + host["ready_wait"] + budget.WORKER_BOOT)
    assert budget.WORKER_SILENCE < budget.WORKER_BOOT


def test_guest_waits_end_before_the_host_stops_the_guest():
    limits = budget.GUEST_LIMITS
    assert limits["create_timeout"] > budget.KUBEADM_CONTROL_PLANE   # kind's own steps come on top
    waits = limits["create_timeout"] + limits["ready_wait"] + limits["service_account_wait"]
    assert waits + budget.GUEST_WORK + budget.GUEST_OVERHEAD <= budget.LEARNER_BOOT
    assert f"timeoutForControlPlane: {budget.KUBEADM_CONTROL_PLANE}s" in emulation.TCG_PATCHES[0]


def test_kubelet_guest_waits_end_before_the_host_stops_the_guest():
    assert sum(budget.KUBELET_GUEST_LIMITS.values()) + budget.GUEST_OVERHEAD <= budget.KUBELET_BOOT


def test_worker_guest_waits_end_before_the_host_stops_waiting_for_the_join():
    limits = budget.WORKER_GUEST_LIMITS
    one_boot = limits["NODE_WAIT"] + limits["JOIN_WAIT"] + budget.GUEST_OVERHEAD
    # a boot that hangs on the way is stopped WORKER_SILENCE after its last line at the latest, then booted again
    assert (budget.HANG_ATTEMPTS * one_boot + (budget.HANG_ATTEMPTS - 1) * budget.WORKER_SILENCE
            <= budget.WORKER_HOST["join_wait"])
    assert budget.WORKER_HOST["join_wait"] < budget.WORKER_BOOT
