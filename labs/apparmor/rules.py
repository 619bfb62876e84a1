"""Turn AppArmor audit records into profile rules, non-interactively (aa-logprof's idea).

Why: the course's workflow is "audit first, enforce later". A profile in complain mode logs
``apparmor="ALLOWED"`` records for everything it would have denied; this module turns them
into the rules that allow exactly that, so the enforced profile matches the observed run.

Choices (aa-logprof asks the user; we decide and say so):
- File permissions are merged per path. Audit masks map to profile modes: ``r``->r,
  ``w``/``c`` (create)/``d`` (delete)/``t`` (truncate)->w, ``a``->a (dropped when w is
  present: the parser rejects ``wa``), ``l``->l, ``k``->k, ``m``->m, ``x``->``ix``.
  ``ix`` keeps an executed program inside the same profile; ``px``/``cx`` would need a
  second profile the records cannot write for you.
- ``/proc/<number>/`` becomes ``@{PROC}/@{pid}/`` (with ``owner``) so the rule survives the
  next run's pids; no other globbing: widening a path is a decision for a human.
- Capabilities become ``capability NAME,``; sockets ``network FAMILY [TYPE],``.
- Other operations (signal, ptrace, mount, ...) are not turned into rules; they are reported
  by :func:`unhandled_records` and listed as comments by :func:`profile_from_records`.
Both ``ALLOWED`` (complain mode) and ``DENIED`` (enforce mode) records count.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = [
    "PERMISSION_ORDER",
    "record_rule",
    "rules_from_records",
    "unhandled_records",
    "profile_from_records",
    "format_path",
]

#: Audit mask letter -> profile permission.
_MASK_TO_PERM = {"r": "r", "w": "w", "c": "w", "d": "w", "t": "w", "a": "a", "l": "l",
                 "k": "k", "m": "m", "x": "ix"}
PERMISSION_ORDER = ("r", "w", "a", "l", "k", "m", "ix")
_PROC_PID = re.compile(r"^/proc/\d+(?=/|$)")
_GLOB_CHARS = re.compile(r'([*?\[\]{}"\\^])')
_NETWORK_OPS = {"create", "bind", "connect", "listen", "accept", "sendmsg", "recvmsg",
                "getsockname", "getpeername", "getsockopt", "setsockopt", "shutdown",
                "socket_create", "socket_bind", "socket_connect"}
_COUNTED = {"ALLOWED", "DENIED"}


def _field(record, name: str):
    value = getattr(record, name, None)
    return value if value not in ("", None) else None


def _belongs(record, profile: str | None) -> bool:
    if profile is None:
        return True
    owner = _field(record, "profile") or ""
    return owner == profile or owner.startswith(profile + "//")


def format_path(path: str) -> str:
    """Write ``path`` as a rule path: escape glob characters, quote if it has blanks or a ``#``
    (unquoted, a ``#`` after a blank starts a comment, and the course refuses one joined to a word)."""
    generic = _PROC_PID.sub("@{PROC}/@{pid}", path)
    head, sep, tail = generic.partition("@{PROC}/@{pid}")
    escaped = (sep + _GLOB_CHARS.sub(r"\\\1", tail)) if sep else _GLOB_CHARS.sub(r"\\\1", head)
    return f'"{escaped}"' if re.search(r"[\s#]", escaped) else escaped


def _file_perms(mask: str) -> set[str]:
    return {_MASK_TO_PERM[ch] for ch in mask if ch in _MASK_TO_PERM}


def _canonical(perms: set[str]) -> str:
    if "w" in perms:
        perms = perms - {"a"}
    return "".join(p for p in PERMISSION_ORDER if p in perms)


def _kind(record) -> str | None:
    """'capability', 'network', 'file', or None when no rule can be derived."""
    if _field(record, "apparmor") not in _COUNTED:
        return None
    operation = _field(record, "operation") or ""
    if operation == "capable" and _field(record, "capname"):
        return "capability"
    if _field(record, "family") and (operation in _NETWORK_OPS or _field(record, "sock_type")):
        return "network"
    name = _field(record, "name")
    if name and name.startswith("/") and _file_perms(_field(record, "requested_mask") or ""):
        return "file"
    return None


def record_rule(record) -> str | None:
    """The single rule that allows what ``record`` asked for, or None."""
    rules = rules_from_records([record])
    return rules[0] if rules else None


def rules_from_records(records: Iterable, *, profile: str | None = None) -> list[str]:
    """Sorted, merged rules (each ending in a comma) for the records' requests.

    ``profile`` keeps only records of that profile (and its ``//`` children).
    """
    capabilities: set[str] = set()
    networks: set[str] = set()
    files: dict[str, set[str]] = {}
    for record in records:
        if not _belongs(record, profile):
            continue
        kind = _kind(record)
        if kind == "capability":
            capabilities.add(_field(record, "capname"))
        elif kind == "network":
            sock_type = _field(record, "sock_type")
            networks.add(" ".join(filter(None, [_field(record, "family"), sock_type])))
        elif kind == "file":
            path = format_path(_field(record, "name"))
            files.setdefault(path, set()).update(_file_perms(_field(record, "requested_mask")))
    rules = [f"capability {name}," for name in sorted(capabilities)]
    rules += [f"network {spec}," for spec in sorted(networks)]
    for path in sorted(files):
        owner = "owner " if path.startswith("@{PROC}/@{pid}") else ""
        rules.append(f"{owner}{path} {_canonical(files[path])},")
    return rules


def unhandled_records(records: Iterable, *, profile: str | None = None) -> list:
    """ALLOWED/DENIED records no rule was derived from (signal, ptrace, mount, ...)."""
    return [r for r in records
            if _belongs(r, profile) and _field(r, "apparmor") in _COUNTED and _kind(r) is None]


def profile_from_records(name: str, records: Iterable, *, base_rules: Iterable[str] = (),
                         flags: Iterable[str] = (), from_profile: str | None = None) -> str:
    """A complete profile named ``name`` from the records (of ``from_profile`` only, if given).

    ``base_rules`` come first (e.g. ``#include <abstractions/base>``); ``flags`` such as
    ``("attach_disconnected",)`` go into ``flags=(...)``. The result parses with
    apparmor_parser; load it in enforce mode to block everything not observed.
    """
    records = list(records)
    rules = rules_from_records(records, profile=from_profile)
    skipped = unhandled_records(records, profile=from_profile)
    flag_text = f" flags=({','.join(flags)})" if flags else ""
    lines = ["# Generated by labs.apparmor.profile_from_records from audit records.",
             "#include <tunables/global>", "", f"profile {name}{flag_text} {{"]
    lines += [f"  {rule}" for rule in base_rules]
    lines += [f"  {rule}" for rule in rules]
    for record in skipped:
        lines.append(f"  # not converted: operation={_field(record, 'operation')} "
                     f"name={_field(record, 'name')} requested={_field(record, 'requested_mask')}")
    lines.append("}")
    return "\n".join(lines) + "\n"
