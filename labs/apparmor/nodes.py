"""Load and unload AppArmor profiles in the kernel of kind nodes (or of this machine).

Why on each node: a pod's ``localhost/<name>`` profile must be loaded on the node that runs
it. On kind a node is a container (``docker exec``) sharing the host kernel, so the node's
``apparmor_parser`` loads it into that kernel; on other clusters the course's node agent runs
the same commands through the API (:mod:`labs.nodeops`). The profile text goes through stdin: no file
copying, no quoting problems. Before loading, each node's support is checked so that a
kernel without AppArmor gives one clear error instead of a parser message.
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .. import engine
from ..errors import CapabilityMissing, LabError
from ..nodeops import current_cluster, node_ops, on_cluster
from ..nodeops.base import NodeCluster
from ..paths import REPO_ROOT, state_dir
from ..results import Applied, Result
from ..runner import run
from .policy import require_safe_profile
from .syntax import check_profile_syntax, parser_error, read_profile_source

__all__ = [
    "MODES",
    "AppArmorSupport",
    "parse_support",
    "parse_loaded_profiles",
    "apparmor_support",
    "loaded_profiles",
    "load_profile_on_nodes",
    "apparmor_load_commands",
    "unload_profile_on_nodes",
    "load_profile_here",
    "unload_profile_here",
    "COURSE_PROFILE_PREFIXES",
    "foreign_profile_refusal",
]

MODES = ("enforce", "complain")
#: One shell line that prints the three facts containerd and the kubelet look at.
_PROBE = ("printf 'enabled=%s\\n' \"$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)\";"
          " [ -d /sys/kernel/security/apparmor ] && echo securityfs=yes;"
          " command -v apparmor_parser >/dev/null && echo parser=yes; true")
_PROFILES_FILE = "/sys/kernel/security/apparmor/profiles"
#: Names the course gives the profiles it ships and the grader's per-run copies.
COURSE_PROFILE_PREFIXES = ("course-", "grader-")
_LEDGER = "apparmor-loaded.txt"   # in the state folder: every other name this machine's course loaded
_NO_KERNEL_FIX = ("on a host whose Docker engine enforces AppArmor (Ubuntu, Debian, SUSE), `make cluster` "
                  "gives the default cluster an AppArmor-capable node")


@dataclass
class AppArmorSupport(Result):
    """What one node (or this machine) offers for AppArmor."""

    where: str
    kernel_enabled: bool     # /sys/module/apparmor/parameters/enabled is Y
    securityfs: bool         # /sys/kernel/security/apparmor is mounted
    parser: bool             # apparmor_parser is installed

    @property
    def ok(self) -> bool:
        return self.kernel_enabled and self.securityfs and self.parser

    def problem(self) -> CapabilityMissing | None:
        """The error to raise when profiles cannot be loaded here, else None."""
        if not self.kernel_enabled:
            return CapabilityMissing(f"{self.where}: the kernel has no AppArmor", fix=_NO_KERNEL_FIX)
        if not self.securityfs:
            return CapabilityMissing(f"{self.where}: /sys/kernel/security is not mounted",
                                     fix="mount it: mount -t securityfs securityfs /sys/kernel/security")
        if not self.parser:
            return CapabilityMissing(f"{self.where}: apparmor_parser is not installed",
                                     fix="the node image lacks it: " + _NO_KERNEL_FIX)
        return None


def parse_support(where: str, output: str) -> AppArmorSupport:
    """Read the probe's output (``enabled=Y``, ``securityfs=yes``, ``parser=yes`` lines)."""
    facts = dict(line.split("=", 1) for line in output.splitlines() if "=" in line)
    return AppArmorSupport(where, facts.get("enabled", "").startswith("Y"),
                           facts.get("securityfs") == "yes", facts.get("parser") == "yes")


def parse_loaded_profiles(text: str) -> dict[str, str]:
    """``/sys/kernel/security/apparmor/profiles`` lines (``name (mode)``) -> {name: mode}."""
    loaded = {}
    for line in text.splitlines():
        name, sep, mode = line.rstrip().rpartition(" (")
        if sep and mode.endswith(")"):
            loaded[name] = mode[:-1]
    return loaded


def _prefix(node: str | None) -> list[str]:
    return [] if node is None else engine.exec_args(node, [], interactive=True)


def _run_on(node: str | None, args: list[str], **kwargs):
    """On this machine (``node`` None) or on a node of the current cluster's node operations."""
    if node is None:
        return run(args, **kwargs)
    kwargs.pop("fix", None)
    return _node_ops().run(node, args, **kwargs)


def _where(node: str | None) -> str:
    return "this machine" if node is None else f"node {node}"


def apparmor_support(node: str | None = None) -> AppArmorSupport:
    """Probe a kind node (``docker exec``) or, with ``node=None``, this machine."""
    result = _run_on(node, ["sh", "-c", _PROBE], timeout=60)
    return parse_support(_where(node), result.stdout)


def loaded_profiles(node: str | None = None) -> dict[str, str]:
    """Profiles loaded in the kernel seen by ``node`` (or this machine): {name: mode}."""
    result = _run_on(node, ["cat", _PROFILES_FILE], timeout=60,
                 fix="this needs a kernel with AppArmor and root (see apparmor_support())")
    return parse_loaded_profiles(result.stdout)


def _ledger() -> Path:
    return state_dir() / _LEDGER


def _course_loaded() -> set[str]:
    path = _ledger()
    return set(path.read_text().split()) if path.exists() else set()


def _remember(name: str) -> None:
    if not name.startswith(COURSE_PROFILE_PREFIXES) and name not in _course_loaded():
        with _ledger().open("a") as ledger:
            ledger.write(name + "\n")


def foreign_profile_refusal(name: str, loaded: dict[str, str], course_loaded: set[str],
                            where: str, action: str) -> LabError | None:
    """The error when ``name`` is loaded in the kernel but the course did not create it (pure).

    Why: a kind node shares the host kernel, so replacing or removing a loaded profile changes
    every container on the machine (docker-default, cri-containerd.apparmor.d, the distribution's
    own). The course only touches names it ships (course-*, grader-*) or loaded itself.
    """
    if name not in loaded or name.startswith(COURSE_PROFILE_PREFIXES) or name in course_loaded:
        return None
    return LabError(f"refusing to {action} AppArmor profile {name} on {where}: a profile of that name is "
                    f"already loaded ({loaded[name]} mode) and the course did not create it",
                    fix="give your profile its own name (e.g. course-<app>); the course never replaces or "
                        "removes a profile it did not load, because the kernel is shared by the whole host")


def _require_ours(node: str | None, name: str, action: str) -> None:
    refusal = foreign_profile_refusal(name, loaded_profiles(node), _course_loaded(), _where(node), action)
    if refusal is not None:
        raise refusal


def _require_support(node: str | None, action: str) -> None:
    problem = apparmor_support(node).problem()
    if problem is not None:
        raise CapabilityMissing(f"failed to {action} on {_where(node)}: {problem.message}", fix=problem.fix)


def _load(node: str | None, text: str, name: str, mode: str) -> None:
    _require_support(node, f"load AppArmor profile {name}")
    _require_ours(node, name, "replace")
    args = ["apparmor_parser", "--replace", "--skip-cache"]
    if mode == "complain":
        args.append("--Complain")
    result = _run_on(node, args, input=text, check=False, timeout=300)
    if not result.ok:
        raise parser_error(result.stdout + result.stderr, f"profile {name} on {_where(node)}")
    _remember(name)


def _checked(source: str | Path, mode: str, node: str | None) -> tuple[str, str]:
    """Validate before touching any kernel: with this machine's parser, else the node's."""
    if mode not in MODES:
        raise LabError(f"unknown AppArmor mode {mode!r}", fix=f"use one of {', '.join(MODES)}")
    text, _ = read_profile_source(source)
    require_safe_profile(text)
    local = node is None or shutil.which("apparmor_parser") or _node_ops().mode != "kind"
    prefix = [] if local else _prefix(node)
    return text, check_profile_syntax(text, prefix=prefix)


def _unload(node: str | None, name: str) -> None:
    _require_support(node, f"unload AppArmor profile {name}")
    _require_ours(node, name, "remove")
    stub = f'profile "{name}" {{\n}}\n'
    result = _run_on(node, ["apparmor_parser", "--remove", "--skip-cache"], input=stub,
                     check=False, timeout=120)
    if not result.ok and "doesn't exist" not in result.stdout + result.stderr:
        raise parser_error(result.stdout + result.stderr, f"removing {name} on {_where(node)}")


def _resolved(config: NodeCluster | str) -> NodeCluster:
    """A config name becomes the course's cluster object. labs.cluster is imported here, not at the
    top: the AppArmor checks VM imports labs.apparmor with a bare python3 (no PyYAML for it)."""
    if not isinstance(config, str):
        return config
    from ..cluster.handle import as_cluster

    return as_cluster(config)


def _node_ops():
    """The node operations of the surrounding ``on_cluster``, else of the default cluster (a lesson
    that names a node only)."""
    return node_ops(current_cluster() or _resolved("default"))


def _nodes(cluster: NodeCluster, nodes: Iterable[str] | None) -> list[str]:
    if nodes is not None:
        return list(nodes)
    return node_ops(cluster).nodes()


def _file_label(source: str | Path, name: str) -> str:
    """The file name a learner would have the profile in."""
    if isinstance(source, Path) or ("\n" not in str(source) and "{" not in str(source)):
        path = Path(source).resolve()
        if path.is_relative_to(REPO_ROOT.resolve()):   # as typed from the notebook's folder
            return os.path.relpath(path, Path.cwd().resolve())
        return str(path)
    return f"{name.replace('/', '-')}.profile"   # profile text: save it under this name first


def apparmor_load_commands(filename: str, nodes: list[str], mode: str = "enforce") -> list[str]:
    """What a learner types to load ``filename`` on each kind node as the helper does (a kind
    node is a container: ``docker exec``; the text goes through stdin)."""
    complain = " --Complain" if mode == "complain" else ""
    return [f"{engine.binary()} exec -i {node} apparmor_parser --replace --skip-cache{complain} < {filename}"
            for node in nodes or ["<node>"]]


def load_profile_on_nodes(source: str | Path, *, config: NodeCluster | str = "default",
                          nodes: Iterable[str] | None = None, mode: str = "enforce") -> Applied:
    """Check ``source`` locally, then load it on every node (or ``nodes``); return node names
    (a list that, in Jupyter, also shows the profile text and the equivalent apparmor_parser
    command).

    ``mode="complain"`` loads it with ``apparmor_parser --Complain`` (logs, never blocks);
    a profile with ``flags=(complain)`` is in complain mode either way.
    """
    cluster = _resolved(config)
    targets = _nodes(cluster, nodes)
    with on_cluster(cluster):
        text, name = _checked(source, mode, targets[0] if targets else None)
        for node in targets:
            _load(node, text, name, mode)
    filename = _file_label(source, name)
    return Applied(
        targets, action=f"loaded AppArmor profile {name} ({mode} mode) on {len(targets)} node(s): "
                        f"{', '.join(targets)}",
        commands=[*apparmor_load_commands(filename, targets, mode),
                  *(engine.shown("exec", node, "grep", name, _PROFILES_FILE) for node in targets[:1])],
        content=text, content_label=f"{Path(filename).name}",
        note="--replace (-r) replaces a loaded profile of the same name, --Complain (-C) loads it in complain "
             "mode. kind nodes share the host kernel, so this profile is loaded host-wide. On a real node, with the "
             f"file in /etc/apparmor.d: sudo apparmor_parser -r -W{' -C' if mode == 'complain' else ''} "
             f"/etc/apparmor.d/{Path(filename).name} (-W also writes the compiled cache), on every node; a pod "
             f"names it as appArmorProfile: {{type: Localhost, localhostProfile: {name}}}.")


def unload_profile_on_nodes(name: str, *, config: NodeCluster | str = "default",
                            nodes: Iterable[str] | None = None) -> Applied:
    """Remove the profile ``name`` from every node's kernel; absent profiles are fine."""
    cluster = _resolved(config)
    targets = _nodes(cluster, nodes)
    with on_cluster(cluster):
        for node in targets:
            _unload(node, name)
    return Applied(targets, action=f"removed AppArmor profile {name} from {len(targets)} node(s)",
                   commands=[f"echo 'profile \"{name}\" {{}}' | {engine.binary()} exec -i {node} "
                             "apparmor_parser --remove --skip-cache" for node in targets],
                   note="apparmor_parser -R removes the profile with that name (on a real node: "
                        "sudo apparmor_parser -R /etc/apparmor.d/<file>).")


def load_profile_here(source: str | Path, *, mode: str = "enforce") -> str:
    """Load ``source`` into this machine's kernel (needs root and AppArmor); return its name."""
    text, name = _checked(source, mode, None)
    _load(None, text, name, mode)
    return name


def unload_profile_here(name: str) -> None:
    """Remove the profile ``name`` from this machine's kernel; absent profiles are fine."""
    _unload(None, name)
