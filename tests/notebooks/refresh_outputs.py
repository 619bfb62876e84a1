"""Re-record the stored outputs of ``compare``-tagged cells: ``python -m tests.notebooks.refresh_outputs [NN ...]``.

Executes each lesson with solutions applied, keeps outputs only on ``compare`` cells and
writes the notebook back clean otherwise. Review the git diff before committing.
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from pytest_notebook.post_processors import coalesce_streams

from .nbtools import COMPARE_TAG, LESSONS, NOTEBOOKS, exec_env, tags


def refresh(path: Path) -> None:
    stored = nbformat.read(path, as_version=4)
    run = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory() as workspace:
        os.environ.update(exec_env(Path(workspace), solutions=True))
        NotebookClient(run, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    run, _ = coalesce_streams(run, {})   # the same post-processing the notebook test applies
    for kept, executed in zip(stored.cells, run.cells, strict=True):
        if kept.cell_type == "code":
            kept.outputs = executed.outputs if COMPARE_TAG in tags(kept) else []
            kept.execution_count = None
    stored.metadata.pop("widgets", None)
    nbformat.write(stored, path)


def main(argv: list[str]) -> int:
    chosen = [p for p in LESSONS if not argv or p.name[:2] in argv]
    for path in chosen:
        print(f"refreshing {path.name}", flush=True)
        refresh(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
