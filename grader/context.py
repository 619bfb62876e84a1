"""Everything a check may use while grading one submission: files, names, cleanup.

``token`` makes every cluster object of this grading run unique and findable
(namespace ``grade-<token>``, node files and AppArmor profiles ``grader-<token>-*``), so a
grading run that was killed by its timeout can still be cleaned up by the batch driver, on kind
or through the node agent (``labs.nodeops``: ``NodeOps.sweep(token)``).
"""
from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from labs.cluster.handle import Cluster

from .files import parse_json, parse_yaml_documents, read_text

__all__ = ["Exercise", "GradingContext", "make_token"]

T = TypeVar("T")


@dataclass(frozen=True)
class Exercise:
    """An exercise as the grader sees it: which files it reads and which checks it runs."""

    id: str
    title: str
    files: dict[str, str]  # role -> file name in the submission folder
    checks: tuple  # tuple[Check, ...]
    cluster: str = "default"

    def check_by_id(self, check_id: str):
        return next(c for c in self.checks if c.id == check_id)


def make_token(*parts: str) -> str:
    """A short DNS-safe id derived from the parts (student id, exercise)."""
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:10]


@dataclass
class GradingContext:
    """Per-submission state shared by the checks of one grading run."""

    exercise: Exercise
    root: Path
    #: the cluster live checks use, resolved once for the run (a check that needs another
    #: cluster makes its own object; it never changes this one)
    cluster: Cluster
    token: str
    cache: dict[str, Any] = field(default_factory=dict)
    cleanup: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    def memo(self, key: str, compute: Callable[[], T]) -> T:
        """Compute once per grading run; errors are remembered too, so every check sees the same one."""
        if key not in self.cache:
            try:
                self.cache[key] = (True, compute())
            except Exception as exc:  # re-raised below, to each caller
                self.cache[key] = (False, exc)
        ok, value = self.cache[key]
        if not ok:
            raise value
        return value

    def filename(self, role: str) -> str:
        return self.exercise.files[role]

    def text(self, role: str) -> str:
        return self.memo(f"text:{role}", lambda: read_text(self.root, self.filename(role)))

    def json(self, role: str) -> Any:
        return self.memo(f"json:{role}", lambda: parse_json(self.text(role), self.filename(role)))

    def yaml(self, role: str) -> list[dict]:
        return self.memo(f"yaml:{role}", lambda: parse_yaml_documents(self.text(role), self.filename(role)))

    @property
    def namespace(self) -> str:
        return f"grade-{self.token}"

    def node_file(self, name: str) -> str:
        """File name for an object this run puts on nodes (profiles)."""
        return f"grader-{self.token}-{name}"
