"""Podman lane (issue 10 §1): the course on rootful Podman through ``labs.engine``.

``COURSE_ENGINE=podman`` makes every course module run ``podman``; kind runs on it with
``KIND_EXPERIMENTAL_PROVIDER=podman``. The lane checks the audit collector and one lab
container under a profile, then a kind cluster of its own (never ``seccomp-course``) and one
pod under a Localhost profile. The course images are copied from this machine's Docker store
(``docker save | podman load``), so the lane needs both engines; without Podman it is skipped.
"""
from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml

from labs.cluster import get_config
from labs.cluster.versions import NODE_IMAGE
from labs.names import NODE_PROFILES_DIR
from labs.paths import tools_dir
from labs.runner import run

CLUSTER = "seccomp-course-podman"
IMAGES = ["course/nginx:latest", "course/collector:latest"]
SHIM = Path("/usr/local/bin/runc-capfix")
CAP_SYS_RESOURCE = 24
BLOCK_MKDIR = {"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}


def _podman_answers() -> bool:
    return shutil.which("podman") is not None and subprocess.run(
        ["podman", "info"], capture_output=True, timeout=120).returncode == 0


pytestmark = pytest.mark.skipif(not _podman_answers(),
                                reason="no rootful Podman answers here (Debian: apt-get install podman)")


def _lacks_sys_resource() -> bool:
    bounding = next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("CapBnd"))
    return not int(bounding.split()[1], 16) >> CAP_SYS_RESOURCE & 1


def _containers_conf(folder: Path) -> Path | None:
    """Where the bounding set lacks CAP_SYS_RESOURCE (as on our CI machines) Podman's rootful
    defaults fail: its rlimits (nofile 1048576) exceed the hard limits, and --privileged (kind
    nodes) cannot apply every capability. The conf sets rlimits within the hard limits (nproc
    also within kernel.pid_max, which Podman's own processes get) and uses the course's runc
    shim, as dockerd does there (`make engine`)."""
    if not _lacks_sys_resource():
        return None
    if not SHIM.exists():
        pytest.skip(f"this host lacks CAP_SYS_RESOURCE and {SHIM} is missing (run `make engine`)")

    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    nproc = min(resource.getrlimit(resource.RLIMIT_NPROC)[1], int(Path("/proc/sys/kernel/pid_max").read_text()))
    conf = folder / "containers.conf"
    conf.write_text(textwrap.dedent(f"""\
        [containers]
        default_ulimits = ["nofile={nofile}:{nofile}", "nproc={nproc}:{nproc}"]
        [engine]
        runtime = "runc-capfix"
        [engine.runtimes]
        runc-capfix = ["{SHIM}"]
        """))
    return conf


@pytest.fixture(scope="module")
def podman_env(tmp_path_factory):
    """The environment of a course process on Podman, with the course images in its store."""
    env = dict(os.environ, COURSE_ENGINE="podman", KIND_EXPERIMENTAL_PROVIDER="podman")
    conf = _containers_conf(tmp_path_factory.mktemp("podman"))
    if conf:
        env["CONTAINERS_CONF"] = str(conf)
    if shutil.which("docker") is None:
        pytest.skip("the lane copies the course images from Docker's store and this machine has no docker")
    for image in IMAGES:
        if subprocess.run(["podman", "image", "exists", image], env=env).returncode != 0:
            run(["sh", "-c", f"docker save {image} | podman load"], env=env, timeout=600,
                fix="build the images first: `make images`")
    return env


def test_collector_and_a_lab_container_under_a_profile_on_podman(podman_env):
    """The docker tier's core on Podman: a container under the audit profile is recorded by
    the collector (its container id found from the pid), one under a blocking profile is denied."""
    script = textwrap.dedent("""
        import json, sys
        from labs import engine
        from labs.audit import AuditCollector
        from labs.docker_lab import LabContainer
        from labs.seccomp import audit_profile
        out = {"engine": engine.binary()}
        with AuditCollector() as collector:
            with LabContainer.start("course/nginx:latest", seccomp=audit_profile(), publish={80: 0}) as box:
                out["served"] = len(box.http_get(80))
                collector.wait_quiet()
                out["syscalls"] = sorted(collector.syscalls([box.id]))
        with LabContainer.start("course/nginx:latest", seccomp=json.loads(sys.argv[1]),
                                command=["sleep", "600"]) as box:   # nginx itself needs mkdir
            denied = box.exec(["mkdir", "/tmp/x"])
            out["mkdir"] = [denied.returncode, denied.stderr]
        print(json.dumps(out))
        """)
    result = run([sys.executable, "-c", script, json.dumps(BLOCK_MKDIR)], env=podman_env, timeout=300)
    out = json.loads(result.stdout.splitlines()[-1])
    assert out["engine"] == "podman" and out["served"] > 0
    assert {"accept4", "sendfile"} & set(out["syscalls"]), out["syscalls"]
    assert out["mkdir"][0] != 0 and "Operation not permitted" in out["mkdir"][1]


@pytest.mark.slow
def test_kind_on_podman_runs_a_pod_under_a_localhost_profile(podman_env, tmp_path):
    """kind's Podman provider creates the course's offline node; a pod's Localhost profile
    written through `podman exec` denies mkdir."""
    if subprocess.run(["docker", "image", "inspect", NODE_IMAGE], capture_output=True).returncode != 0:
        pytest.skip(f"the node image {NODE_IMAGE} is not built here (make node-image)")
    if subprocess.run(["podman", "image", "exists", NODE_IMAGE], env=podman_env).returncode != 0:
        run(["sh", "-c", f"docker save {NODE_IMAGE} | podman load"], env=podman_env, timeout=900)
    kind, kubectl = str(tools_dir() / "kind"), str(tools_dir() / "kubectl")
    kubeconfig = str(tmp_path / "kubeconfig")
    config = tmp_path / "kind.yaml"          # the course's file for the offline node, another name
    config.write_text(yaml.safe_dump({**yaml.safe_load(get_config("default").kind_config_file(NODE_IMAGE).read_text()),
                                      "name": CLUSTER}))
    node = f"{CLUSTER}-control-plane"
    try:
        run([kind, "create", "cluster", "--name", CLUSTER, "--image", f"localhost/{NODE_IMAGE}",
             "--config", str(config), "--kubeconfig", kubeconfig], env=podman_env, timeout=900)
        run([kind, "load", "docker-image", IMAGES[0], "--name", CLUSTER], env=podman_env, timeout=600)
        run(["podman", "exec", "-i", node, "sh", "-c", f"mkdir -p {NODE_PROFILES_DIR} && "
             f"cat > {NODE_PROFILES_DIR}/block-mkdir.json"], input=json.dumps(BLOCK_MKDIR), env=podman_env)
        pod = tmp_path / "pod.json"
        pod.write_text(json.dumps(_pod()))
        kube = [kubectl, "--kubeconfig", kubeconfig]
        run([*kube, "wait", "--for=create", "serviceaccount/default", "--timeout=120s"], timeout=180)
        run([*kube, "apply", "-f", str(pod)])
        run([*kube, "wait", "--for=condition=Ready", "pod/block-mkdir", "--timeout=300s"], timeout=360)
        deadline = time.monotonic() + 60       # Ready means started: its lines may come a moment later
        logs = run([*kube, "logs", "block-mkdir"]).stdout
        while "Seccomp:" not in logs and time.monotonic() < deadline:
            time.sleep(1)
            logs = run([*kube, "logs", "block-mkdir"]).stdout
        assert "Operation not permitted" in logs and "mkdir-rc=1" in logs and "Seccomp:\t2" in logs
    finally:
        run([kind, "delete", "cluster", "--name", CLUSTER], env=podman_env, check=False, timeout=300)


def _pod() -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "block-mkdir"},
            "spec": {"containers": [{
                "name": "c", "image": IMAGES[0], "imagePullPolicy": "Never",
                "command": ["sh", "-c", "mkdir /tmp/x; echo mkdir-rc=$?; grep Seccomp: /proc/self/status; "
                                        "sleep 3600"],
                "securityContext": {"seccompProfile": {"type": "Localhost",
                                                       "localhostProfile": "profiles/block-mkdir.json"}}}]}}
