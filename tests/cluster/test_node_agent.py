"""The node agent on the course cluster: its faults, and lab images from a registry.

- An agent that cannot be scheduled (here: asks for more CPU than the node has, a real
  scheduler refusal that leaves the shared cluster's node untouched) is reported with the
  node's name and what to do; grading then says "not checked", never "wrong".
- `--image-prefix`: the lab image is pushed to distribution's registry on 127.0.0.1 and the
  cluster pulls it from there. A kind node's containerd pulls `127.0.0.1:PORT/...` over plain
  HTTP from the node's own loopback (it treats localhost registries as insecure), which is not
  the host's; so the test serves the same registry storage inside the node's network namespace
  (a second registry process, `docker run --network container:<node>`), and the name the
  instructor pushed is the name the node pulls. Before the push, grading stops at once with a
  message naming the image and the push step.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from local_registry import QUIET_TELEMETRY, LocalRegistry, registry_binary

import grader
from grader.context import make_token
from grader.exercises.common import EXERCISES_DIR
from labs.apparmor import load_profile_on_nodes, unload_profile_on_nodes
from labs.cluster.nodes import parse_capabilities
from labs.errors import CapabilityMissing
from labs.nodeops import choose
from labs.nodeops.agent import NodeAgent, NodeAgentUnavailable
from labs.nodeops.kind import KindNodeOps
from labs.runner import run

ROOT = Path(__file__).resolve().parents[2]
EXERCISE = "04-least-privilege-nginx"
SOLUTION = EXERCISES_DIR / EXERCISE / "solution"
LAB_IMAGE = "course/nginx:latest"


@pytest.fixture(scope="module")
def agent(default_cluster):
    deployed = NodeAgent("default")
    deployed.ensure()
    yield deployed
    deployed.remove()


def test_an_agent_that_cannot_schedule_names_the_node_and_grading_is_not_marked_wrong(default_cluster, monkeypatch):
    starved = NodeAgent("default", namespace="course-node-agent-fault", requests={"cpu": "64"})
    try:
        with pytest.raises(NodeAgentUnavailable) as info:
            starved.ensure(timeout=120)
        node = default_cluster.nodes[0]
        assert list(info.value.nodes) == [node] and "Insufficient cpu" in info.value.nodes[node]
        assert node in info.value.message and "free capacity" in info.value.fix
        monkeypatch.setenv("COURSE_NODE_OPS", "agent")
        monkeypatch.setitem(choose._CHOSEN, ("default", "agent"), starved)
        report = grader.grade(EXERCISE, SOLUTION, token=make_token("starved-agent"))
    finally:
        starved.remove()
    live = [c for c in report.checks if c.live]
    assert live and all(c.status == "not_checked" and node in c.message for c in live), str(report)
    assert all(c.status == "passed" for c in report.checks if not c.live), str(report)


@pytest.fixture(scope="module")
def registry(default_cluster):
    """A registry on the host's 127.0.0.1 (for `docker push`) whose storage a second registry
    serves on the same address inside the node's network namespace (for the node's pulls)."""
    node = default_cluster.nodes[0]
    with LocalRegistry() as served:
        folder = Path(served._folder.name)
        (folder / "data").mkdir(exist_ok=True)
        (folder / "node.yml").write_text(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: /data\n"
            "  maintenance:\n    readonly:\n      enabled: true\n    uploadpurging:\n      enabled: false\n"
            f"http:\n  addr: {served.address}\n")
        env = [arg for key, value in QUIET_TELEMETRY.items() for arg in ("-e", f"{key}={value}")]
        container = run(["docker", "run", "-d", "--rm", "--network", f"container:{node}", *env,
                         "-v", f"{folder / 'data'}:/data:ro", "-v", f"{registry_binary()}:/registry:ro",
                         "-v", f"{folder / 'node.yml'}:/config.yml:ro", LAB_IMAGE, "/registry", "serve",
                         "/config.yml"]).stdout.strip()
        try:
            yield served
        finally:
            ref = f"{served.address}/{LAB_IMAGE}"
            run(["docker", "rm", "-f", container], check=False)
            # only this name: `crictl rmi` would drop every tag of the image, the kind-loaded one too
            run(["docker", "exec", node, "ctr", "-n", "k8s.io", "images", "rm", ref], check=False)
            run(["docker", "rmi", ref], check=False)


def grade_with_prefix(tmp_path: Path, prefix: str) -> subprocess.CompletedProcess:
    (tmp_path / "subs").mkdir(exist_ok=True)
    if not (tmp_path / "subs" / "ann").exists():
        subprocess.run(["cp", "-r", str(SOLUTION), str(tmp_path / "subs" / "ann")], check=True)
    return subprocess.run([sys.executable, "-m", "grader", "grade", str(tmp_path / "subs"), "--exercise", EXERCISE,
                           "--out", str(tmp_path / "out"), "--nodes", "agent", "--image-prefix", prefix],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_a_registry_without_the_lab_image_stops_grading_before_any_submission(agent, registry, tmp_path):
    done = grade_with_prefix(tmp_path, f"{registry.address}/")
    assert done.returncode == 2, done.stderr[-2000:]
    assert f"{registry.address}/{LAB_IMAGE}" in done.stderr and f"docker push {registry.address}/{LAB_IMAGE}" \
        in done.stderr, done.stderr
    assert done.stderr.count("cannot grade live") == 1 and not (tmp_path / "out" / "ann").exists()


def test_grading_with_an_image_prefix_pulls_the_lab_image_from_the_registry(agent, registry, default_cluster,
                                                                             tmp_path):
    ref = f"{registry.address}/{LAB_IMAGE}"
    run(["docker", "tag", LAB_IMAGE, ref])
    run(["docker", "push", ref], timeout=600)
    done = grade_with_prefix(tmp_path, f"{registry.address}/")
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads((tmp_path / "out" / "ann" / "report.json").read_text())
    assert report["score"] == report["max_score"] == report["possible"], report
    on_node = run(["docker", "exec", default_cluster.nodes[0], "crictl", "images", "-o", "json"]).stdout
    assert ref in {tag for image in json.loads(on_node)["images"] for tag in image.get("repoTags") or []}


def test_the_agent_sees_the_same_kernel_as_docker_exec(agent, default_cluster, monkeypatch):
    kind, node = KindNodeOps("default"), default_cluster.nodes[0]
    through_agent, through_docker = (parse_capabilities(node, ops.probe(node)) for ops in (agent, kind))
    assert through_agent.seccomp and through_docker.seccomp
    assert (through_agent.apparmor_lsm, through_agent.securityfs_apparmor) == \
        (through_docker.apparmor_lsm, through_docker.securityfs_apparmor)
    if not through_agent.apparmor_lsm:
        pytest.skip("this machine's kernel has no AppArmor LSM: loading a profile through the agent is "
                    "checked by its command only (tests/unit/test_nodeops.py)")
    monkeypatch.setenv("COURSE_NODE_OPS", "agent")
    monkeypatch.setitem(choose._CHOSEN, ("default", "agent"), agent)
    profile = "profile course-agent-probe flags=(complain) {\n  file,\n}\n"
    if not through_agent.apparmor_parser:   # the lab image has no parser: said so, nothing loaded
        with pytest.raises(CapabilityMissing, match="apparmor_parser is not installed"):
            load_profile_on_nodes(profile, nodes=[node])
        return
    assert load_profile_on_nodes(profile, nodes=[node]) == [node]
    unload_profile_on_nodes("course-agent-probe", nodes=[node])
