"""Build the binary and link-bearing hostile submissions at test time (the repo stays text-only).

``build(dest)`` writes every case under ``dest`` and returns ``[(case, path, exercise, expect)]``;
``expect`` is a phrase the grade report must contain. Each spec below says what it attacks.
"""
from __future__ import annotations

import io
import os
import tarfile
import zipfile
from pathlib import Path

from labs.syscalls import all_syscalls

EX = "04-least-privilege-nginx"
GOOD = '{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"], "syscalls": []}\n'
REFUSED = "archive"  # every archive refusal message names the archive member or the archive


def _zip(path: Path, members: list[tuple[str, bytes]], *, mode: int | None = None) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            if mode is not None:
                info.external_attr = mode << 16
            zf.writestr(info, data)


def _tar(path: Path, members: list[tarfile.TarInfo], data: dict[str, bytes] | None = None) -> None:
    with tarfile.open(path, "w:gz") as tf:
        for info in members:
            payload = (data or {}).get(info.name)
            if payload is not None:
                info.size = len(payload)
            tf.addfile(info, io.BytesIO(payload) if payload is not None else None)


def _info(name: str, kind: bytes, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info


def build(dest: Path) -> list[tuple[str, Path, str, str]]:
    dest.mkdir(parents=True, exist_ok=True)
    cases: list[tuple[str, Path, str, str]] = []

    def add(case: str, exercise: str, expect: str) -> Path:
        path = dest / case
        cases.append((case, path, exercise, expect))
        return path

    # zip path traversal, absolute paths, backslashes, deep nesting, duplicates
    _zip(add("zip-traversal.zip", EX, "path traversal"), [("../../grader-corpus-escape.json", GOOD.encode())])
    _zip(add("zip-absolute.zip", EX, "absolute path"), [("/tmp/grader-corpus-escape.json", GOOD.encode())])
    _zip(add("zip-backslash.zip", EX, "forbidden character"), [("..\\..\\evil.json", GOOD.encode())])
    _zip(add("zip-deep.zip", EX, "nested too deeply"), [("/".join("d" * 12) + "/profile.json", GOOD.encode())])
    _zip(add("zip-duplicate.zip", EX, "appears twice"), [("profile.json", GOOD.encode()), ("./profile.json", b"{}")])
    # links and special files
    _zip(add("zip-symlink.zip", EX, "links are not accepted"), [("profile.json", b"/etc/passwd")], mode=0o120777)
    _zip(add("zip-fifo.zip", EX, "device, fifo or socket"), [("profile.json", b"")], mode=0o010644)
    links = "links are not accepted"
    _tar(add("tar-symlink.tar.gz", EX, links), [_info("profile.json", tarfile.SYMTYPE, "/etc/shadow")])
    _tar(add("tar-hardlink.tar.gz", EX, links), [_info("profile.json", tarfile.LNKTYPE, "/etc/shadow")])
    _tar(add("tar-fifo.tar.gz", EX, "device, fifo or socket"), [_info("profile.json", tarfile.FIFOTYPE)])
    _tar(add("tar-chardev.tar.gz", EX, "device, fifo or socket"), [_info("profile.json", tarfile.CHRTYPE)])
    _tar(add("tar-traversal.tar.gz", EX, "path traversal"), [_info("../grader-corpus-escape.json", tarfile.REGTYPE)],
         {"../grader-corpus-escape.json": GOOD.encode()})
    # size limits: zip bomb by ratio, oversize member, too many members, too much in total
    _zip(add("zip-bomb-ratio.zip", EX, "zip bomb"), [("profile.json", b"\0" * (1536 * 1024))])
    _zip(add("zip-oversize-member.zip", EX, "larger than"), [("profile.json", os.urandom(3 * 1024 * 1024))])
    _zip(add("zip-too-many.zip", EX, "at most 200 are allowed"), [(f"f{i}.txt", b"x") for i in range(300)])
    _zip(add("zip-total-too-big.zip", EX, "expands to more than"),
         [(f"part{i}.txt", os.urandom(950 * 1024).hex().encode()) for i in range(11)])
    # damaged or disguised archives
    good = io.BytesIO()
    with zipfile.ZipFile(good, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("profile.json", GOOD * 200)
    add("zip-truncated.zip", EX, "is not UTF-8 text").write_bytes(good.getvalue()[: len(good.getvalue()) // 2])
    # files that are not text or not files
    folder = add("binary-profile", EX, "is not UTF-8 text")
    folder.mkdir()
    (folder / "profile.json").write_bytes(b"\xff\xfe\x00garbage\x80")
    folder = add("huge-profile", EX, "is larger than 256 KiB")
    folder.mkdir()
    (folder / "profile.json").write_text(" " * (300 * 1024) + GOOD)
    folder = add("symlink-profile", EX, "is a symbolic link")
    folder.mkdir()
    (folder / "profile.json").symlink_to("/etc/passwd")
    folder = add("everything-list", "03-audit", "that is padding")
    folder.mkdir()

    (folder / "syscalls.txt").write_text("\n".join(all_syscalls("x86_64")) + "\n")
    return cases
