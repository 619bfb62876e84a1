"""Helpers for the seccomp & AppArmor course: profiles, audit capture, clusters, pods.

Submodules each have one job and declare their public API in ``__all__``:

- :mod:`labs.runner`, :mod:`labs.errors`, :mod:`labs.results`: running tools, errors, results
- :mod:`labs.names`, :mod:`labs.paths`: the course's labels and node paths (one home each);
  state, kubeconfig and build folders
- :mod:`labs.syscalls`, :mod:`labs.seccomp`: syscall tables; seccomp profiles (validate, build,
  diff, compare with RuntimeDefault, explain a denial); ``python -m labs.seccomp``; recording
  any image or pod (:mod:`labs.seccomp.record`, :mod:`labs.seccomp.record_cluster`) with
  provenance and argument suggestions
- :mod:`labs.audit`: audit-line parser and the netlink :class:`~labs.audit.AuditCollector`
- :mod:`labs.docker_lab`: one lab container under a seccomp profile (lesson 01, grader)
- :mod:`labs.host`, :mod:`labs.images`, :mod:`labs.doctor`: Docker engine, lab images, prerequisites
- :mod:`labs.cluster`, :mod:`labs.nodeops`, :mod:`labs.bundle`: kind clusters and the offline
  node image; node operations (kind's ``docker exec`` or the node agent, ``--image-prefix``);
  the offline bundle for rooms with no network
- :mod:`labs.manifests` (load, validate) with the pure :mod:`labs.podspec` (pod template walk),
  :mod:`labs.profile_settings` (seccomp/AppArmor setters), :mod:`labs.pod_security` (Pod
  Security Standards rules), :mod:`labs.pod_status` (status reading), :mod:`labs.pod_fixes`
  (advice per Kubernetes reason)
- :mod:`labs.kube`, :mod:`labs.pods`, :mod:`labs.namespaces`, :mod:`labs.rollout`,
  :mod:`labs.pod_audit`: the Kubernetes client and its errors, pod verbs, per-run namespaces,
  waiting for rollouts and nodes, per-pod audit
- :mod:`labs.apparmor`: AppArmor syntax checks, node loading, records -> rules, the QEMU lane
- :mod:`labs.widgets`, :mod:`labs.plots`, :mod:`labs.progress`, :mod:`labs.lessons`: notebook
  widgets, charts, progress display, lesson helpers; :mod:`labs.student`: learner edition

Submodules are imported on demand (the Kubernetes client is slow to import).
"""
from .errors import *  # noqa: F401,F403
from .errors import __all__ as _errors_all
from .runner import CommandResult, run

__all__ = [*_errors_all, "CommandResult", "run"]
