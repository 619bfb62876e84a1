"""The course's kind clusters: node image, create/reuse/delete, node operations.

- :mod:`.nodesource`: kind's release image where a registry answers, else the offline build
- :mod:`.nodeimage` (with :mod:`.gobuild`, :mod:`.rootfs`): the node image built without a
  registry, cached by recipe hash
- :mod:`.handle`: :class:`Cluster`, one config resolved once (``get_cluster()``), handed to helpers
- :mod:`.configs`: the cluster configs (clusters/*.yaml) and where each gets its node image
- :mod:`.lifecycle`: ensure/delete/status, readiness waits, ``kind load`` of lab images
- :mod:`.nodes`: files and seccomp profiles on nodes, node capabilities (docker exec)

Command line: ``python -m labs.cluster node-image | ensure [CONFIG] | delete [CONFIG|--all] | status``.
"""
from .configs import CONFIGS, ClusterConfig, get_config, register_config
from .handle import Cluster, ClusterRef, as_cluster, get_cluster
from .lifecycle import (
    ClusterInfo,
    ClusterStatus,
    NodeStatus,
    cluster_status,
    delete_all_clusters,
    delete_cluster,
    ensure_cluster,
    kubeconfig_path,
    kubectl,
    load_images,
    node_names,
    wait_until_ready,
)
from .nodeimage import NodeImageBuild, ensure_node_image
from .nodes import (
    PROFILES_DIR,
    NodeCapabilities,
    install_seccomp_profile,
    installed_seccomp_profiles,
    node_capabilities,
    remove_seccomp_profile,
    write_node_file,
)
from .nodesource import NodeImageChoice, choose_node_image
from .versions import KIND_VERSION, KUBERNETES_VERSION, NODE_IMAGE, STOCK_NODE_IMAGE

__all__ = [
    "CONFIGS", "ClusterConfig", "get_config", "register_config",
    "Cluster", "ClusterRef", "as_cluster", "get_cluster",
    "ClusterInfo", "ClusterStatus", "NodeStatus", "cluster_status", "delete_all_clusters",
    "delete_cluster", "ensure_cluster", "kubeconfig_path", "kubectl", "load_images", "node_names",
    "wait_until_ready",
    "NodeImageBuild", "ensure_node_image", "NodeImageChoice", "choose_node_image",
    "PROFILES_DIR", "NodeCapabilities", "install_seccomp_profile", "installed_seccomp_profiles",
    "node_capabilities", "remove_seccomp_profile", "write_node_file",
    "KIND_VERSION", "KUBERNETES_VERSION", "NODE_IMAGE", "STOCK_NODE_IMAGE",
]
