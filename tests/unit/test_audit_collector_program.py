"""Pure parts of the collector program (labs/images/collector/collector.py): cgroup path ->
container id for every runtime layout, netlink framing, record lines."""
import importlib.util
import json
import struct
from pathlib import Path

import pytest

PROGRAM = Path(__file__).resolve().parents[2] / "labs" / "images" / "collector" / "collector.py"
spec = importlib.util.spec_from_file_location("course_collector", PROGRAM)
collector = importlib.util.module_from_spec(spec)
spec.loader.exec_module(collector)

A = "a" * 63 + "1"
B = "0123456789abcdef" * 4
POD_UID = "6c5b9f0e-3f0d-4a52-9d77-0f2f3c1b2a10"


@pytest.mark.parametrize("text, expected", [
    # cgroup v1, Docker's cgroupfs driver (one line per controller)
    (f"12:pids:/docker/{A}\n11:memory:/docker/{A}\n1:name=systemd:/docker/{A}\n", [A]),
    # cgroup v2, Docker with the systemd driver
    (f"0::/system.slice/docker-{A}.scope\n", [A]),
    # containerd + systemd driver (a Kubernetes node)
    (f"0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{POD_UID.replace('-', '_')}"
     f".slice/cri-containerd-{B}.scope\n", [B]),
    # kubelet with the cgroupfs driver
    (f"5:cpu,cpuacct:/kubepods/besteffort/pod{POD_UID}/{B}\n", [B]),
    # a pod inside a kind node (the node is a Docker container), cgroup v1 host
    (f"9:pids:/docker/{A}/kubelet/kubepods/besteffort/pod{POD_UID}/{B}\n", [A, B]),
    # the same on a cgroup v2 host with systemd inside the node
    (f"0::/system.slice/docker-{A}.scope/kubelet.slice/kubelet-kubepods.slice/"
     f"kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod{POD_UID.replace('-', '_')}"
     f".slice/cri-containerd-{B}.scope\n", [A, B]),
    # host processes and malformed text
    ("0::/init.scope\n", []),
    ("12:pids:/\n1:name=systemd:/user.slice/user-0.slice/session-3.scope\n", []),
    ("garbage", []),
])
def test_container_ids_from_cgroup(text, expected):
    assert collector.container_ids_from_cgroup(text) == expected


def nlmsg(msg_type: int, payload: bytes) -> bytes:
    body = payload + b"\0"
    length = 16 + len(body)
    return struct.pack("=IHHII", length, msg_type, 0, 0, 0) + body + b"\0" * ((4 - length % 4) % 4)


def test_netlink_messages_split_and_strip():
    datagram = nlmsg(1326, b"audit(1.5:7): pid=1 syscall=2") + nlmsg(1300, b"audit(1.5:7): x=1")
    assert list(collector.netlink_messages(datagram)) == [
        (1326, b"audit(1.5:7): pid=1 syscall=2"), (1300, b"audit(1.5:7): x=1")]
    assert list(collector.netlink_messages(b"\x01\x00")) == []


def test_record_lines_attribute_pids_through_proc(tmp_path):
    (tmp_path / "4242").mkdir()
    (tmp_path / "4242" / "cgroup").write_text(f"12:pids:/docker/{A}\n")
    attributor = collector.Attributor(proc=str(tmp_path))
    datagram = (nlmsg(1326, b'audit(1795903484.561:2): pid=4242 comm="sh" arch=c000003e syscall=39 code=0x7ffc0000')
                + nlmsg(1326, b'audit(1795903484.561:3): pid=999 comm="gone" arch=c000003e syscall=39 code=0x7ffc0000')
                + nlmsg(1305, b"audit(1.0:1): op=set"))
    lines = [json.loads(line) for line in collector.record_lines(datagram, attributor)]
    assert [(e["pid"], e["container_id"]) for e in lines] == [(4242, A), (999, None)]
    assert lines[0]["raw"].startswith("type=SECCOMP msg=audit(1795903484.561:2): pid=4242")
    assert 999 not in attributor.cache      # an exited pid is not cached as "no container"


def test_real_cgroup_files_from_a_kind_pod_and_the_host(data_dir):
    # recorded on a cgroup v1 host: kube-apiserver in a pod of a kind node, and dockerd itself
    pod = collector.container_ids_from_cgroup((data_dir / "audit" / "cgroup-kind-pod-v1.txt").read_text())
    assert pod == ["4d696a06c5bda0eeaef9eabc516cf43d14da24c5e816c611927fe106e617b551",
                   "5cf4cc996ccf9de1e3b2c58065c01841930f70fc176ce7d0958151aff6ff48a3"]
    assert collector.container_ids_from_cgroup((data_dir / "audit" / "cgroup-host-v1.txt").read_text()) == []
