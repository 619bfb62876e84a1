"""What to do about each way a pod can fail: Kubernetes' own reasons, as ``kubectl describe
pod`` shows them, each with advice for a learner.

Pure data and one function, so the status reader, the client's error translation and the
lessons' texts share one wording.
"""
from __future__ import annotations

import re

__all__ = ["FIXES", "FAILED_WAITING", "SECCOMP_FILE_MISSING_FIX", "fix_for"]

#: What to do about each failure reason a pod can end in (Kubernetes' own reasons, as
#: ``kubectl describe pod`` shows them; see :func:`fix_for` for advice that depends on the message).
FIXES = {
    "CreateContainerError": "the runtime could not create or start the container; under a seccomp profile this "
                            "usually means a syscall the runtime needs at start-up is blocked: audit first and build "
                            "the profile with the runtime start-up syscalls included",
    "CreateContainerConfigError": "the container's configuration refers to something missing (ConfigMap, Secret, "
                                  "user): read the message and create or fix it",
    "RunContainerError": "the container process could not be started: read the message (a blocked syscall, a "
                         "missing binary or a bad command)",
    "CrashLoopBackOff": "the container starts and exits again: read its log (kubectl logs NAME -n NS, or "
                        "pod_logs(name, namespace); add --previous / previous=True only while the last run's log is "
                        "still kept); under a new seccomp profile a blocked syscall is the usual cause, so audit it "
                        "first",
    "Error": "the container exited with an error: read pod_logs(name, namespace)",
    "ErrImageNeverPull": "the image is not on the node: run `make images`, then labs.cluster.load_images(...)",
    "ErrImagePull": "the image is not on the node and no registry is reachable: load it with "
                    "labs.cluster.load_images(...) and set imagePullPolicy: Never or IfNotPresent",
    "ImagePullBackOff": "the image is not on the node and no registry is reachable: load it with "
                        "labs.cluster.load_images(...) and set imagePullPolicy: Never or IfNotPresent",
    "InvalidImageName": "fix the image name (course images: course/nginx, course/tools)",
    "AppArmor": "the kubelet rejected the pod because the node cannot enforce AppArmor (the kernel has no AppArmor "
                "LSM, or the runtime cannot apply it): run it on an AppArmor-capable cluster (on a host whose Docker "
                "engine enforces AppArmor (Ubuntu, Debian, SUSE), `make cluster` gives the default cluster an "
                "AppArmor-capable node); the pod is Failed for good, so delete it and create it again there",
    "Blocked": "(Kubernetes up to 1.30) the node cannot enforce the AppArmor profile: load it on every node with "
               "labs.apparmor.load_profile_on_nodes(...), or use an AppArmor-capable cluster (on a host whose "
               "Docker engine enforces AppArmor (Ubuntu, Debian, SUSE), `make cluster` gives the default cluster "
               "an AppArmor-capable node)",
    "Unschedulable": "no node accepts the pod: read the message (nodeSelector, taints, resources); list nodes with "
                     "labs.cluster.node_names()",
    "PodSecurityRejected": "change the fields listed (labs.manifests.check_pod_security(doc) shows each with its "
                           "fix), or use a namespace with a lower Pod Security level",
    "OOMKilled": "the container ran out of memory: raise resources.limits.memory",
}
#: waiting reasons that mean the container will not start without a change
FAILED_WAITING = {"CreateContainerError", "CreateContainerConfigError", "RunContainerError", "CrashLoopBackOff",
                  "ErrImageNeverPull", "ErrImagePull", "ImagePullBackOff", "InvalidImageName", "Blocked",
                  "ImageInspectError", "PreCreateHookError", "PostStartHookError"}
#: advice when the message says the Localhost seccomp profile file is missing on the node
SECCOMP_FILE_MISSING_FIX = ("the pod's Localhost seccomp profile file is missing on the node that runs it (see the "
                            "path in the message): install it on every node with "
                            "labs.cluster.install_seccomp_profile(filename, profile) and reference it as "
                            "localhostProfile: profiles/<filename>; the kubelet keeps retrying, so the waiting pod "
                            "starts once the file is there")
_SECCOMP_MISSING = re.compile(r"seccomp.*(no such file|not found|cannot load|does not exist)|"
                              r"(no such file|cannot load).*seccomp", re.I | re.S)


def fix_for(reason: str, message: str = "") -> str | None:
    """What to do about ``reason``; the message refines it (a missing seccomp profile file is
    a ``CreateContainerError`` whose message names the file)."""
    if reason in FAILED_WAITING and _SECCOMP_MISSING.search(message or ""):
        return SECCOMP_FILE_MISSING_FIX
    if reason in ("CreateContainerError", "RunContainerError") and "apparmor" in (message or "").lower():
        return FIXES["AppArmor"]
    return FIXES.get(reason)
