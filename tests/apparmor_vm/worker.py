"""A cluster whose control plane runs on the host and whose AppArmor node runs in the QEMU guest.

Why: under software emulation a whole cluster in the guest takes 44 minutes on a quiet 2-core
machine and does not start on a slower one (clusters/apparmor-vm/README.md). Only the node needs
the AppArmor kernel: the API server, etcd, the controller manager and everything the course's
code does from the learner's side (lessons' helpers, the grader) run natively on the host, with
the guest's kubelet joined over QEMU's restricted user network (labs.apparmor.vm.VmNetwork):

- guest -> API server: the guest's ``API_ADDRESS:6443`` is relayed to the control plane's
  published loopback port; the node's /etc/hosts names the control plane there, which is the
  name kubeadm's cluster-info and the API server's certificate carry;
- API server -> kubelet (exec, logs, port-forward): the node advertises the kind network's
  gateway address (a dummy interface in the guest), where QEMU listens on the host and forwards
  to the guest's port 10250.

:class:`WorkerNode` starts the guest in a thread, waits for the node to be Ready and runs
commands in the guest (``guest(...)``, through files in the 9p share) for what only its kernel
knows: the loaded profiles, a process's label, the audit collector. When the emulated node hangs
after it was Ready (a soft lockup under TCG: two runc processes spinning on both vCPUs, stop 24),
:meth:`WorkerNode.abort_on_hang` ends the test that uses it at once, and :meth:`WorkerNode.revive`
boots and joins the node again.
"""
from __future__ import annotations

import contextlib
import itertools
import shutil
import signal
import threading
import time
import warnings
from pathlib import Path

import yaml

from labs.apparmor.vm import VmHung, restore_share
from labs.apparmor.vm_network import VmNetwork
from labs.cluster import ensure_cluster, kubectl, load_images
from labs.cluster.configs import ClusterConfig, register_config
from labs.errors import LabError
from labs.nodeops import forget
from labs.nodeops.agent import AGENT_NAMESPACE
from labs.paths import REPO_ROOT
from labs.runner import run

GUEST = Path(__file__).resolve().parent / "guest"
CONFIG = "apparmor-worker"
CLUSTER_NAME = "seccomp-course-apparmor-worker"
CONTROL_PLANE = f"{CLUSTER_NAME}-control-plane"
#: the node's name: the guest's hostname (init.sh), which the node container shares
NODE = "course-apparmor-vm"
#: where the guest reaches the API server (any address of QEMU's user network but its own)
API_ADDRESS = "10.0.2.100"
KUBELET_PORT = 10250
#: the images the node's pods use (the grader's, the agent's and the lessons' nginx, lesson 07's
#: client), already in its containerd: the docker disk's node-var (conftest's node_disk)
NODE_IMAGES = ("course/nginx:latest", "course/tools:latest")


def host_cluster(state: Path, images: list[str], *, create_timeout: float, ready_timeout: float):
    """The control plane only, created by the course's own ``ensure_cluster``, kept free of pods:
    every pod of the lessons and the grader must land on the AppArmor node. ``images`` are
    loaded into it for the node agent, which runs on every node."""
    config = state / "apparmor-worker.yaml"
    config.write_text(yaml.safe_dump({"kind": "Cluster", "apiVersion": "kind.x-k8s.io/v1alpha4",
                                      "name": CLUSTER_NAME, "nodes": [{"role": "control-plane"}]}))
    register_config(ClusterConfig(CONFIG, config))
    ensure_cluster(CONFIG, timeout=ready_timeout, create_timeout=create_timeout)
    load_images(images, CONFIG)
    kubectl(["taint", "nodes", CONTROL_PLANE, "node-role.kubernetes.io/control-plane=:NoSchedule", "--overwrite"],
            config=CONFIG)


def _kind_gateway() -> str:
    """The kind network's IPv4 gateway: the host's address as the control plane's container sees it."""
    configs = run(["docker", "network", "inspect", "kind", "-f",
                   "{{range .IPAM.Config}}{{.Gateway}} {{end}}"]).stdout.split()
    return next(address for address in configs if "." in address)


class GuestHung(BaseException):
    """Raised in the main thread when the guest hangs while a test uses it. A BaseException, as
    pytest-timeout's is: no ``except Exception`` in the code under test may swallow it and go on
    waiting for a node that is gone."""


def join_config(token: str, node_ip: str) -> dict:
    """kubeadm's JoinConfiguration for the guest's node, with emulation's patience."""
    wait = "15m0s"
    return {"apiVersion": "kubeadm.k8s.io/v1beta4", "kind": "JoinConfiguration",
            "discovery": {"bootstrapToken": {"apiServerEndpoint": f"{CONTROL_PLANE}:6443", "token": token,
                                             "unsafeSkipCAVerification": True}},
            "nodeRegistration": {"name": NODE, "criSocket": "unix:///run/containerd/containerd.sock",
                                 "taints": [], "kubeletExtraArgs": [{"name": "node-ip", "value": node_ip}]},
            "timeouts": {"discovery": wait, "tlsBootstrap": wait, "kubeletHealthCheck": wait}}


class WorkerNode:
    """The guest joined to the host's control plane; start it with :meth:`start`, end with :meth:`stop`."""

    def __init__(self, share: Path, boot, vm_image, disk, *, boot_timeout: float, silent_after: float, announce):
        self.share, self._boot, self._vm_image, self._disk = share, boot, vm_image, disk
        self.announce = announce
        self.boot_timeout, self.silent_after = boot_timeout, silent_after
        self._thread: threading.Thread | None = None
        self.vm = None
        self.error: BaseException | None = None
        self.ready = False
        self._guarded = False
        self._numbers = itertools.count(1)

    def write_share(self, node_image: str, images: list[str], limits: dict[str, int]) -> None:
        token = run(["docker", "exec", CONTROL_PLANE, "kubeadm", "token", "create", "--ttl", "3h"]).stdout.strip()
        self.node_ip = _kind_gateway()
        host, port = run(["docker", "port", CONTROL_PLANE, "6443/tcp"]).stdout.split()[0].rsplit(":", 1)
        self.network = VmNetwork(to_guest=((self.node_ip, KUBELET_PORT, KUBELET_PORT),),
                                 to_host=((API_ADDRESS, 6443, host, int(port)),))
        share = self.share
        (share / "node-image").write_text(node_image)
        (share / "images").write_text("\n".join(images) + "\n")
        (share / "limits").write_text("".join(f"{k}={v}\n" for k, v in limits.items()))
        (share / "network").write_text(f"API_ADDRESS={API_ADDRESS}\nAPI_NAME={CONTROL_PLANE}\nNODE_IP={self.node_ip}\n")
        (share / "join.yaml").write_text(yaml.safe_dump(join_config(token, self.node_ip)))
        (share / "requests").mkdir(exist_ok=True)
        shutil.copy(GUEST / "worker_node.sh", share / "guest.sh")
        for name in ("docker_up.sh", "node_watch.py", "node_watch.sh", "collect.py"):
            shutil.copy(GUEST / name, share / name)

    def start(self, attempts: int) -> None:
        """Boot the guest in a thread. A boot that hangs before the node is Ready (a soft lockup
        under TCG, seen about once in 20 boots, also on this 2-core machine at stop 21) is booted
        again, up to ``attempts`` boots, with a warning; a hang once tests use the node ends this
        guest (:meth:`hung`): :meth:`revive` boots it again."""
        self._share_before, self._attempts = set(self.share.rglob("*")), attempts
        self._boot_thread()

    def _boot_thread(self) -> None:
        def boot():
            for attempt in range(1, self._attempts + 1):
                try:
                    self.vm = self._boot(self._vm_image, self.share, disks=(self._disk.path,), memory_mb=4096,
                                         timeout=self.boot_timeout, attempts=1, silent_after=self.silent_after,
                                         follow=("guest.log", "node-watch.log"), network=self.network,
                                         read_only={"src": REPO_ROOT})
                    return
                except VmHung as exc:
                    if self.ready or attempt == self._attempts:
                        self.error = exc
                        self._interrupt_test()
                        return
                    warnings.warn(f"the AppArmor worker node's boot hung before it joined and was booted again; "
                                  f"console tail: {exc.output[-1500:]!r}", stacklevel=1)
                    self._forget_node()
                except BaseException as exc:  # noqa: BLE001 - reported by wait_ready and stop
                    self.error = exc
                    return
        self._thread = threading.Thread(target=boot, name="apparmor-worker-vm", daemon=True)
        self._thread.start()

    def _forget_node(self) -> None:
        """Make the next boot start as the first did: the share as it was, and no Node object or
        pod of the old boot in the API (kubeadm refuses to join a name that is Ready)."""
        restore_share(self.share, self._share_before)
        kubectl(["delete", "node", NODE, "--ignore-not-found", "--wait=false"], config=CONFIG, check=False, timeout=60)
        kubectl(["delete", "pods", "--all-namespaces", "--field-selector", f"spec.nodeName={NODE}", "--force",
                 "--grace-period=0", "--wait=false"], config=CONFIG, check=False, timeout=60)

    def hung(self) -> bool:
        """The guest hung after the node was Ready (and was stopped)."""
        return self.ready and isinstance(self.error, VmHung)

    @contextlib.contextmanager
    def abort_on_hang(self):
        """Within this block (in the main thread), a hang of the guest raises :class:`GuestHung`
        at once, the way pytest-timeout interrupts a test: the grader's and the lessons' waits on
        the node's pods would otherwise each run to their own timeout."""
        def interrupt(signum, frame):
            if self._guarded:
                self._guarded = False
                raise GuestHung(f"the AppArmor node's guest hung while this test used it\n{self.why_stopped()}")
        previous = signal.signal(signal.SIGUSR1, interrupt)
        self._guarded = True
        try:
            if self.hung():
                raise GuestHung(f"the AppArmor node's guest had hung\n{self.why_stopped()}")
            yield
        finally:
            self._guarded = False
            signal.signal(signal.SIGUSR1, previous)

    def _interrupt_test(self) -> None:
        if self._guarded:
            signal.pthread_kill(threading.main_thread().ident, signal.SIGUSR1)

    def revive(self, when: str, timeout: float) -> None:
        """Boot a hung guest again and wait until its node is Ready, said out loud in the warnings
        summary with the hung console. The node's state (loaded profiles, pods) is gone; its
        images are on the docker disk."""
        warnings.warn(f"the AppArmor node's guest hung {when} and was booted again:\n{self.why_stopped()[-4000:]}",
                      stacklevel=2)
        self.announce(f"the guest hung {when}: booting the AppArmor node again")
        if self._thread is not None:
            self._thread.join(timeout=60)
        self.error, self.vm, self.ready = None, None, False
        self._forget_node()
        self._boot_thread()
        seconds = self.wait_ready(timeout)
        forget()   # the node agent's pod on the new node
        self.announce(f"the AppArmor node is Ready again after {seconds:.0f}s")

    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def log(self, name: str = "guest.log") -> str:
        path = self.share / name
        return path.read_text(errors="replace") if path.exists() else ""

    def why_stopped(self) -> str:
        stopped = f"the guest stopped: {self.error}" if self.error else (
            f"the guest exited {self.vm.exit_status}" if self.vm else "the guest is still running")
        return (f"{stopped}\n== guest.log (tail)\n{self.log()[-3000:]}\n== node-watch.log (tail)\n"
                f"{self.log('node-watch.log')[-2500:]}\n== node-diag.log\n{self.log('node-diag.log')[-3000:]}")

    def wait_ready(self, timeout: float) -> float:
        """Seconds until the API lists the node Ready and the guest has found the images in the node;
        AssertionError with the guest's logs otherwise."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if "STEP images-present" in self.log():
                ready = kubectl(["get", "node", NODE, "-o", "jsonpath={.status.conditions[?(@.type=='Ready')].status}"],
                                config=CONFIG, check=False, timeout=60)
                if ready.ok and ready.stdout.strip() == "True":
                    self.ready = True
                    return round(time.monotonic() - started, 1)
            if not self.running():
                break
            time.sleep(5)
        raise AssertionError(f"the AppArmor node did not become Ready in {timeout:.0f}s\n{self.why_stopped()}")

    def guest(self, script: str, timeout: float = 300) -> str:
        """Run ``script`` with sh in the guest (as root); its output. LabError on a non-zero exit."""
        number = next(self._numbers)
        requests = self.share / "requests"
        pending = requests / f"{number}.tmp"
        pending.write_text(script)
        pending.rename(requests / f"{number}.sh")
        answer = requests / f"{number}.rc"
        deadline = time.monotonic() + timeout
        while not answer.exists():
            if time.monotonic() > deadline or not self.running():
                raise AssertionError(f"the guest did not answer request {number} ({script[:80]!r}) "
                                     f"in {timeout:.0f}s\n{self.why_stopped()}")
            time.sleep(0.5)
        output = (requests / f"{number}.out").read_text(errors="replace")
        status = int(answer.read_text())
        if status != 0:
            raise LabError(f"in the guest, `{script[:120]}` exited {status}: {output[-1500:]}",
                           fix="read the guest's output above")
        return output

    def diagnosis(self) -> str:
        """The guest's own diagnosis of the node (node_watch.sh's ``diagnose``: containers, the
        kubelet's and containerd's last lines, the pods), for a failure's message."""
        try:
            self.guest(f"SHARE=/mnt/course NODE={NODE}; . $SHARE/node_watch.sh; diagnose", timeout=300)
        except (AssertionError, LabError) as exc:
            return f"(the guest could not diagnose the node: {exc})"
        return f"== node-diag.log\n{self.log('node-diag.log')}"

    def pods_on_node(self) -> list[str]:
        """``namespace/name`` of the pods bound to the node, the node agent's left out."""
        listed = kubectl(["get", "pods", "--all-namespaces", "--field-selector", f"spec.nodeName={NODE}", "-o",
                          "jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}{'\\n'}{end}"],
                         config=CONFIG, timeout=60).stdout.split()
        return [pod for pod in listed if not pod.startswith(f"{AGENT_NAMESPACE}/")]

    def wait_idle(self, timeout: float) -> list[str]:
        """Wait until the pods of earlier work are gone from the node; the ones still there after
        ``timeout``. Why: under emulation a deleted namespace's pods take a minute or more to
        stop, and a test that starts its pods meanwhile measures the teardown, not its claim."""
        deadline = time.monotonic() + timeout
        while (left := self.pods_on_node()) and time.monotonic() < deadline and self.running():
            time.sleep(5)
        return left

    def stop(self) -> None:
        """Ask the guest to power off and wait for it (the boot's own timeout bounds the wait)."""
        (self.share / "stop").write_text("")
        if self._thread is not None:
            self._thread.join(timeout=300)
