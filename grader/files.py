"""Read a submission's files as data: size-capped, UTF-8, JSON or alias-free YAML.

Nothing from a submission is imported or executed. YAML anchors/aliases are refused because
an alias bomb ("billion laughs") expands to gigabytes when walked, and no exercise needs them.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from labs.errors import ManifestError, ProfileError

__all__ = ["SubmissionFileMissing", "read_text", "parse_json", "parse_yaml_documents", "MAX_FILE_BYTES"]

MAX_FILE_BYTES = 256 * 1024
MAX_YAML_DOCUMENTS = 10


class SubmissionFileMissing(ManifestError):
    """An expected file is not in the submission."""


def read_text(root: Path, name: str) -> str:
    """Return ``root/name`` as text; refuse links, non-files, huge or non-UTF-8 files."""
    path = root / name
    if path.is_symlink():
        raise ManifestError(f"{name} is a symbolic link; submit the file itself",
                            fix=f"replace the link with a copy of the file {name}")
    if not path.exists():
        raise SubmissionFileMissing(f"{name} is missing from the submission",
                                    fix=f"save your work as {name} in the exercise folder")
    if not path.is_file():
        raise ManifestError(f"{name} is not a regular file", fix=f"submit {name} as a plain text file")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ManifestError(f"{name} is larger than {MAX_FILE_BYTES // 1024} KiB",
                            fix="submit only the file the exercise asks for")
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ManifestError(f"{name} is not UTF-8 text (byte {exc.start})",
                            fix="save the file as plain UTF-8 text") from None


def parse_json(text: str, name: str) -> Any:
    """Parse JSON, turning syntax errors into a ProfileError with line and column."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProfileError(f"{name} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
                           fix="fix the JSON syntax; `python -m json.tool FILE` shows where") from None
    except RecursionError:
        raise ProfileError(f"{name} is nested too deeply", fix="submit a normal profile") from None


class _NoAliasLoader(yaml.SafeLoader):
    """SafeLoader that refuses anchors and aliases (alias bombs)."""

    def compose_node(self, parent, index):  # type: ignore[override]
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise ManifestError(f"YAML aliases (*{event.anchor}) are not accepted (line {event.start_mark.line + 1})",
                                fix="write the values out instead of using &anchors and *aliases")
        return super().compose_node(parent, index)


def parse_yaml_documents(text: str, name: str) -> list[dict]:
    """Parse one or more YAML documents that must each be a mapping (a Kubernetes object)."""
    try:
        docs = [d for d in yaml.load_all(text, Loader=_NoAliasLoader) if d is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise ManifestError(f"{name} is not valid YAML{where}: {getattr(exc, 'problem', exc)}",
                            fix="check the indentation; spaces only, no tabs") from None
    except RecursionError:
        raise ManifestError(f"{name} is nested too deeply", fix="submit a normal manifest") from None
    if not docs:
        raise ManifestError(f"{name} is empty", fix="write the manifest the exercise asks for")
    if len(docs) > MAX_YAML_DOCUMENTS:
        raise ManifestError(f"{name} has {len(docs)} documents; at most {MAX_YAML_DOCUMENTS} are accepted",
                            fix="submit only the objects the exercise asks for")
    for i, doc in enumerate(docs):
        if not isinstance(doc, dict):
            raise ManifestError(f"{name}: document {i + 1} is not a Kubernetes object (a mapping)",
                                fix="each document needs apiVersion, kind, metadata and spec")
    return docs
