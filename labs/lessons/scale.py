"""Lesson 08: run the same pod on every node and see where it fails.

A ``Localhost`` profile is a file on each node. Pinning one copy of a pod to each node
(``spec.nodeName``) shows, node by node, which ones lack the file.
"""
from __future__ import annotations

import copy
import html
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..cluster import ClusterRef, as_cluster
from ..errors import LabError
from ..manifests import load_manifests
from ..results import Result
from ..seccomp import load_profile

__all__ = ["NodeOutcomes", "run_on_each_node", "profile_configmap",
           "save_profiles_in_configmap"]


@dataclass
class NodeOutcomes(Result):
    """node -> how the pinned pod ended (reason and the first line of its message)."""

    outcomes: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:  # what Jupyter shows as text/plain
        return str(self)

    def __str__(self) -> str:
        return "\n".join(f"{node}: {outcome}" for node, outcome in self.outcomes.items())

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><td>{html.escape(n)}</td><td style='text-align:left'>{html.escape(o)}</td></tr>"
                       for n, o in self.outcomes.items())
        return f"<table><tr><th>node</th><th>pod outcome</th></tr>{rows}</table>"


def run_on_each_node(manifest, namespace: str, nodes: list[str], *, config: ClusterRef = "default",
                     timeout: float = 60) -> NodeOutcomes:
    """Run one copy of the manifest's pod per node, named ``<pod>-<n>``; report each outcome.

    Copies left from an earlier call are deleted first, so a rerun measures the nodes as
    they are now.
    """
    from ..pods import delete_pod, run_pod  # the Kubernetes client: slow to import, so only when used

    (pod,) = [d for d in load_manifests(manifest) if d["kind"] == "Pod"]
    result, cluster = NodeOutcomes(), as_cluster(config)
    for i, node in enumerate(nodes):
        copy_ = copy.deepcopy(pod)
        copy_["metadata"]["name"] = f"{pod['metadata']['name']}-{i}"
        copy_["spec"]["nodeName"] = node
        delete_pod(copy_["metadata"]["name"], namespace, cluster)
        outcome = run_pod(copy_, namespace, config=cluster, timeout=timeout)
        detail = outcome.message.splitlines()[0][:160] if outcome.message else ""
        result.outcomes[node] = outcome.reason + (f": {detail}" if detail and not outcome.ok else "")
    return result


def profile_configmap(profiles: dict[str, dict], name: str = "seccomp-profiles") -> dict:
    """A ConfigMap carrying seccomp profiles as JSON text, one key per file name: the object
    ``kubectl create configmap NAME --from-file=app.json --dry-run=client -o yaml`` prints."""
    data = {}
    for key, profile in profiles.items():
        if not str(key).endswith(".json"):
            raise LabError(f"ConfigMap key {key!r} should be a file name ending in .json",
                           fix="the DaemonSet copies each key to a file of that name on the node, e.g. 'app.json'")
        data[key] = json.dumps(load_profile(profile), indent=2, sort_keys=True) + "\n"
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


class _BlockDumper(yaml.SafeDumper):
    """Multi-line strings as ``|`` blocks, the way ``kubectl ... -o yaml`` prints a profile."""


def _block_text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_BlockDumper.add_representer(str, _block_text)
_DOC_SEPARATOR = re.compile(r"^---[ \t]*$", re.M)


def save_profiles_in_configmap(install_yaml, profiles: dict[str, dict]) -> Path:
    """Put ``profiles`` into the ConfigMap of a multi-document YAML file (e.g. exercise 08's
    ``install.yaml``), replacing that ConfigMap's ``data``. Every other document (your
    DaemonSet) is kept exactly as written; comments above the ConfigMap are kept too."""
    path = Path(install_yaml)
    if not path.is_file():
        raise LabError(f"{path} does not exist", fix="run the exercise cell first: it copies the starter files")
    chunks = _DOC_SEPARATOR.split(path.read_text())
    for i, chunk in enumerate(chunks):
        try:
            doc = yaml.safe_load(chunk)
        except yaml.YAMLError as exc:
            raise LabError(f"{path.name}, document {i + 1}, is not valid YAML: {exc}".splitlines()[0],
                           fix="fix the YAML there (indentation, a missing colon), then run this again") from None
        if isinstance(doc, dict) and doc.get("kind") == "ConfigMap":
            name = (doc.get("metadata") or {}).get("name") or "seccomp-profiles"
            configmap = dict(doc, data=profile_configmap(profiles, name)["data"])
            comments = "".join(line + "\n" for line in chunk.strip("\n").splitlines()
                               if line.startswith("#"))
            lead = "\n" if i else ""
            chunks[i] = lead + comments + yaml.dump(configmap, Dumper=_BlockDumper, sort_keys=False, width=120)
            path.write_text("---".join(chunks))
            return path
    raise LabError(f"{path.name} has no ConfigMap document", fix="add one (kind: ConfigMap) with a data: section")
