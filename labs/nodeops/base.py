"""What the course does on a node, as plain commands; subclasses say how a command gets there.

Why one interface: on kind a node is a local container (``docker exec``), on any other cluster
the course reaches the node through a small agent pod (``kubectl exec`` through the API). The
commands themselves (write a profile file, list the folder, sweep a grading run's files) are
the same strings either way, so they are built here once and tested without a cluster.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Protocol

from ..errors import LabError
from ..names import KUBELET_SECCOMP_DIR, NODE_PROFILES_DIR
from ..runner import CommandResult

__all__ = ["SECCOMP_ROOT", "PROFILES_DIR", "APPARMOR_DIR", "CAPABILITY_PROBE", "NodeCluster", "NodeOps",
           "write_file_command", "list_dir_command", "sweep_command", "parse_listing", "parse_swept", "check_token"]

#: the kubelet's seccomp root and the course's profile folder in it (names kept for callers)
SECCOMP_ROOT = KUBELET_SECCOMP_DIR
PROFILES_DIR = NODE_PROFILES_DIR
#: the kernel's AppArmor interface (securityfs): loaded profiles, and .remove to unload by name
APPARMOR_DIR = "/sys/kernel/security/apparmor"
_TOKEN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
#: prints key=value lines about the node's kernel and containerd (labs.cluster.nodes parses them)
CAPABILITY_PROBE = r"""
echo "seccomp=$(grep -c '^Seccomp:' /proc/self/status)"
echo "apparmor_enabled=$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)"
echo "securityfs_apparmor=$([ -d /sys/kernel/security/apparmor ] && echo yes || echo no)"
echo "apparmor_parser=$(command -v apparmor_parser >/dev/null && echo yes || echo no)"
pid=$(systemctl show -p MainPID --value containerd 2>/dev/null || echo 0)
echo "containerd_pid=$pid"
if [ -n "$pid" ] && [ "$pid" != 0 ]; then
  echo "container_env=$(tr '\0' '\n' < /proc/$pid/environ | sed -n 's/^container=//p')"
fi
echo "in_pod=$([ -n "$KUBERNETES_SERVICE_HOST" ] && echo yes || echo no)"
"""


def check_token(token: str) -> str:
    """A grading run's token must be a DNS label: it ends up in file, profile and namespace names."""
    if not _TOKEN.match(token):
        raise LabError(f"bad grading token {token!r}", fix="use lowercase letters, digits and '-'")
    return token


def write_file_command(path: str) -> list[str]:
    """Write stdin to ``path`` (parents made); through a temporary name so a reader never sees half."""
    return ["sh", "-c", 'mkdir -p "$(dirname "$1")" && cat > "$1.tmp" && mv -f "$1.tmp" "$1"', "sh", path]


def list_dir_command(directory: str) -> list[str]:
    return ["sh", "-c", 'cd "$1" 2>/dev/null && ls -1A || true', "sh", directory]


def sweep_command(token: str, directory: str = PROFILES_DIR) -> list[str]:
    """Remove a grading run's files (``grader-<token>``, ``grader-<token>-*``) and unload its
    AppArmor profiles (``grader-<token>-*``).

    Unloading writes the name to the kernel's ``.remove`` file (what ``apparmor_parser -R``
    does), so it needs no parser; nodes without AppArmor skip that part. Prints what it removed.
    """
    prefix = f"grader-{check_token(token)}"
    script = ('if cd "$1" 2>/dev/null; then for f in "$2" "$2"-*; do [ -e "$f" ] || continue; '
              'rm -rf -- "$f" && echo "file $f"; done; fi; '
              f'if [ -w {APPARMOR_DIR}/.remove ]; then '
              f'sed -n "s/^\\($2-[^ ]*\\) (.*/\\1/p" {APPARMOR_DIR}/profiles | while read -r p; do '
              f'printf %s "$p" > {APPARMOR_DIR}/.remove && echo "apparmor $p"; done; fi; true')
    return ["sh", "-c", script, "sh", directory, prefix]


def parse_listing(text: str) -> list[str]:
    """``ls -1A`` output -> sorted names (pure)."""
    return sorted(line for line in text.splitlines() if line.strip())


def parse_swept(text: str) -> dict[str, list[str]]:
    """The sweep's ``file NAME`` / ``apparmor NAME`` lines -> {"files": [...], "apparmor": [...]}."""
    found: dict[str, list[str]] = {"files": [], "apparmor": []}
    for line in text.splitlines():
        kind, _, name = line.partition(" ")
        if name and kind in ("file", "apparmor"):
            found["files" if kind == "file" else "apparmor"].append(name)
    return found


class NodeCluster(Protocol):
    """What node operations need of a :class:`labs.cluster.Cluster` (labs.cluster imports this
    package, so it is handed in, never imported): its API kubeconfig and its kind node containers."""

    config: str
    kubeconfig: Path

    def nodes(self) -> list[str]: ...

    def node_containers(self) -> list: ...


class NodeOps:
    """The node operations of one cluster. Subclasses implement :meth:`nodes`, :meth:`run`
    (a command on a node, stdin optional) and :meth:`shown` (that command as a person types it)."""

    mode = "base"

    def __init__(self, cluster: NodeCluster | str = "default"):
        self.cluster = cluster

    def nodes(self) -> list[str]:
        raise NotImplementedError

    def run(self, node: str, args: list[str], *, input: str | bytes | None = None, check: bool = True,
            timeout: float = 120) -> CommandResult:
        raise NotImplementedError

    def shown(self, node: str, args: list[str], *, stdin: str | None = None) -> str:
        raise NotImplementedError

    def write_file(self, node: str, path: str, content: str | bytes) -> None:
        self.run(node, write_file_command(path), input=content)

    def remove_file(self, node: str, path: str) -> str:
        """Delete ``path`` (absent is fine); returns the command as typed."""
        self.run(node, ["rm", "-f", path])
        return self.shown(node, ["rm", "-f", path])

    def list_dir(self, node: str, directory: str = PROFILES_DIR) -> list[str]:
        return parse_listing(self.run(node, list_dir_command(directory)).stdout)

    def probe(self, node: str) -> str:
        """The capability probe's output (key=value lines)."""
        return self.run(node, ["sh", "-s"], input=CAPABILITY_PROBE).stdout

    def sweep(self, token: str, nodes: list[str] | None = None) -> dict[str, list[str]]:
        """Remove one grading run's files and AppArmor profiles from every node: {node: removed}."""
        removed = {}
        for node in self.nodes() if nodes is None else nodes:
            swept = parse_swept(self.run(node, sweep_command(token)).stdout)
            removed[node] = swept["files"] + swept["apparmor"]
        return removed

    def token_files(self, token: str, node: str) -> list[str]:
        """Files of one grading run on ``node`` (what a sweep would remove)."""
        prefix = f"grader-{check_token(token)}"
        return [name for name in self.list_dir(node) if name == prefix or name.startswith(prefix + "-")]
