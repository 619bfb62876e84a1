"""The registry of cluster configs: name -> kind config file + how to get its node image.

Why a registry: the AppArmor cluster needs its own node image (apparmor_parser inside, no
``container`` variable for containerd), built by the AppArmor recipe
(:mod:`labs.cluster.apparmor_image`); each config names the function that returns its image tag.

The committed files are plain kind configs, right for kind's release image. The offline node
image lacks the kindnetd, CoreDNS and kube-proxy images, so for it ``kind create`` gets a copy
with :func:`for_offline_node`'s additions (written to the state folder, never committed).
"""
from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..errors import EnvironmentProblem, LabError
from ..paths import CLUSTERS_DIR, kubeconfig_file, state_dir
from .apparmor_image import engine_enforces_apparmor, ensure_apparmor_node_image
from .nodeimage import is_offline_node_image
from .nodesource import choose_node_image

__all__ = ["OFFLINE_INIT_PATCH", "for_offline_node", "ClusterConfig", "CONFIGS", "get_config",
           "register_config", "course_node_image_tag", "apparmor_node_image_tag"]

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


def _base_node_image() -> str:
    return choose_node_image().image


def apparmor_node_image_tag() -> str:
    """The "apparmor" config's image: the course's node image, then the AppArmor recipe on top."""
    return ensure_apparmor_node_image(_base_node_image())


def course_node_image_tag() -> str:
    """The image of the course's other clusters (default, multi-node, seccomp-default).

    On an engine that enforces AppArmor it is the AppArmor-capable image, so the one default
    cluster runs lessons 06, 07 and 09 live (and their grading) with the kubeconfig every
    other lesson uses; elsewhere the node image unchanged (AppArmor cannot work there anyway).
    """
    base = _base_node_image()
    return ensure_apparmor_node_image(base) if engine_enforces_apparmor() else base


@dataclass(frozen=True)
class ClusterConfig:
    """One kind cluster the course can create."""

    name: str
    #: kind config file; its ``name:`` is the kind cluster name
    file: Path
    #: returns the node image tag (builds the image when needed)
    node_image: Callable[[], str] = course_node_image_tag

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
        if not is_offline_node_image(image):
            return self.file
        path = self.generated_kind_config
        path.write_text(f"# generated from {self.file} for the offline node image {image}\n"
                        + yaml.safe_dump(for_offline_node(self._document()), sort_keys=False))
        return path

    @property
    def kubeconfig(self) -> Path:
        """Where this cluster's kubeconfig lives (:func:`labs.paths.kubeconfig_file`)."""
        return kubeconfig_file(self.name)

    def ensure_node_image(self) -> str:
        """Build or find this config's node image; returns its tag."""
        return self.node_image()


CONFIGS: dict[str, ClusterConfig] = {
    "default": ClusterConfig("default", CLUSTERS_DIR / "default.yaml"),
    "multi-node": ClusterConfig("multi-node", CLUSTERS_DIR / "multi-node.yaml"),
    "seccomp-default": ClusterConfig("seccomp-default", CLUSTERS_DIR / "seccomp-default.yaml"),
    "apparmor": ClusterConfig("apparmor", CLUSTERS_DIR / "apparmor" / "cluster.yaml",
                              node_image=apparmor_node_image_tag),
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
