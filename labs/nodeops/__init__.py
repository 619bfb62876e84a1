"""Node operations: what the course does on a cluster's nodes, by whatever reaches them.

- :mod:`.base`: the operations (profile files, listing, capability probe, sweep by grading
  token) as plain commands, and the :class:`NodeOps` interface
- :mod:`.kind`: ``docker exec`` into kind's node containers (what the lessons show on kind)
- :mod:`.agent`: a DaemonSet reached through the Kubernetes API (any cluster, no Docker)
- :mod:`.choose`: which of the two a cluster gets (``auto`` | ``kind`` | ``agent``)
- :mod:`.images`: lab image names on a cluster that pulls from a registry (``--image-prefix``)
"""
from .base import APPARMOR_DIR, PROFILES_DIR, SECCOMP_ROOT, NodeOps, check_token
from .choose import MODES, NODE_OPS_ENV, choose_mode, current_cluster, forget, node_ops, on_cluster
from .images import IMAGE_PREFIX_ENV, image_prefix, image_ref, pull_policy, registry_step

__all__ = ["APPARMOR_DIR", "PROFILES_DIR", "SECCOMP_ROOT", "NodeOps", "check_token",
           "IMAGE_PREFIX_ENV", "image_prefix", "image_ref", "pull_policy", "registry_step",
           "MODES", "NODE_OPS_ENV", "choose_mode", "current_cluster", "forget", "node_ops", "on_cluster"]
