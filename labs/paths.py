"""Where the course keeps its cluster state, build scratch space and installed tools.

One place for these paths so the kubeconfig never lands in ``~/.kube/config`` and a fresh
checkout finds everything relative to the repository.
"""
from __future__ import annotations

import os
from pathlib import Path

__all__ = ["REPO_ROOT", "CLUSTERS_DIR", "NODE_IMAGE_DIR", "state_dir", "workspace_dir", "kubeconfig_file", "build_dir",
           "tools_dir"]

REPO_ROOT = Path(os.environ.get("COURSE_ROOT") or Path(__file__).resolve().parents[1])
CLUSTERS_DIR = REPO_ROOT / "clusters"
NODE_IMAGE_DIR = CLUSTERS_DIR / "node-image"


def state_dir() -> Path:
    """``$COURSE_STATE_DIR`` or ``<repo>/.state``: kubeconfigs and other per-machine state."""
    path = Path(os.environ.get("COURSE_STATE_DIR") or REPO_ROOT / ".state")
    path.mkdir(parents=True, exist_ok=True)
    return path


def workspace_dir() -> Path:
    """``$COURSE_WORKSPACE`` or ``<repo>/workspace``: the learner's files (exercises, profiles)."""
    return Path(os.environ.get("COURSE_WORKSPACE") or REPO_ROOT / "workspace")


def kubeconfig_file(config: str) -> Path:
    """`<state>/kubeconfig` for the default cluster, `<state>/kubeconfig-<config>` otherwise
    (one file per cluster, so creating one never changes another's current context)."""
    return state_dir() / ("kubeconfig" if config == "default" else f"kubeconfig-{config}")


def build_dir(step: str) -> Path:
    """Scratch directory of one node-image build step (wrapper modules, binaries, tarballs)."""
    path = state_dir() / "node-image" / step
    path.mkdir(parents=True, exist_ok=True)
    return path


def tools_dir() -> Path:
    """``<repo>/.venv/bin``: where kind and kubectl are installed, first on the Makefile's PATH."""
    return REPO_ROOT / ".venv" / "bin"
