"""The names the course gives what it creates, and the node paths it writes: one home each.

Why one module: the managed label, the kubelet's seccomp folder and the AppArmor annotation
were spelled in several modules and in several forms, so a change had to find them all.
Constants only and no imports, so every layer may use it (the AppArmor VM guest too).
"""
from __future__ import annotations

__all__ = [
    "MANAGED_LABEL_KEY",
    "MANAGED_LABEL",
    "MANAGED_LABEL_ARG",
    "KUBELET_SECCOMP_DIR",
    "SECCOMP_PROFILES_PREFIX",
    "NODE_PROFILES_DIR",
    "localhost_profile",
    "APPARMOR_ANNOTATION_PREFIX",
    "POD_SECURITY_ENFORCE_LABEL",
    "POD_SECURITY_VERSION_LABEL",
]

#: Label on everything the course creates (objects, containers, images), so clean-up finds it.
MANAGED_LABEL_KEY = "course.seccomp-lab/managed"
#: The label as a (key, value) pair: ``dict([MANAGED_LABEL])`` for object metadata.
MANAGED_LABEL = (MANAGED_LABEL_KEY, "true")
#: The label as ``key=value``: ``docker --label``, a Dockerfile ``LABEL``, a label selector.
MANAGED_LABEL_ARG = "=".join(MANAGED_LABEL)

#: The kubelet resolves a pod's ``localhostProfile`` below this folder on the node running it.
KUBELET_SECCOMP_DIR = "/var/lib/kubelet/seccomp"
#: Where below it the course installs its profiles, as a ``localhostProfile`` starts.
SECCOMP_PROFILES_PREFIX = "profiles/"
#: The same folder as a path on the node.
NODE_PROFILES_DIR = f"{KUBELET_SECCOMP_DIR}/{SECCOMP_PROFILES_PREFIX.rstrip('/')}"


def localhost_profile(filename: str) -> str:
    """The ``localhostProfile`` of a profile the course installed as ``filename``."""
    return f"{SECCOMP_PROFILES_PREFIX}{filename}"


#: The deprecated per-container AppArmor annotation (``<prefix><container name>``).
APPARMOR_ANNOTATION_PREFIX = "container.apparmor.security.beta.kubernetes.io/"

#: Namespace labels that make the PodSecurity admission controller enforce a level.
POD_SECURITY_ENFORCE_LABEL = "pod-security.kubernetes.io/enforce"
POD_SECURITY_VERSION_LABEL = "pod-security.kubernetes.io/enforce-version"
