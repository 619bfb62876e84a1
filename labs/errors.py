"""The few exception classes every ``labs`` helper raises.

Hierarchy (catch ``LabError`` to handle all of them)::

    LabError                      base: .message says what failed, .fix what to do next
    ├── CommandError              an external command (docker, kind, kubectl, ...) failed
    ├── ProfileError              a seccomp or AppArmor profile is malformed or unsafe
    ├── ManifestError             a Kubernetes manifest is broken or not allowed
    ├── EnvironmentProblem        the machine lacks something (Docker engine, cluster, LSM)
    │   └── CapabilityMissing     a node/host cannot do a thing (e.g. no AppArmor LSM)
    ├── WorkloadFailed            a pod or container did not reach the expected state
    └── LabTimeout                a wait ran out of time

Every error renders as a short, friendly block in Jupyter (no traceback needed) through
``_repr_html_`` and as plain text through ``str()``.
"""
from __future__ import annotations

import html

__all__ = [
    "LabError",
    "CommandError",
    "ProfileError",
    "ManifestError",
    "EnvironmentProblem",
    "CapabilityMissing",
    "WorkloadFailed",
    "LabTimeout",
]


class LabError(Exception):
    """Base class: a problem the learner can act on."""

    def __init__(self, message: str, fix: str | None = None):
        self.message = message
        self.fix = fix
        super().__init__(self.__str__())

    def __str__(self) -> str:
        return self.message if not self.fix else f"{self.message}\n  fix: {self.fix}"

    def _repr_html_(self) -> str:
        fix = f"<div><b>What to do:</b> {html.escape(self.fix)}</div>" if self.fix else ""
        return (
            '<div style="border-left:4px solid #c0392b;padding:4px 8px">'
            f"<b>{type(self).__name__}:</b> {html.escape(self.message)}{fix}</div>"
        )


class CommandError(LabError):
    """An external command failed; carries the pasteable command and its output."""

    def __init__(self, command: str, returncode: int | None, output: str, fix: str | None = None):
        self.command = command
        self.returncode = returncode
        self.output = output
        status = "timed out" if returncode is None else f"exited with {returncode}"
        tail = output.strip()[-2000:]
        super().__init__(f"command {status}: {command}" + (f"\n{tail}" if tail else ""), fix)


class ProfileError(LabError):
    """A profile is malformed; ``path`` is the JSON path (``$.syscalls[2].action``) or line."""

    def __init__(self, message: str, path: str = "$", fix: str | None = None):
        self.path = path
        super().__init__(f"{path}: {message}", fix)


class ManifestError(LabError):
    """A manifest cannot be used as given."""


class EnvironmentProblem(LabError):
    """Something the lab needs is not installed or not running."""


class CapabilityMissing(EnvironmentProblem):
    """The host or node lacks a kernel/runtime capability (AppArmor, audit, seccomp)."""


class WorkloadFailed(LabError):
    """A pod or container failed; ``reason`` is machine-readable (e.g. CreateContainerError)."""

    def __init__(self, message: str, reason: str = "", fix: str | None = None, details: str = ""):
        self.reason = reason
        self.details = details
        super().__init__(message, fix)


class LabTimeout(LabError):
    """A wait ran out of time."""
