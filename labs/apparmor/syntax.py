"""Check an AppArmor profile with the real ``apparmor_parser``, without loading it.

Why: a typo in a profile otherwise surfaces only when a pod fails to start on a node. The
parser compiles the profile fully with ``--skip-kernel-load`` (works on kernels without
AppArmor), so every syntax and semantic error is caught on the learner's own machine, and
the error keeps the parser's line number.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from ..errors import ProfileError
from ..runner import run

__all__ = ["read_profile_source", "parser_error", "profile_names", "check_profile_syntax"]

#: Noise the parser prints on kernels without AppArmor; never part of an error.
_NOISE = re.compile(r"^Cache read/write disabled: .*$|^Warning: unable to find a suitable fs in .*$")
_LINE = re.compile(r"\bat line (\d+):\s*(.*)")


def read_profile_source(source: str | Path) -> tuple[str, str]:
    """Return ``(text, label)``: a Path, or a one-line string without ``{``, names a file."""
    if isinstance(source, Path) or ("\n" not in source and "{" not in source):
        path = Path(source)
        if not path.is_file():
            raise ProfileError(f"no such profile file: {path}", path="file",
                               fix="check the path (profiles live in labs/profiles/apparmor/)")
        return path.read_text(), str(path)
    return source, "<profile text>"


def parser_error(output: str, label: str) -> ProfileError:
    """Turn apparmor_parser's output into a ProfileError that names the line."""
    lines = [line for line in output.strip().splitlines() if line.strip() and not _NOISE.match(line)]
    text = "\n".join(lines) or "apparmor_parser rejected the profile (no message)"
    match = _LINE.search(text)
    if match:
        return ProfileError(f"{label}: {match.group(2)}", path=f"line {match.group(1)}",
                            fix="fix that line (AppArmor rules end with a comma; blocks close with })")
    return ProfileError(f"{label}: {text}", path="profile",
                        fix="declare every @{variable} you use and #include only files under /etc/apparmor.d")


def profile_names(text: str, *, prefix: Sequence[str] = ()) -> list[str]:
    """Names of the profiles defined in ``text``, as apparmor_parser reports them.

    ``prefix`` runs the parser elsewhere, e.g. ``engine.exec_args(node, [], interactive=True)``.
    """
    result = run([*prefix, "apparmor_parser", "--skip-kernel-load", "--skip-cache", "--names"],
                 input=text, check=False)
    if not result.ok:
        raise parser_error(result.stdout + result.stderr, "<profile text>")
    return [line.strip() for line in result.stdout.splitlines() if line.strip()]


def check_profile_syntax(source: str | Path, *, prefix: Sequence[str] = ()) -> str:
    """Compile ``source`` (text or file) without loading it; return the (first) profile's name.

    Raises ProfileError with ``path="line N"`` when the parser rejects it. ``prefix`` runs
    the parser elsewhere (a kind node) when this machine has none.
    """
    text, label = read_profile_source(source)
    result = run([*prefix, "apparmor_parser", "--skip-kernel-load", "--skip-cache"], input=text,
                 check=False)
    if not result.ok:
        raise parser_error(result.stdout + result.stderr, label)
    names = profile_names(text, prefix=prefix)
    if not names:
        raise ProfileError(f"{label}: defines no profile", path="profile",
                           fix="wrap the rules in `profile NAME { ... }`")
    return names[0]
