"""Turn what a learner or instructor points at into a folder of files the checks can read.

Accepted: an exercise folder, a single file (used as the exercise's only file), or a zip/tar
archive (unpacked by :mod:`grader.archive` under its limits into a private temp folder).
"""
from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from labs.errors import LabError

from .archive import extract_archive, is_archive
from .context import Exercise
from .files import MAX_FILE_BYTES

__all__ = ["SubmissionProblem", "prepared_submission"]


class SubmissionProblem(LabError):
    """The submission as a whole cannot be graded (nothing there, wrong shape)."""


def _single_top_folder(root: Path, exercise: Exercise) -> Path:
    """Archives often wrap files in one folder; descend into it when the files are not at the top."""
    entries = [p for p in root.iterdir() if not p.name.startswith(("__MACOSX", "."))]
    if not any((root / f).exists() for f in exercise.files.values()) and len(entries) == 1 and entries[0].is_dir() \
            and not entries[0].is_symlink():
        return entries[0]
    return root


@contextlib.contextmanager
def prepared_submission(path: str | Path, exercise: Exercise) -> Iterator[Path]:
    """Yield a folder holding the submission's files; temp copies are removed afterwards."""
    path = Path(path)
    if path.is_symlink():
        raise SubmissionProblem(f"{path.name} is a symbolic link", fix="submit the folder or archive itself")
    if not path.exists():
        raise SubmissionProblem(f"{path} does not exist", fix="save your work first, then run the check again")
    if path.is_dir():
        yield _single_top_folder(path, exercise)
        return
    tmp = Path(tempfile.mkdtemp(prefix="grader-sub-"))
    try:
        if is_archive(path):
            extract_archive(path, tmp / "files")
            yield _single_top_folder(tmp / "files", exercise)
            return
        if len(exercise.files) != 1:
            raise SubmissionProblem(f"{exercise.id} needs {len(exercise.files)} files "
                                    f"({', '.join(exercise.files.values())}), got the single file {path.name}",
                                    fix="submit the exercise folder or an archive of it")
        if path.stat().st_size > MAX_FILE_BYTES:
            raise SubmissionProblem(f"{path.name} is larger than {MAX_FILE_BYTES // 1024} KiB",
                                    fix="submit only the file the exercise asks for")
        (tmp / "files").mkdir()
        shutil.copyfile(path, tmp / "files" / next(iter(exercise.files.values())))
        yield tmp / "files"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
