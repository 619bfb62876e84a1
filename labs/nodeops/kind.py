"""Node operations on kind: a node is a local container, reached with ``docker exec``.

This is what the lessons show a learner on kind, so :meth:`KindNodeOps.shown` prints the
exact ``docker exec`` line.
"""
from __future__ import annotations

import shlex

from .. import engine
from ..runner import CommandResult
from .base import NodeOps

__all__ = ["KindNodeOps"]


class KindNodeOps(NodeOps):
    """``docker exec -i <node> ...``; the node names are the cluster's kind containers."""

    mode = "kind"

    def nodes(self) -> list[str]:
        return self.cluster.nodes()

    def command(self, node: str, args: list[str]) -> list[str]:
        return engine.exec_args(node, args, interactive=True)

    def run(self, node: str, args: list[str], *, input: str | bytes | None = None, check: bool = True,
            timeout: float = 120) -> CommandResult:
        return engine.exec(node, args, input=input if input is not None else b"", check=check, timeout=timeout,
                           fix=f"is the node running? `{engine.shown('ps', '--filter', f'name={node}')}`")

    def shown(self, node: str, args: list[str], *, stdin: str | None = None) -> str:
        flag = "-i " if stdin else ""
        return f"{engine.binary()} exec {flag}{node} {shlex.join(args)}" + (f" < {stdin}" if stdin else "")
