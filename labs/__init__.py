"""Helpers for the seccomp & AppArmor course: profiles, audit capture, clusters, pods.

Submodules each have one job and declare their public API in ``__all__``:

- :mod:`labs.runner`, :mod:`labs.errors`, :mod:`labs.results`: running tools, errors, results
"""
from .errors import *  # noqa: F401,F403
from .errors import __all__ as _errors_all
from .runner import CommandResult, run

__all__ = [*_errors_all, "CommandResult", "run"]
