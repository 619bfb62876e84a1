"""Time budgets (seconds) of the AppArmor tier: every nested timeout sits below its test's.

Each slow step has its own timeout, sized for a 2-core machine about 3x slower than the one
it was measured on (the measured times are in clusters/apparmor-vm/README.md). A test's
pytest timeout is the sum of the steps it may have to run, cold (the session fixtures build
the VM image, the AppArmor node image and the docker disk in whichever test needs them
first), plus a margin for pytest and small commands. So an inner timeout always fires first
and its error names the step; pytest-timeout only fires if the arithmetic here is wrong.
"""
from labs.apparmor.docker_disk import BAKE_TIMEOUT as DOCKER_DISK_BAKE
from labs.apparmor.vm import VM_IMAGE_TIMEOUT as VM_IMAGE_BUILD
from labs.cluster.apparmor_image import BUILD_TIMEOUT as NODE_IMAGE_BUILD

#: boots per guest run: a boot whose kernel reports a CPU stuck (labs.apparmor.vm.VmHung, about
#: 1 boot in 20 under TCG) is booted once more, so every boot timeout below counts twice
HANG_ATTEMPTS = 2

#: pytest, `qemu --version`, `docker inspect`s, copying the share, reading results
MARGIN = 120

#: one boot running guest/checks.py (measured: ~60-90 s)
CHECKS_BOOT = 300
CHECKS_TEST = VM_IMAGE_BUILD + HANG_ATTEMPTS * CHECKS_BOOT + MARGIN

#: kubeadm's control-plane health check under emulation (kubeadm's default is 4 min)
KUBEADM_CONTROL_PLANE = 600
#: boot, dockerd on the docker disk, the share, the rest of a guest script (and Python's imports)
GUEST_OVERHEAD = 300

#: inside the kubelet VM's guest (kubelet_node.sh), one after the other: the node container's
#: containerd, then the kubelet's static pod running; with GUEST_OVERHEAD they stay below
#: KUBELET_BOOT, so the guest says which step was slow (and writes node-diag.log) first
KUBELET_GUEST_LIMITS = {"NODE_WAIT": 240, "POD_WAIT": 420}
#: one boot running the AppArmor node's kubelet in the guest (docker disk already baked)
KUBELET_BOOT = 1200
KUBELET_TEST = VM_IMAGE_BUILD + NODE_IMAGE_BUILD + DOCKER_DISK_BAKE + HANG_ATTEMPTS * KUBELET_BOOT + MARGIN

#: what the learner host's guest program waits for, one after the other (limits.json):
#: ``kind create`` (kubeadm init included), the Ready wait after it, the default
#: ServiceAccount, and each pod of the lessons and of grading (the grader's own pod waits,
#: 60-90 s, times ``pod_wait_factor``: a capstone pod took longer than 90 s at stop 19)
GUEST_LIMITS = {"create_timeout": KUBEADM_CONTROL_PLANE + 300, "ready_wait": 300,
                "service_account_wait": 360, "pod_wait": 240, "pod_wait_factor": 3}
#: lessons 06 and 07, the hostile corpus and grading after the cluster is up (measured at
#: stop 19: 2257 s, of which grading the 12 submissions one by one 1429 s)
GUEST_WORK = 3000
#: one boot of the learner host; its guest waits end first, so guest.log names the slow step
LEARNER_BOOT = (GUEST_OVERHEAD + GUEST_LIMITS["create_timeout"] + GUEST_LIMITS["ready_wait"]
                + GUEST_LIMITS["service_account_wait"] + GUEST_WORK)
#: the learner host's guest logs the node every 90 s (its docker execs limited to 60 s each): this
#: long without a line, its userspace has stopped (stop 19: both vCPUs busy grading, no soft lockup)
LEARNER_SILENCE = 600
#: one boot only: a hang in it is reported with the facts the guest saved, not booted again
#: (its 40 minutes would repeat everything before the hang)
LEARNER_TEST = VM_IMAGE_BUILD + NODE_IMAGE_BUILD + DOCKER_DISK_BAKE + LEARNER_BOOT + MARGIN

#: the AppArmor node started the way kind starts one, on the host engine
NODE_START = 120
NODE_IMAGE_TEST = NODE_IMAGE_BUILD + NODE_START + MARGIN

#: inside the guest (worker_node.sh): the node container's containerd, then `kubeadm join`;
#: with GUEST_OVERHEAD they bound one boot's way to the join, so the guest names the slow step
WORKER_GUEST_LIMITS = {"NODE_WAIT": 240, "JOIN_WAIT": 900}
WORKER_JOIN_BOOT = sum(WORKER_GUEST_LIMITS.values()) + GUEST_OVERHEAD
#: the guest logs the node every 90 s: this long without a line, its userspace has stopped
WORKER_SILENCE = 600
#: the worker node (test_apparmor_worker_node.py): the control plane on the host, created and
#: made Ready natively (measured: about a minute), then the guest's node joined and Ready: a boot
#: that hangs on the way (stopped at most WORKER_SILENCE after its last line) is booted again
WORKER_HOST = {"create_timeout": 600, "ready_wait": 300,
               "join_wait": HANG_ATTEMPTS * WORKER_JOIN_BOOT + (HANG_ATTEMPTS - 1) * WORKER_SILENCE}
#: the lessons' and the grader's work on the node while the guest serves it
WORKER_WORK = 2400
#: the guest lives through the whole module: join, then every test's pods
WORKER_BOOT = WORKER_HOST["join_wait"] + WORKER_WORK
#: the first test builds what it needs cold, creates the control plane and waits for the join;
#: each later test is bounded by the boot (the guest's whole life), which also covers a test
#: whose guest hung: the node booted and joined again (join_wait), then the test once more
WORKER_TEST = (VM_IMAGE_BUILD + NODE_IMAGE_BUILD + DOCKER_DISK_BAKE + WORKER_HOST["create_timeout"]
               + WORKER_HOST["ready_wait"] + WORKER_BOOT + MARGIN)
