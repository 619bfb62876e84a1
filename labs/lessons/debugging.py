"""Lesson 05's debugging loop for the lab nginx: try a profile, read the symptom, stage, fix.

Why a module: the loop is three steps a learner repeats on their own profile in exercise 05,
and lesson cells stay short. Each step prints what it does as the command a learner would
type on a real cluster, so nothing here is magic:

- :func:`print_profile` shows a profile compactly (one line per rule, names wrapped).
- :meth:`NginxDebugLoop.enforce` writes the profile to every node's
  ``/var/lib/kubelet/seccomp/profiles/course-05-nginx.json`` and re-creates the nginx pod of
  ``labs/lessons/05-debugging/nginx.yaml`` under it; returns the pod's outcome.
- :meth:`NginxDebugLoop.staged_report` runs the same pod under a *staging copy* (the same
  rules, default ``SCMP_ACT_LOG``, ``nginx-staged.yaml``) while the audit collector listens,
  optionally drives nginx (lesson 03's requests and operator commands), and returns the
  syscalls the kernel logged for the nginx container: what the profile refuses on the code
  paths that ran. A syscall refused by an explicit rule (e.g. ``clone3`` -> ENOSYS) is still
  refused there and not reported. ``command=[...]`` also runs a command in the nginx container
  (``kubectl exec``), which shows what the dependency trap refuses.
"""
from __future__ import annotations

import json
import os
import textwrap
from dataclasses import dataclass

from ..cluster import ClusterRef, as_cluster, install_seccomp_profile
from . import asset
from .drive import NginxDriver, logged_under_own_profile

__all__ = ["PROFILE", "STAGED", "print_profile", "NginxDebugLoop"]

PROFILE = "course-05-nginx.json"
STAGED = "course-05-nginx-staged.json"


def print_profile(profile: dict, width: int = 100) -> None:
    """Default action, architectures, then one line per rule (a rule without a ``names`` list is
    printed as it is written, so the reader, not the helper, spots what is wrong with it)."""
    arches = ", ".join(profile.get("architectures") or ["(none listed)"])
    print(f"defaultAction: {profile.get('defaultAction')} | architectures: {arches}")
    for i, rule in enumerate(profile.get("syscalls") or []):
        if not rule.get("names"):
            print(f"  rule {i}: {json.dumps(rule)}")
            continue
        extra = "".join(f" {k}={json.dumps(v)}" for k, v in rule.items() if k not in ("names", "action", "comment"))
        print(f"  rule {i}: {rule.get('action')}{extra} for {len(rule['names'])} names:")
        print(textwrap.fill(" ".join(rule["names"]), width, initial_indent="    ", subsequent_indent="    "))


def _relative(path) -> str:
    """The manifest's path as a terminal opened next to the notebook would type it."""
    return os.path.relpath(path)


@dataclass
class NginxDebugLoop:
    """The loop in one lesson namespace; ``client`` is lesson 03's client pod (it sends requests)."""

    namespace: str
    client: str = "client"
    config: ClusterRef = "default"

    def __post_init__(self) -> None:
        self.config = as_cluster(self.config)   # resolved once for the loop's many steps

    def _install(self, filename: str, profile: dict) -> list[str]:
        applied = install_seccomp_profile(filename, profile, config=self.config)
        for command in applied.commands:
            print("$", command)
        return list(applied)

    def enforce(self, profile: dict):
        """Install ``profile`` as course-05-nginx.json and re-create the nginx pod under it."""
        from ..pods import delete_pod, run_pod  # slow import: the kubernetes client

        self._install(PROFILE, profile)
        manifest = asset("05", "nginx.yaml")
        print(f"$ kubectl delete pod nginx -n {self.namespace} --ignore-not-found; "
              f"kubectl apply -n {self.namespace} -f {_relative(manifest)}")
        delete_pod("nginx", self.namespace, self.config)
        return run_pod(manifest, self.namespace, timeout=90, config=self.config)

    def staged_report(self, profile: dict, requests: bool = True, command: list[str] | None = None) -> list[str]:
        """The syscalls ``profile`` refuses while nginx starts (``requests=False``), or starts
        and serves lesson 03's requests and operator commands (``requests=True``); with
        ``command``, also while that command runs in the nginx container."""
        from ..pods import delete_pod, exec_in_pod  # slow import: the kubernetes client

        self._install(STAGED, dict(profile, defaultAction="SCMP_ACT_LOG"))
        manifest = asset("05", "nginx-staged.yaml")
        print(f"$ kubectl delete pod nginx -n {self.namespace} --ignore-not-found; "
              f"kubectl apply -n {self.namespace} -f {_relative(manifest)}   # while the audit collector listens"
              + (", then the requests" if requests else ""))
        if command:
            print(f"$ kubectl exec nginx -n {self.namespace} -- {' '.join(command)}")
        delete_pod("nginx", self.namespace, self.config)
        driver = NginxDriver(self.client, self.config) if requests else None

        def drive(name: str, namespace: str) -> None:
            if driver is not None:
                driver(name, namespace)
            if command:
                exec_in_pod(name, namespace, list(command), config=self.config)
        try:
            _, logged = logged_under_own_profile(manifest, self.namespace,
                                                 drive=drive if (requests or command) else None, config=self.config)
        finally:
            delete_pod("nginx", self.namespace, self.config)
        return sorted(logged.get("nginx", {}))
