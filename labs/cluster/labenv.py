"""The shell environment a learner needs to reach the course cluster by hand: KUBECONFIG and PATH.

One definition, used three ways:

- ``make lab`` runs ``eval "$(python -m labs.cluster.labenv)"`` before it starts JupyterLab,
  so every JupyterLab terminal (and every kernel) inherits it: ``kubectl get nodes`` works
  at once;
- ``labs.widgets.setup_notebook()`` applies it to the kernel's ``os.environ``, so a cell like
  ``!kubectl get pods -n {ns}`` works even in a JupyterLab started some other way;
- the browser test starts its JupyterLab with :func:`lab_environment`.

``KUBECONFIG`` names the course's own file (``.state/kubeconfig``), never ``~/.kube/config``;
``PATH`` gets the folder where ``make cluster`` installed kind and kubectl (``.venv/bin``) first.
In your own terminal outside JupyterLab: ``eval "$(.venv/bin/python -m labs.cluster.labenv)"``.
"""
from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Mapping, MutableMapping
from pathlib import Path

from ..paths import tools_dir
from .handle import ClusterRef, as_cluster
from .lifecycle import cluster_exists, kind

__all__ = ["lab_environment", "ensure_kubeconfig", "apply_lab_environment", "shell_exports"]


def lab_environment(config: ClusterRef = "default", environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables to set: ``KUBECONFIG`` (the course cluster's file, even if the cluster
    does not exist yet) and ``PATH`` with the course's tool folder first (once)."""
    environ = os.environ if environ is None else environ
    tools = str(tools_dir())
    parts = [p for p in environ.get("PATH", "").split(os.pathsep) if p and p != tools]
    return {"KUBECONFIG": str(as_cluster(config).kubeconfig), "PATH": os.pathsep.join([tools, *parts])}


def ensure_kubeconfig(config: ClusterRef = "default") -> Path | None:
    """The kubeconfig file, written with ``kind export kubeconfig`` when the cluster exists but
    its file does not (a removed ``.state``); None when there is no cluster. Never raises."""
    cluster = as_cluster(config)
    path = cluster.kubeconfig
    if path.is_file():
        return path
    try:
        if not cluster_exists(cluster):
            return None
        kind(["export", "kubeconfig", "--name", cluster.name, "--kubeconfig", str(path)], timeout=60)
    except Exception:   # no docker, no kind, no cluster: the notebook still starts
        return None
    return path if path.is_file() else None


def apply_lab_environment(environ: MutableMapping[str, str] | None = None,
                          config: ClusterRef = "default") -> dict[str, str]:
    """Set :func:`lab_environment` in ``environ`` (default: this process's); returns what was set."""
    environ = os.environ if environ is None else environ
    cluster = as_cluster(config)
    ensure_kubeconfig(cluster)
    values = lab_environment(cluster, environ)
    environ.update(values)
    return values


def shell_exports(values: Mapping[str, str]) -> str:
    """``export NAME=value`` lines a POSIX shell can ``eval``."""
    return "".join(f"export {name}={shlex.quote(value)}\n" for name, value in values.items())


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    config = args[0] if args else "default"
    ensure_kubeconfig(config)
    sys.stdout.write(shell_exports(lab_environment(config)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
