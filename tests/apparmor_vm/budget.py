"""Time budgets (seconds) of the AppArmor tier: every nested timeout sits below its test's.

Each slow step has its own timeout, sized for a 2-core machine about 3x slower than the one
it was measured on (the measured times are in clusters/apparmor-vm/README.md). A test's
pytest timeout is the sum of the steps it may have to run, cold (the session fixtures build
the VM image, the AppArmor node image and the docker disk in whichever test needs them
first), plus a margin for pytest and small commands. So an inner timeout always fires first
and its error names the step; pytest-timeout only fires if the arithmetic here is wrong.
"""
from labs.apparmor.node_image import BUILD_TIMEOUT as NODE_IMAGE_BUILD
from labs.apparmor.vm import BAKE_TIMEOUT as DOCKER_DISK_BAKE
from labs.apparmor.vm import VM_IMAGE_TIMEOUT as VM_IMAGE_BUILD

#: pytest, `qemu --version`, `docker inspect`s, copying the share, reading results
MARGIN = 120

#: one boot running guest/checks.py (measured: ~60-90 s); a hung boot is retried once
CHECKS_BOOT = 300
CHECKS_TEST = VM_IMAGE_BUILD + 2 * CHECKS_BOOT + MARGIN

#: one boot creating the kind cluster in the guest (docker disk already baked)
KIND_BOOT = 1500
#: inside the guest, one after the other: kubeadm's control-plane wait (kubeadm init), kind's
#: --wait for the node to be Ready, the probe pod's Ready wait. With the boot, dockerd start,
#: node start and the rest of the script (GUEST_OVERHEAD) they stay below KIND_BOOT, so the
#: guest says which step was slow (and writes node-diag.log) before the host gives up on it
KUBEADM_CONTROL_PLANE = 600
KIND_GUEST_LIMITS = {"KIND_WAIT": 240, "POD_WAIT": 360}
GUEST_OVERHEAD = 300
KIND_TEST = VM_IMAGE_BUILD + NODE_IMAGE_BUILD + DOCKER_DISK_BAKE + KIND_BOOT + MARGIN

#: the AppArmor node started the way kind starts one, on the host engine
NODE_START = 120
NODE_IMAGE_TEST = NODE_IMAGE_BUILD + NODE_START + MARGIN
