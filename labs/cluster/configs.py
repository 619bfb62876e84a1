"""The registry of cluster configs: name -> kind config file + how to get its node image.

Why a registry: the AppArmor cluster needs its own node image (apparmor_parser inside, no
``container`` variable for containerd), built by the AppArmor recipe. Its owner plugs it in by
naming a ``module:function`` that returns an image tag; this package never imports it eagerly.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..errors import EnvironmentProblem, LabError
from .paths import CLUSTERS_DIR, state_dir

__all__ = ["ClusterConfig", "CONFIGS", "get_config", "register_config"]


@dataclass(frozen=True)
class ClusterConfig:
    """One kind cluster the course can create."""

    name: str
    #: kind config file; its ``name:`` is the kind cluster name
    file: Path
    #: "module:function" returning the node image tag (builds it when needed)
    node_image: str = "labs.cluster.nodeimage:ensure_node_image_tag"

    @property
    def cluster_name(self) -> str:
        if not self.file.is_file():
            raise EnvironmentProblem(f"cluster config {self.file} is missing",
                                     fix="restore it from git (`git status clusters/`)")
        return yaml.safe_load(self.file.read_text())["name"]

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
