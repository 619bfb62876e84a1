"""Node operations without a cluster: the commands they build (run here by a real shell in a
temporary folder), which implementation a cluster gets, how the agent's pods are read."""
from __future__ import annotations

import ast
import subprocess
from pathlib import Path

import pytest

from labs.apparmor import nodes as aa
from labs.errors import LabError
from labs.nodeops import choose, choose_mode, image_ref, pull_policy, registry_step
from labs.nodeops.agent import NodeAgent, agent_manifest, agent_problems, pod_node, stdin_as_argument
from labs.nodeops.base import (
    PROFILES_DIR,
    NodeOps,
    list_dir_command,
    parse_listing,
    parse_swept,
    sweep_command,
    write_file_command,
)
from labs.nodeops.images import nodes_lacking
from labs.nodeops.kind import KindNodeOps
from labs.runner import CommandResult

ROOT = Path(__file__).resolve().parents[2]
AWKWARD = 'line "one" $HOME `x` \\n back\\slash\n{"a": [1, 2]}\n'


def sh(args: list[str], stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(args, input=stdin, capture_output=True, text=True, check=True)


def test_write_file_command_writes_stdin_exactly_and_makes_parents(tmp_path):
    target = tmp_path / "a" / "b" / "profile.json"
    sh(write_file_command(str(target)), AWKWARD)
    assert target.read_text() == AWKWARD and not Path(f"{target}.tmp").exists()


def test_the_agent_passes_stdin_as_an_argument_unchanged(tmp_path):
    target = tmp_path / "p.json"
    sh(stdin_as_argument(write_file_command(str(target)), AWKWARD))
    assert target.read_text() == AWKWARD
    assert stdin_as_argument(["ls"], None) == ["ls"]
    with pytest.raises(LabError, match="at most"):
        stdin_as_argument(["cat"], "x" * 100_001)


def test_listing_and_sweep_by_token(tmp_path):
    for name in ("grader-abc-profile.json", "grader-abc", "grader-abcd-other.json", "audit.json"):
        (tmp_path / name).write_text("{}")
    assert parse_listing(sh(list_dir_command(str(tmp_path))).stdout) == sorted(p.name for p in tmp_path.iterdir())
    assert sh(list_dir_command(str(tmp_path / "absent"))).stdout == ""
    swept = parse_swept(sh(sweep_command("abc", str(tmp_path))).stdout)
    assert sorted(swept["files"]) == ["grader-abc", "grader-abc-profile.json"] and swept["apparmor"] == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audit.json", "grader-abcd-other.json"]
    assert parse_swept(sh(sweep_command("abc", str(tmp_path / "absent"))).stdout) == {"files": [], "apparmor": []}
    with pytest.raises(LabError, match="bad grading token"):
        sweep_command("abc*; rm -rf /")


def test_parse_swept_reads_files_and_apparmor_lines():
    assert parse_swept("file grader-a-x\napparmor grader-a-p\nnoise\n") == {
        "files": ["grader-a-x"], "apparmor": ["grader-a-p"]}


@pytest.mark.parametrize("requested, api, local, expected", [
    ("auto", ["n1"], None, "agent"),                     # no docker here
    ("auto", ["n1", "n2"], {"n1"}, "agent"),             # one node is elsewhere
    ("auto", ["n1"], {"n1", "other"}, "kind"),
    ("auto", None, {"n1"}, "kind"),                      # API silent, kind containers run here
    ("auto", None, set(), "agent"),
    ("auto", [], {"n1"}, "agent"),
    ("kind", ["remote"], None, "kind"),
    ("agent", ["n1"], {"n1"}, "agent"),
])
def test_choose_mode(requested, api, local, expected):
    mode, why = choose_mode(requested, api, local)
    assert mode == expected and why
    if expected == "agent" and requested == "auto" and api and local:
        assert "n2" in why


def test_choose_mode_refuses_unknown():
    with pytest.raises(LabError, match="use one of"):
        choose_mode("ssh", [], set())


def test_image_prefix_names_images_and_pull_policy(monkeypatch):
    monkeypatch.delenv("COURSE_IMAGE_PREFIX", raising=False)
    assert (image_ref("course/nginx:latest"), pull_policy()) == ("course/nginx:latest", "Never")
    assert "--image-prefix" in registry_step("course/nginx:latest")
    monkeypatch.setenv("COURSE_IMAGE_PREFIX", "127.0.0.1:5000")
    assert (image_ref("course/nginx:latest"), pull_policy()) == ("127.0.0.1:5000/course/nginx:latest", "IfNotPresent")
    assert "docker push 127.0.0.1:5000/course/nginx:latest" in registry_step("course/nginx:latest")


def test_nodes_lacking_reads_the_kubelets_image_list():
    nodes = [{"metadata": {"name": "a"}, "status": {"images": [{"names": ["docker.io/course/nginx:latest",
                                                                         "docker.io/course/nginx@sha256:00"]}]}},
             {"metadata": {"name": "b"}, "status": {"images": [{"names": ["docker.io/other/course/nginx:latest2"]}]}},
             {"metadata": {"name": "c"}, "status": {}}]
    assert nodes_lacking(nodes, "course/nginx:latest") == ["b", "c"]


def test_a_node_whose_reported_image_list_is_full_is_not_called_lacking():
    """The kubelet reports only its 50 largest images: the lab image may be the 51st (seen)."""
    full = [{"names": [f"docker.io/library/big{i}:1"]} for i in range(50)]
    nodes = [{"metadata": {"name": "full"}, "status": {"images": full}},
             {"metadata": {"name": "short"}, "status": {"images": full[:49]}}]
    assert nodes_lacking(nodes, "course/nginx:latest") == ["short"]


def test_an_image_with_a_full_set_of_names_may_hide_the_lab_image():
    """The kubelet reports five names per image: pushes to registries add names (seen live)."""
    many = [{"names": [f"127.0.0.1:{port}/course/nginx@sha256:00" for port in range(5)]}]
    few = [{"names": ["127.0.0.1:1/course/nginx@sha256:00"]}]
    nodes = [{"metadata": {"name": "many"}, "status": {"images": many}},
             {"metadata": {"name": "few"}, "status": {"images": few}}]
    assert nodes_lacking(nodes, "course/nginx:latest") == ["few"]


def test_agent_manifest_mounts_only_the_seccomp_folder_and_securityfs(monkeypatch):
    monkeypatch.setenv("COURSE_IMAGE_PREFIX", "reg.example/")
    ds = agent_manifest(requests={"cpu": "64"})
    spec = ds["spec"]["template"]["spec"]
    assert sorted(v["hostPath"]["path"] for v in spec["volumes"]) == ["/sys/kernel/security",
                                                                      "/var/lib/kubelet/seccomp"]
    (container,) = spec["containers"]
    assert container["image"] == "reg.example/course/nginx:latest" and container["imagePullPolicy"] == "IfNotPresent"
    assert container["resources"] == {"requests": {"cpu": "64"}} and "privileged" not in container["securityContext"]
    assert ds["metadata"]["labels"]["course.seccomp-lab/managed"] == "true"
    assert not spec["automountServiceAccountToken"]


def _node(name: str, taints=()) -> dict:
    return {"metadata": {"name": name}, "spec": {"taints": list(taints)}}


def _pod(name: str, node: str | None, status: dict, scheduled_for: str | None = None) -> dict:
    term = {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [scheduled_for]}]}
    spec = {"nodeName": node} if node else {
        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]}}}}
    return {"metadata": {"name": name, "namespace": "course-node-agent"}, "spec": spec, "status": status}


RUNNING = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
           "containerStatuses": [{"name": "agent", "ready": True, "state": {"running": {}}}]}
UNSCHEDULABLE = {"phase": "Pending", "conditions": [{
    "type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/2 nodes: Insufficient cpu"}]}
NO_IMAGE = {"phase": "Pending", "containerStatuses": [{"name": "agent", "image": "reg/course/nginx:latest", "state": {
    "waiting": {"reason": "ErrImagePull", "message": "not found"}}}]}
CONTROL_PLANE = {"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"}


def test_pod_node_reads_name_or_daemonset_affinity():
    assert pod_node(_pod("a", "n1", {})) == "n1"
    assert pod_node(_pod("a", None, {}, scheduled_for="n2")) == "n2"
    assert pod_node({"spec": {}}) is None


def test_agent_problems_name_each_node_and_why():
    nodes = [_node("cp", [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]),
             _node("w1"), _node("w2"), _node("gpu", [{"key": "gpu", "value": "yes", "effect": "NoSchedule"}])]
    pods = [_pod("a", "cp", RUNNING), _pod("b", None, UNSCHEDULABLE, "w1"), _pod("c", "w2", NO_IMAGE)]
    ready, problems, final = agent_problems(nodes, pods, [CONTROL_PLANE])
    assert ready == {"cp": "a"} and final
    assert set(problems) == {"w1", "gpu", "w2"}
    assert "Insufficient cpu" in problems["w1"] and "gpu=yes:NoSchedule" in problems["gpu"]
    assert "reg/course/nginx:latest" in problems["w2"]


def test_agent_problems_wait_for_pods_still_coming():
    starting = {"phase": "Pending", "containerStatuses": [{"name": "agent", "state": {"waiting": {
        "reason": "ContainerCreating"}}}]}
    ready, problems, final = agent_problems([_node("w1"), _node("w2")], [_pod("a", "w1", starting)], [])
    assert (ready, problems, final) == ({}, {}, False)
    old = _pod("old", "w1", RUNNING)
    old["spec"]["containers"] = [{"name": "agent", "image": "course/nginx:latest"}]
    assert agent_problems([_node("w1")], [old], [], "reg/course/nginx:latest") == ({}, {}, False)
    assert agent_problems([_node("w1")], [old], [], "course/nginx:latest") == ({"w1": "old"}, {}, True)


class FakeAgent(NodeAgent):
    """The agent with exec replaced: records what would run in which pod."""

    def __init__(self):
        super().__init__("default")
        self._pods = {"n1": "agent-x"}
        self.calls: list[list[str]] = []

    def nodes(self):
        return ["n1"]


def test_agent_runs_commands_in_the_pod_on_that_node(monkeypatch):
    import labs.pods  # slow import: the kubernetes client

    agent = FakeAgent()

    def fake_exec(pod, namespace, command, *, container, config, timeout):
        agent.calls.append([pod, namespace, container, *command])
        return labs.pods.ExecResult(command, 0, "grader-t1-a.json\n", "")
    monkeypatch.setattr(labs.pods, "exec_in_pod", fake_exec)
    agent.write_file("n1", f"{PROFILES_DIR}/x.json", "{}")
    assert agent.calls[0][:3] == ["agent-x", "course-node-agent", "agent"]
    assert agent.calls[0][-5:] == write_file_command(f"{PROFILES_DIR}/x.json") and "{}" in agent.calls[0]
    assert agent.token_files("t1", "n1") == ["grader-t1-a.json"]
    assert agent.shown("n1", ["ls"]) == "kubectl exec -n course-node-agent agent-x -- ls"


def test_apparmor_load_through_the_agent_builds_the_parser_command(monkeypatch):
    """AppArmor cannot be loaded on this machine's kernel; what reaches the agent is checked here."""
    calls = []

    class Recorder(NodeOps):
        mode = "agent"

        def run(self, node, args, *, input=None, check=True, timeout=120):
            calls.append((node, args, input))
            out = "enabled=Y\nsecurityfs=yes\nparser=yes\n" if args[:2] == ["sh", "-c"] else ""
            return CommandResult(" ".join(args), 0, out, "")

    monkeypatch.setitem(choose._CHOSEN, ("default", "auto"), Recorder())
    monkeypatch.delenv("COURSE_NODE_OPS", raising=False)
    monkeypatch.setattr(aa, "_remember", lambda name: None)
    aa._load("n1", "profile grader-t1-p {}\n", "grader-t1-p", "complain")
    assert calls[-1] == ("n1", ["apparmor_parser", "--replace", "--skip-cache", "--Complain"],
                         "profile grader-t1-p {}\n")
    assert [c[1][0] for c in calls] == ["sh", "cat", "apparmor_parser"]   # support probe, ownership, load


def test_kind_ops_show_the_docker_exec_a_learner_types():
    kind = KindNodeOps("default")
    assert kind.command("n1", ["ls"]) == ["docker", "exec", "-i", "n1", "ls"]
    assert kind.shown("n1", ["apparmor_parser", "-r"], stdin="p.profile") == \
        "docker exec -i n1 apparmor_parser -r < p.profile"


@pytest.mark.parametrize("path", ["grader/checks/live.py", "grader/__main__.py", "grader/context.py",
                                  "grader/bundle.py"])
def test_the_graders_cluster_code_imports_no_kubernetes_and_runs_no_docker(path):
    tree = ast.parse((ROOT / path).read_text())
    imported = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)] + \
               [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert not [m for m in imported if m and m.split(".")[0] == "kubernetes"]
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.Constant) and n.value == "docker"]
