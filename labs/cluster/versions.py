"""The pinned versions of the offline node image (reasons in docs: offline-kind.md).

- kind v0.30.0: last release whose node base is Debian bookworm (systemd 252, fine on
  cgroup v1 hosts).
- Kubernetes v1.34.x: last minor whose kubelet still runs on cgroup v1 by default.
- crictl follows the Kubernetes minor; etcd and pause follow what the built kubeadm lists.
- STOCK_NODE_IMAGE: kind v0.30.0's own default node image (``pkg/apis/config/defaults/image.go``
  in the kind module), pinned by digest as kind's release notes require; used where a
  registry answers (labs.cluster.nodesource).
"""
from __future__ import annotations

__all__ = ["KIND_VERSION", "KUBERNETES_VERSION", "CRICTL_VERSION", "NODE_IMAGE", "STOCK_NODE_IMAGE",
           "staging_version"]

KIND_VERSION = "v0.30.0"
KUBERNETES_VERSION = "v1.34.4"
CRICTL_VERSION = "v1.34.0"
NODE_IMAGE = f"kindest/node:{KUBERNETES_VERSION}-offline"
STOCK_NODE_IMAGE = ("kindest/node:v1.34.0"
                    "@sha256:7416a61b42b1662ca6ca89f02028ac133a309a2a30ba309614e8ec94d976dc5a")


def staging_version(kubernetes_version: str = KUBERNETES_VERSION) -> str:
    """Staging modules (k8s.io/api, client-go, ...) are tagged v0.<minor>.<patch>."""
    major, minor, patch = kubernetes_version.lstrip("v").split(".")
    if major != "1":
        raise ValueError(f"unexpected Kubernetes version {kubernetes_version}")
    return f"v0.{minor}.{patch}"
