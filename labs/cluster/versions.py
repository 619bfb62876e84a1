"""The pinned versions of the offline node image (reasons in docs: offline-kind.md).

- kind v0.30.0: last release whose node base is Debian bookworm (systemd 252, fine on
  cgroup v1 hosts).
- Kubernetes v1.34.x: last minor whose kubelet still runs on cgroup v1 by default.
- crictl follows the Kubernetes minor; etcd and pause follow what the built kubeadm lists.
"""
from __future__ import annotations

__all__ = ["KIND_VERSION", "KUBERNETES_VERSION", "CRICTL_VERSION", "NODE_IMAGE", "staging_version"]

KIND_VERSION = "v0.30.0"
KUBERNETES_VERSION = "v1.34.4"
CRICTL_VERSION = "v1.34.0"
NODE_IMAGE = f"kindest/node:{KUBERNETES_VERSION}-offline"


def staging_version(kubernetes_version: str = KUBERNETES_VERSION) -> str:
    """Staging modules (k8s.io/api, client-go, ...) are tagged v0.<minor>.<patch>."""
    major, minor, patch = kubernetes_version.lstrip("v").split(".")
    if major != "1":
        raise ValueError(f"unexpected Kubernetes version {kubernetes_version}")
    return f"v0.{minor}.{patch}"
