"""Helpers for the seccomp & AppArmor course: profiles, audit capture, clusters, pods.

Submodules each have one job and declare their public API in ``__all__``:

- :mod:`labs.runner`, :mod:`labs.errors`, :mod:`labs.results`: running tools, errors, results
- :mod:`labs.syscalls`, :mod:`labs.seccomp`: syscall tables; seccomp profiles (validate, build,
  diff, compare with RuntimeDefault, explain a denial); ``python -m labs.seccomp``
- :mod:`labs.audit`: audit-line parser and the netlink :class:`~labs.audit.AuditCollector`
- :mod:`labs.docker_lab`: one lab container under a seccomp profile (lesson 01, grader)
- :mod:`labs.host`, :mod:`labs.images`, :mod:`labs.doctor`: Docker engine, lab images, prerequisites
- :mod:`labs.cluster`, :mod:`labs.bundle`: kind clusters, the offline node image, node
  operations; the offline bundle for rooms with no network
- :mod:`labs.manifests`, :mod:`labs.pods`, :mod:`labs.namespaces`, :mod:`labs.pod_audit`:
  manifests and Pod Security, pods through the Kubernetes client, per-pod audit
- :mod:`labs.apparmor`: AppArmor syntax checks, node loading, records -> rules, the QEMU lane
- :mod:`labs.widgets`, :mod:`labs.plots`, :mod:`labs.progress`, :mod:`labs.lessons`: notebook
  widgets, charts, progress display, lesson helpers; :mod:`labs.student`: learner edition

Submodules are imported on demand (the Kubernetes client is slow to import).
"""
from .errors import *  # noqa: F401,F403
from .errors import __all__ as _errors_all
from .runner import CommandResult, run

__all__ = [*_errors_all, "CommandResult", "run"]
