"""Node operations on any cluster: a small DaemonSet (the node agent) reached through the API.

Why: on a real cluster the grader holds a kubeconfig, not a shell on the nodes, and Localhost
seccomp profiles must still be files on every node's disk. The agent's pods mount exactly the
kubelet's seccomp folder and securityfs (AppArmor) from their node; every operation is an exec
into the pod on the right node (``kubectl exec``, here the client's exec stream), so no Docker
and no node login are needed. It lives in its own namespace and stays for the next grading
run until ``remove()`` (``python -m grader cleanup``).
"""
from __future__ import annotations

import copy
import shlex
import time
from pathlib import Path

from ..errors import CommandError, EnvironmentProblem, LabError, WorkloadFailed
from ..images import NGINX_IMAGE
from ..pod_status import pod_outcome
from ..runner import CommandResult
from .base import NodeCluster, NodeOps
from .images import image_prefix, image_ref, pull_policy, registry_step

__all__ = ["AGENT_NAMESPACE", "AGENT_LABEL", "NodeAgent", "NodeAgentUnavailable", "agent_manifest",
           "stdin_as_argument", "pod_node", "agent_problems", "MAX_INPUT"]

AGENT_NAMESPACE = "course-node-agent"
AGENT_LABEL = "course.seccomp-lab/node-agent"
_MANIFEST = Path(__file__).with_name("node-agent.yaml")
#: exec arguments are limited by the node's kernel (128 KiB per argument)
MAX_INPUT = 100_000
_PULL_REASONS = {"ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName"}


class NodeAgentUnavailable(EnvironmentProblem):
    """The agent does not run on some nodes; ``nodes`` maps each to why."""

    def __init__(self, nodes: dict[str, str], fix: str):
        self.nodes = nodes
        listed = "; ".join(f"{node}: {why}" for node, why in sorted(nodes.items()))
        super().__init__(f"the course's node agent cannot run on {len(nodes)} node(s): {listed}", fix=fix)


def agent_manifest(*, requests: dict[str, str] | None = None) -> dict:
    """The DaemonSet with this run's images and pull policy (``requests`` replaces the agent's)."""
    text = _MANIFEST.read_text()
    for key, value in {"LAB_IMAGE": image_ref(f"{NGINX_IMAGE}:latest"), "PULL_POLICY": pull_policy()}.items():
        text = text.replace(key, value)
    import yaml  # not at the top: the AppArmor VM guest imports labs.apparmor (-> nodeops) with a bare python3

    manifest = yaml.safe_load(text)
    if requests:
        manifest["spec"]["template"]["spec"]["containers"][0]["resources"] = {"requests": dict(requests)}
    return manifest


def stdin_as_argument(args: list[str], data: str | bytes | None) -> list[str]:
    """``args`` fed ``data`` on stdin, as one exec command (the exec API here has no stdin):
    the text travels as an argument and ``printf`` pipes it in."""
    if data is None:
        return list(args)
    text = data.decode() if isinstance(data, bytes) else data
    if len(text.encode()) > MAX_INPUT or "\0" in text:
        raise LabError(f"{len(text.encode())} bytes cannot go through the node agent (at most {MAX_INPUT}, no NUL)",
                       fix="profiles are small text files: check that you passed the right file")
    return ["sh", "-c", 'data=$1; shift; printf %s "$data" | "$@"', "sh", text, *args]


def pod_node(pod: dict) -> str | None:
    """The node a DaemonSet pod is for: its nodeName, or (not yet scheduled) the node its
    affinity names (``metadata.name`` match field, set by the DaemonSet controller)."""
    spec = pod.get("spec") or {}
    if spec.get("nodeName"):
        return spec["nodeName"]
    terms = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
             .get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms") or []
    for term in terms:
        for field in term.get("matchFields") or []:
            if field.get("key") == "metadata.name" and field.get("values"):
                return field["values"][0]
    return None


def _untolerated(node: dict, tolerations: list[dict]) -> list[str]:
    """The node's NoSchedule/NoExecute taints that no toleration matches."""
    found = []
    for taint in (node.get("spec") or {}).get("taints") or []:
        if taint.get("effect") not in ("NoSchedule", "NoExecute"):
            continue
        if not any(t.get("key") in (None, taint.get("key")) and t.get("effect") in (None, taint.get("effect"))
                   and (t.get("operator") == "Exists" or t.get("value") == taint.get("value")) for t in tolerations):
            found.append(f"{taint.get('key')}={taint.get('value', '')}:{taint.get('effect')}")
    return found


def _current(pod: dict, image: str | None) -> bool:
    """Not being deleted, and (when ``image`` is given) made from the DaemonSet's current image:
    right after an update the old pods still run for a moment."""
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        return False
    return image is None or all(c.get("image") == image for c in (pod.get("spec") or {}).get("containers") or [])


def agent_problems(nodes: list[dict], pods: list[dict], tolerations: list[dict],
                   image: str | None = None) -> tuple[dict, dict, bool]:
    """Nodes and agent pods (as the API returns them) -> (node -> ready pod name, node -> why
    not, final). ``final`` is False while some node may still get a working pod (pure)."""
    by_node = {pod_node(p): p for p in pods if _current(p, image)}
    ready, problems, final = {}, {}, True
    for node in nodes:
        name = node["metadata"]["name"]
        pod = by_node.get(name)
        if pod is None:
            taints = _untolerated(node, tolerations)
            if taints:
                problems[name] = f"its taint {', '.join(taints)} keeps the agent off"
            else:
                final = False
            continue
        outcome, done = pod_outcome(pod)
        if outcome.ok and outcome.ready:
            ready[name] = pod["metadata"]["name"]
        elif done and outcome.reason == "Unschedulable":
            problems[name] = f"no room for the agent pod ({outcome.message})"
        elif done and outcome.reason in _PULL_REASONS:
            image = next((c.get("image") for c in (pod.get("status") or {}).get("containerStatuses") or []
                          if ((c.get("state") or {}).get("waiting") or {}).get("reason") in _PULL_REASONS), "")
            problems[name] = f"image {image or '?'} is not available ({outcome.reason}): {outcome.message}"
        elif done:
            problems[name] = f"{outcome.reason}: {outcome.message}"
        else:
            final = False
    return ready, problems, final


def _fix(problems: dict[str, str]) -> str:
    text = " ".join(problems.values())
    if "image " in text:
        image = text.split("image ", 1)[1].split(" ", 1)[0]
        for prefix in (image_prefix(), "docker.io/"):
            if prefix and image.startswith(prefix):
                image = image[len(prefix):]
        return registry_step(image)
    if "taint" in text:
        return ("let the agent run there (add a toleration for that taint to labs/nodeops/node-agent.yaml), or "
                "keep grading pods off those nodes; live checks are reported as not checked until then")
    return ("free capacity on those nodes (the agent asks for 10m CPU and 16Mi memory), or cordon them so no "
            "grading pod lands there; live checks are reported as not checked until then")


class NodeAgent(NodeOps):
    """Node operations through the agent DaemonSet in ``namespace`` (created on first use)."""

    mode = "agent"

    def __init__(self, cluster: NodeCluster | str = "default", *, namespace: str = AGENT_NAMESPACE,
                 requests: dict[str, str] | None = None):
        super().__init__(cluster)
        self.namespace = namespace
        self.requests = requests
        self._pods: dict[str, str] | None = None

    def _api(self):
        from ..pods import core_api  # slow import: the kubernetes client

        return core_api(self.cluster)

    def nodes(self) -> list[str]:
        items = self._api().list_node(_request_timeout=30).items
        return sorted(n.metadata.name for n in items)

    def _state(self) -> tuple[list[dict], list[dict]]:
        api = self._api()
        plain = api.api_client.sanitize_for_serialization
        nodes = plain(api.list_node(_request_timeout=30)).get("items") or []
        pods = plain(api.list_namespaced_pod(self.namespace, label_selector=f"{AGENT_LABEL}=true",
                                             _request_timeout=30)).get("items") or []
        return nodes, pods

    def _deploy(self) -> tuple[list[dict], str]:
        """Create the namespace and apply the DaemonSet (a no-op when unchanged); returns its
        tolerations and image, which tell current agent pods from old or impossible ones."""
        from ..namespaces import create_namespace  # slow import: the kubernetes client
        from ..pods import apply_manifest  # slow import: the kubernetes client

        manifest = agent_manifest(requests=self.requests)
        create_namespace(self.namespace, labels={AGENT_LABEL: "true"}, config=self.cluster, exist_ok=True)
        apply_manifest(copy.deepcopy(manifest), self.namespace, self.cluster)
        spec = manifest["spec"]["template"]["spec"]
        return spec.get("tolerations") or [], spec["containers"][0]["image"]

    def ensure(self, timeout: float = 180) -> dict[str, str]:
        """Deploy (or update) the agent and wait until it runs on every node: {node: pod}.
        Raises NodeAgentUnavailable naming the nodes it cannot run on and what to do."""
        tolerations, image = self._deploy()
        deadline, retried = time.monotonic() + timeout, False
        while True:
            nodes, pods = self._state()
            ready, problems, final = agent_problems(nodes, pods, tolerations, image)
            pulls = [p["metadata"]["name"] for p in pods if "image " in problems.get(pod_node(p), "")]
            if pulls and not retried:   # an old pull error (backing off) may be fixed by now: pull once more
                self._restart(pulls)
                retried = True
                continue
            if problems and final:
                raise NodeAgentUnavailable(problems, _fix(problems))
            if not problems and final:
                self._pods = ready
                return ready
            if time.monotonic() > deadline:
                names = [n["metadata"]["name"] for n in nodes]
                waiting = {n: problems.get(n, "its agent pod did not become ready") for n in names if n not in ready}
                raise NodeAgentUnavailable(waiting, f"look at the pods: kubectl get pods -n {self.namespace} -o wide; "
                                                    + _fix(waiting))
            time.sleep(1)

    def _restart(self, pods: list[str]) -> None:
        """Delete these agent pods; the DaemonSet makes new ones, which pull their image at once."""
        from ..pods import delete_pod  # slow import: the kubernetes client

        for pod in pods:
            delete_pod(pod, self.namespace, self.cluster, wait=True, timeout=60, grace_period=0)

    def pod_for(self, node: str) -> str:
        if self._pods is None or node not in self._pods:
            self.ensure()
        if node not in self._pods:
            raise LabError(f"{node} is not a node of the {str(self.cluster)!r} cluster",
                           fix=f"nodes: {', '.join(sorted(self._pods))}")
        return self._pods[node]

    def run(self, node: str, args: list[str], *, input: str | bytes | None = None, check: bool = True,
            timeout: float = 120) -> CommandResult:
        from ..namespaces import slow_cluster_factor
        from ..pods import exec_in_pod  # slow import: the kubernetes client

        command = stdin_as_argument(args, input)
        timeout *= slow_cluster_factor()   # an exec through an emulated node's kubelet can take minutes
        try:
            result = exec_in_pod(self.pod_for(node), self.namespace, command, container="agent",
                                 config=self.cluster, timeout=timeout)
        except WorkloadFailed as exc:
            if exc.reason != "NotFound":
                raise
            self._pods = None   # the agent pod was replaced: find the new one once
            result = exec_in_pod(self.pod_for(node), self.namespace, command, container="agent",
                                 config=self.cluster, timeout=timeout)
        done = CommandResult(self.shown(node, args), result.returncode, result.stdout, result.stderr)
        if check and not done.ok:
            raise CommandError(done.command, done.returncode, done.stdout + done.stderr,
                               fix=f"the node agent on {node} ran it: read the output above")
        return done

    def shown(self, node: str, args: list[str], *, stdin: str | None = None) -> str:
        pod = (self._pods or {}).get(node, f"<agent pod on {node}>")
        flag = "-i " if stdin else ""
        return (f"kubectl exec {flag}-n {self.namespace} {pod} -- {shlex.join(args)}"
                + (f" < {stdin}" if stdin else ""))

    def remove(self) -> bool:
        """Delete the agent's namespace (and so the DaemonSet); returns whether it existed."""
        from ..namespaces import delete_namespace  # slow import: the kubernetes client

        self._pods = None
        return delete_namespace(self.namespace, self.cluster)
