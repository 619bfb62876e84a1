"""Load and validate seccomp profiles (the OCI / Docker / kubelet JSON format): the entry point.

"Valid JSON" is not "does what it says": containerd drops every key the runtime-spec does not
have and runc skips syscall names it cannot resolve, both without a word. So a profile is checked
on two levels, each in its own module and re-exported here:

* :func:`profile_problems` (:mod:`.problems`) -- errors: the profile is malformed, or says
  something no runtime will do (a typo in a key or a syscall name no architecture has, the
  legacy singular ``"name"`` that containerd drops). :func:`load_profile` refuses these.
* :func:`profile_warnings` (:mod:`.lint`) -- the profile loads, but look again: it refuses
  nothing, allows dangerous syscalls, makes a refused syscall report success, uses Docker-only
  keys containerd ignores, needs a seccomp agent, or names syscalls the node's architecture
  lacks.

This module reads the profile (file, JSON text or dict) with the JSON traps closed: duplicate
keys, ``NaN``, non-UTF-8 bytes, oversized files. The format's vocabulary is in :mod:`.spec`.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import ProfileError
from ..syscalls import SCMP_ARCH
from .lint import ProfileWarning, profile_warnings
from .problems import profile_problems
from .spec import ACTIONS, ALLOWING_ACTIONS, CONTAINERD_IGNORED_KEYS, FLAGS, MAX_PROFILE_BYTES, OPERATORS

__all__ = [
    "ACTIONS",
    "ALLOWING_ACTIONS",
    "OPERATORS",
    "FLAGS",
    "MAX_PROFILE_BYTES",
    "CONTAINERD_IGNORED_KEYS",
    "ProfileWarning",
    "load_profile",
    "profile_problems",
    "profile_warnings",
    "profile_architectures",
]


def profile_architectures(profile: dict) -> tuple[str, ...]:
    """Our table architectures named by a profile (all of them when it names none)."""
    tokens = profile.get("architectures") or list(SCMP_ARCH.values())
    return tuple(arch for arch, token in SCMP_ARCH.items() if token in tokens)


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict:
    seen = set()
    for key, _ in pairs:
        if key in seen:
            raise ProfileError(f"duplicate key {key!r}: JSON parsers keep only the last one",
                               fix="write each key once")
        seen.add(key)
    return dict(pairs)


def _reject_constant(name: str) -> None:
    raise ProfileError(f"{name} is not valid JSON", fix="use plain integers")


def _parse(text: str, where: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise ProfileError(f"invalid JSON in {where}: {exc.msg}",
                           path=f"line {exc.lineno}, column {exc.colno}",
                           fix="fix the JSON syntax (a trailing comma or a missing quote is common)") from None
    except RecursionError:
        raise ProfileError(f"{where} is nested too deeply", fix="profiles are flat: rules, names, args") from None


def _check_size(size: int, where: str) -> None:
    if size > MAX_PROFILE_BYTES:
        raise ProfileError(f"{where} is {size} bytes, over the {MAX_PROFILE_BYTES}-byte limit",
                           fix="a profile lists a few hundred names at most; check you chose the right file")


def _decode(data: bytes, where: str) -> str:
    _check_size(len(data), where)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProfileError(f"{where} is not UTF-8 (byte {exc.start} is 0x{data[exc.start]:02x})",
                           fix="save the file as UTF-8") from None


def _read(source: str | Path | bytes | dict) -> Any:
    if isinstance(source, dict):
        return source
    if isinstance(source, bytes):
        return _parse(_decode(source, "the profile"), "the profile")
    if isinstance(source, str) and source.lstrip().startswith(("{", "[")):
        return _parse(_decode(source.encode("utf-8", "surrogatepass"), "the profile"), "the profile")
    path = Path(source)
    try:
        _check_size(path.stat().st_size, str(path))
        data = path.read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        raise ProfileError(f"no profile file at {path}",
                           fix="check the path (relative to the notebook's folder)") from None
    return _parse(_decode(data, str(path)), str(path))


def load_profile(source: str | Path | bytes | dict) -> dict:
    """Read and validate a profile from a file path, JSON text (str starting with ``{``) or dict.

    Raises :class:`~labs.errors.ProfileError` for the first problem; its message lists the
    others and ``.problems`` holds them all.
    """
    profile = _read(source)
    problems = profile_problems(profile)
    if problems:
        first = problems[0]
        rest = "".join(f"\n  also {p.message}" for p in problems[1:])
        message = first.message.removeprefix(f"{first.path}: ")
        error = ProfileError(message + rest, path=first.path, fix=first.fix)
        error.problems = problems
        raise error
    return profile
