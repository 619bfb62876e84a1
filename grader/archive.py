"""Unpack an untrusted submission archive (zip or tar) without trusting anything in it.

Refused, each with a message a student can act on: absolute paths and ``..`` (path
traversal), symlinks and hardlinks, devices and fifos, too many members, members or a total
larger than the limits, and compression ratios typical of zip bombs. Sizes are counted
while reading, so a lying header does not help. Files are written with mode 0600 into a
fresh directory; nothing in the archive is ever executed.
"""
from __future__ import annotations

import os
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from labs.errors import LabError

__all__ = ["ArchiveRefused", "Limits", "LIMITS", "extract_archive", "is_archive"]


class ArchiveRefused(LabError):
    """The archive breaks a safety rule; nothing of it is used."""


@dataclass(frozen=True)
class Limits:
    """Why these numbers: a real submission is a few small text files."""

    max_members: int = 200
    max_member_bytes: int = 2 * 1024 * 1024
    max_total_bytes: int = 20 * 1024 * 1024
    max_ratio: float = 100.0  # uncompressed / compressed, per member and in total
    max_depth: int = 8


LIMITS = Limits()
_FIX = "submit a plain .zip or .tar.gz of your exercise folder (regular files only)"


def is_archive(path: Path) -> bool:
    """Recognise archives by content, not name."""
    if not path.is_file():
        return False
    return zipfile.is_zipfile(path) or tarfile.is_tarfile(path)


def _safe_name(name: str, limits: Limits) -> PurePosixPath:
    if "\x00" in name or "\\" in name:
        raise ArchiveRefused(f"archive member {name!r} has a forbidden character", _FIX)
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise ArchiveRefused(f"archive member {name!r} has an absolute path", _FIX)
    parts = [p for p in PurePosixPath(name).parts if p not in ("", ".")]
    if ".." in parts:
        raise ArchiveRefused(f"archive member {name!r} points outside the archive (path traversal)", _FIX)
    if not parts:
        raise ArchiveRefused(f"archive member {name!r} has an empty name", _FIX)
    if len(parts) > limits.max_depth:
        raise ArchiveRefused(f"archive member {name!r} is nested too deeply", _FIX)
    return PurePosixPath(*parts)


def _copy_limited(src: IO[bytes], dest: Path, name: str, budget: list[int], limits: Limits,
                  compressed: int | None) -> None:
    written = 0
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as out:
        while chunk := src.read(65536):
            written += len(chunk)
            budget[0] += len(chunk)
            if written > limits.max_member_bytes:
                raise ArchiveRefused(f"archive member {name!r} is larger than "
                                     f"{limits.max_member_bytes // 1024} KiB", _FIX)
            if budget[0] > limits.max_total_bytes:
                raise ArchiveRefused(f"archive expands to more than {limits.max_total_bytes // 2**20} MiB", _FIX)
            if compressed is not None and written > 1024 * 1024 and written > limits.max_ratio * max(compressed, 1):
                raise ArchiveRefused(f"archive member {name!r} expands over {limits.max_ratio:g}x "
                                     "(looks like a zip bomb)", _FIX)
            out.write(chunk)


def _members_zip(archive: zipfile.ZipFile, limits: Limits) -> Iterator[tuple[str, str, int, int | None]]:
    for info in archive.infolist():
        # Unix file type bits, when the creator recorded them (many tools store only permissions)
        kind_bits = stat.S_IFMT((info.external_attr >> 16) & 0xFFFF)
        if info.is_dir():
            kind = "dir"
        elif kind_bits == stat.S_IFLNK:
            kind = "symlink"
        elif kind_bits not in (0, stat.S_IFREG):
            kind = "special"
        else:
            kind = "file"
        if info.flag_bits & 0x1:
            raise ArchiveRefused(f"archive member {info.filename!r} is encrypted", _FIX)
        yield info.filename, kind, info.file_size, info.compress_size


def _members_tar(archive: tarfile.TarFile) -> Iterator[tuple[str, str, int, int | None]]:
    for info in archive:
        if info.isdir():
            kind = "dir"
        elif info.issym():
            kind = "symlink"
        elif info.islnk():
            kind = "hardlink"
        elif info.isreg():
            kind = "file"
        else:
            kind = "special"
        yield info.name, kind, info.size, None


def extract_archive(path: Path, dest: Path, limits: Limits = LIMITS) -> Path:
    """Extract ``path`` into the empty directory ``dest``; raise :class:`ArchiveRefused`."""
    dest.mkdir(parents=True, exist_ok=True)
    if any(dest.iterdir()):
        raise ValueError(f"{dest} is not empty")
    try:
        return _extract(path, dest, limits)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, zlib.error, NotImplementedError) as exc:
        raise ArchiveRefused(f"{path.name} is damaged or uses an unsupported format ({exc})", _FIX) from None
    except OSError as exc:
        raise ArchiveRefused(f"{path.name} could not be unpacked safely ({exc.strerror or exc})", _FIX) from None


def _extract(path: Path, dest: Path, limits: Limits) -> Path:
    if path.stat().st_size > limits.max_total_bytes:
        raise ArchiveRefused(f"{path.name} is larger than {limits.max_total_bytes // 2**20} MiB", _FIX)
    budget = [0]
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            members = list(_members_zip(archive, limits))
            _check_members(members, limits)
            total_c = sum(c or 0 for _, _, _, c in members)
            total_u = sum(u for _, _, u, _ in members)
            if total_u > 1024 * 1024 and total_u > limits.max_ratio * max(total_c, 1):
                raise ArchiveRefused("archive expands over "
                                     f"{limits.max_ratio:g}x (looks like a zip bomb)", _FIX)
            for info, (name, kind, _, compressed) in zip(archive.infolist(), members, strict=True):
                target = _prepare(dest, name, kind, limits)
                if target is not None:
                    with archive.open(info) as src:
                        _copy_limited(src, target, name, budget, limits, compressed)
    elif tarfile.is_tarfile(path):
        with tarfile.open(path) as archive:  # transparent gzip/bz2/xz
            members = list(_members_tar(archive))
            _check_members(members, limits)
            for info, (name, kind, _, _) in zip(archive.getmembers(), members, strict=True):
                target = _prepare(dest, name, kind, limits)
                if target is not None:
                    src = archive.extractfile(info)
                    assert src is not None  # regular file, checked above
                    _copy_limited(src, target, name, budget, limits, None)
    else:
        raise ArchiveRefused(f"{path.name} is not a zip or tar archive", _FIX)
    return dest


def _check_members(members: list[tuple[str, str, int, int | None]], limits: Limits) -> None:
    if len(members) > limits.max_members:
        raise ArchiveRefused(f"archive has {len(members)} members; at most {limits.max_members} are allowed", _FIX)
    seen: set[PurePosixPath] = set()
    for name, kind, size, _ in members:
        clean = _safe_name(name, limits)
        if kind in ("symlink", "hardlink"):
            raise ArchiveRefused(f"archive member {name!r} is a {kind}; links are not accepted", _FIX)
        if kind == "special":
            raise ArchiveRefused(f"archive member {name!r} is a device, fifo or socket", _FIX)
        if kind == "file" and size > limits.max_member_bytes:
            raise ArchiveRefused(f"archive member {name!r} is larger than "
                                 f"{limits.max_member_bytes // 1024} KiB", _FIX)
        if kind == "file" and clean in seen:
            raise ArchiveRefused(f"archive member {name!r} appears twice", _FIX)
        seen.add(clean)


def _prepare(dest: Path, name: str, kind: str, limits: Limits) -> Path | None:
    clean = _safe_name(name, limits)
    target = dest.joinpath(*clean.parts)
    try:
        if kind == "dir":
            target.mkdir(parents=True, exist_ok=True, mode=0o700)
            return None
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError:
        raise ArchiveRefused(f"archive member {name!r} clashes with another member's path", _FIX) from None
    if not target.parent.resolve().is_relative_to(dest.resolve()):
        raise ArchiveRefused(f"archive member {name!r} points outside the archive", _FIX)
    return target
