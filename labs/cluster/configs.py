"""The registry of cluster configs: name -> kind config file + how to get its node image.

Why a registry: the AppArmor cluster needs its own node image (apparmor_parser inside, no
``container`` variable for containerd), built by the AppArmor recipe. Its owner plugs it in by
naming a ``module:function`` that returns an image tag; this package never imports it eagerly.

The committed files are plain kind configs, right for kind's release image. The offline node
image lacks the kindnetd, CoreDNS and kube-proxy images, so for it ``kind create`` gets a copy
with :func:`for_offline_node`'s additions (written to the state folder, never committed).
"""
from __future__ import annotations

import copy
import importlib
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..errors import EnvironmentProblem, LabError
from ..paths import CLUSTERS_DIR, state_dir

__all__ = ["OFFLINE_INIT_PATCH", "for_offline_node", "ClusterConfig", "CONFIGS", "get_config",
           "register_config"]

#: kubeadm skips the add-ons whose images only a registry has; the labs reach pods through the
#: kubelet (``kubectl exec``, ``port-forward``), which needs neither cluster DNS nor Services
OFFLINE_INIT_PATCH = "kind: InitConfiguration\nskipPhases:\n  - addon/coredns\n  - addon/kube-proxy\n"


def for_offline_node(config: dict) -> dict:
    """A copy of a kind config for the offline node image: no kindnetd (the node's own
    ``course-cni`` writes a ptp config instead), no CoreDNS, no kube-proxy."""
    result = copy.deepcopy(config)
    result.setdefault("networking", {})["disableDefaultCNI"] = True
    patches = result.setdefault("kubeadmConfigPatches", [])
    if OFFLINE_INIT_PATCH not in patches:
        patches.append(OFFLINE_INIT_PATCH)
    return result


@dataclass(frozen=True)
class ClusterConfig:
    """One kind cluster the course can create."""

    name: str
    #: kind config file; its ``name:`` is the kind cluster name
    file: Path
    #: "module:function" returning the node image tag (builds it when needed)
    node_image: str = "labs.apparmor.node_image:course_node_image_tag"

    def _document(self) -> dict:
        if not self.file.is_file():
            raise EnvironmentProblem(f"cluster config {self.file} is missing",
                                     fix="restore it from git (`git status clusters/`)")
        try:
            document = yaml.safe_load(self.file.read_text())
        except yaml.YAMLError as exc:
            raise LabError(f"cluster config {self.file} is not valid YAML: {exc}",
                           fix="fix the line named above (or restore the file with git)") from None
        if not isinstance(document, dict) or document.get("kind") != "Cluster" or not document.get("name"):
            raise LabError(f"cluster config {self.file} is not a kind Cluster config with a name",
                           fix="start it with `kind: Cluster`, `apiVersion: kind.x-k8s.io/v1alpha4` "
                               "and `name: seccomp-course-<something>`")
        return document

    @property
    def cluster_name(self) -> str:
        return self._document()["name"]

    @property
    def generated_kind_config(self) -> Path:
        """Where :meth:`kind_config_file` writes the copy for the offline node image."""
        return state_dir() / f"kind-config-{self.name}.yaml"

    def kind_config_file(self, image: str) -> Path:
        """The file ``kind create --config`` gets for ``image``: the committed one for kind's
        release image, ``<state>/kind-config-<name>.yaml`` with the offline additions otherwise."""
        from .nodeimage import is_offline_node_image

        if not is_offline_node_image(image):
            return self.file
        path = self.generated_kind_config
        path.write_text(f"# generated from {self.file} for the offline node image {image}\n"
                        + yaml.safe_dump(for_offline_node(self._document()), sort_keys=False))
        return path

    @property
    def kubeconfig(self) -> Path:
        """`<state>/kubeconfig` for the default cluster, `<state>/kubeconfig-<name>` otherwise
        (one file per cluster, so creating one never changes another's current context)."""
        return state_dir() / ("kubeconfig" if self.name == "default" else f"kubeconfig-{self.name}")

    def ensure_node_image(self) -> str:
        """Build or find this config's node image; returns its tag."""
        module, _, function = self.node_image.partition(":")
        return getattr(importlib.import_module(module), function)()


CONFIGS: dict[str, ClusterConfig] = {
    "default": ClusterConfig("default", CLUSTERS_DIR / "default.yaml"),
    "multi-node": ClusterConfig("multi-node", CLUSTERS_DIR / "multi-node.yaml"),
    "seccomp-default": ClusterConfig("seccomp-default", CLUSTERS_DIR / "seccomp-default.yaml"),
    "apparmor": ClusterConfig("apparmor", CLUSTERS_DIR / "apparmor" / "cluster.yaml",
                              node_image="labs.apparmor.node_image:ensure_node_image_tag"),
}


def get_config(name: str) -> ClusterConfig:
    try:
        return CONFIGS[name]
    except KeyError:
        raise LabError(f"unknown cluster config {name!r}",
                       fix=f"use one of: {', '.join(CONFIGS)}") from None


def register_config(config: ClusterConfig) -> None:
    """Add or replace a config (e.g. a workshop's own cluster shape)."""
    CONFIGS[config.name] = config
