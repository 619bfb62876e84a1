"""The one way ``labs`` runs external tools (docker, kind, kubectl, apparmor_parser).

Every failure becomes a :class:`~labs.errors.CommandError` holding the exact command,
quoted so it can be pasted into a terminal, and the combined output.
"""
from __future__ import annotations

import shlex
import shutil
import subprocess
from dataclasses import dataclass

from .errors import CommandError, EnvironmentProblem

__all__ = ["CommandResult", "run", "require_tool"]

#: What to install when a tool is missing from PATH.
INSTALL_HINTS = {
    "kind": "run `make cluster`, which installs kind v0.30.0 into .venv/bin",
    "kubectl": "run `make cluster`, which installs kubectl into .venv/bin",
    "apparmor_parser": "install the `apparmor` package (Debian/Ubuntu: apt-get install apparmor)",
    "debootstrap": "install debootstrap (Debian/Ubuntu: apt-get install debootstrap)",
    "qemu-system-x86_64": "install qemu (Debian/Ubuntu: apt-get install qemu-system-x86)",
}


@dataclass(frozen=True)
class CommandResult:
    """What a finished command returned."""

    command: str
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def require_tool(name: str) -> str:
    """Return the tool's path, or raise an error that says how to install it."""
    path = shutil.which(name)
    if path is None:
        raise EnvironmentProblem(f"`{name}` is not installed or not on PATH",
                                 fix=INSTALL_HINTS.get(name, f"install {name}"))
    return path


def run(
    args: list[str],
    *,
    input: str | bytes | None = None,
    check: bool = True,
    timeout: float | None = 300,
    fix: str | None = None,
    env: dict[str, str] | None = None,
) -> CommandResult:
    """Run ``args`` and capture its output as text.

    ``check=False`` returns non-zero results instead of raising; ``fix`` is the advice
    attached to the error when the command fails.
    """
    require_tool(args[0])
    command = shlex.join(args)
    data = input.encode() if isinstance(input, str) else input
    try:
        proc = subprocess.run(args, input=data, capture_output=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired as exc:
        output = (exc.stdout or b"").decode(errors="replace") + (exc.stderr or b"").decode(errors="replace")
        raise CommandError(command, None, output, fix=fix or f"the command took over {timeout}s") from None
    result = CommandResult(
        command,
        proc.returncode,
        proc.stdout.decode(errors="replace"),
        proc.stderr.decode(errors="replace"),
    )
    if check and not result.ok:
        raise CommandError(command, result.returncode, result.stdout + result.stderr, fix=fix)
    return result
