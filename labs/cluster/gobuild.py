"""Build the node image's Go programs from the Go module proxy: no registry, no git clones.

Why wrapper modules: ``go install k8s.io/kubernetes/cmd/...@v1.34.N`` is refused because the
kubernetes module replaces its ``k8s.io/*`` staging modules with ``./staging/...`` folders that
its module zip leaves out. A tiny main module that requires k8s.io/kubernetes and replaces each
staging module with its published ``v0.<minor>.<patch>`` release builds the same code. etcd's
server module has local replace directives too, so it gets a wrapper the same way.

Builds use ``GOTOOLCHAIN=local CGO_ENABLED=0 go build -trimpath`` and the default GOCACHE and
GOMODCACHE, so a second build (and a CI cache of ~/.cache/go-build) relinks in seconds.
"""
from __future__ import annotations

import functools
import json
import os
import re
from pathlib import Path

from ..errors import EnvironmentProblem
from ..runner import require_tool, run
from .versions import staging_version

__all__ = [
    "KUBERNETES_COMMANDS",
    "go_env",
    "go_version_tuple",
    "module_info",
    "staging_modules",
    "version_ldflags",
    "write_wrapper_module",
    "build_kubernetes",
    "build_etcd",
    "install_go_program",
]

#: the Kubernetes programs a node needs (kube-proxy is left out: the configs skip its phase)
KUBERNETES_COMMANDS = ("kubeadm", "kubelet", "kubectl", "kube-apiserver",
                       "kube-controller-manager", "kube-scheduler")
#: a placeholder date keeps the ldflags (and so the build) reproducible
BUILD_DATE = "2026-01-01T00:00:00Z"
GO_TIMEOUT = 3600
GO_FIX = "check that the Go module proxy is reachable (`go env GOPROXY`) and Go >= 1.24 is installed"


MIN_GO = (1, 24)   # Kubernetes v1.34's go.mod


def go_version_tuple(version: str) -> tuple[int, int]:
    """'go1.26.8' -> (1, 26)."""
    match = re.match(r"go(\d+)\.(\d+)", version)
    if not match:
        raise EnvironmentProblem(f"cannot read the Go version {version!r}", fix="check `go version`")
    return int(match[1]), int(match[2])


#: every go command: the machine's toolchain (never a download), static binaries
LOCAL_GO = {"GOTOOLCHAIN": "local", "CGO_ENABLED": "0"}


@functools.cache
def _checked_go_version() -> str:
    """The local Go's version, refused when too old (asked once per process)."""
    require_tool("go")
    version = run(["go", "env", "GOVERSION"], env={**os.environ, **LOCAL_GO}).stdout.strip()
    if go_version_tuple(version) < MIN_GO:
        raise EnvironmentProblem(
            f"Go {version} is too old to build Kubernetes v1.34 (needs go{MIN_GO[0]}.{MIN_GO[1]})",
            fix="install a current Go from https://go.dev/dl/ (Debian's golang package is older) "
                "and put it first on PATH")
    return version


def go_env() -> dict[str, str]:
    """The environment of every go command, once the local Go is known to be recent enough."""
    _checked_go_version()
    return {**os.environ, **LOCAL_GO}


def _go(args: list[str], workdir: Path | None = None, timeout: float = GO_TIMEOUT, **env: str) -> str:
    prefix = ["go", "-C", str(workdir)] if workdir else ["go"]
    return run([*prefix, *args], env={**go_env(), **env}, timeout=timeout, fix=GO_FIX).stdout


def module_info(module: str, version: str, workdir: Path) -> dict:
    """``go mod download -json``: the module's cache folder (``Dir``) and go.mod path (``GoMod``)."""
    return json.loads(_go(["mod", "download", "-json", f"{module}@{version}"], workdir))


def staging_modules(gomod: dict) -> list[str]:
    """Module paths a go.mod (as ``go mod edit -json`` prints it) replaces with ./staging folders."""
    return sorted(r["Old"]["Path"] for r in gomod.get("Replace") or []
                  if r["New"]["Path"].startswith("./staging/"))


def version_ldflags(version: str) -> str:
    """-ldflags that stamp the version into the binaries: kubeadm derives image tags from it."""
    major, minor = version.lstrip("v").split(".")[:2]
    values = {"gitVersion": version, "gitMajor": major, "gitMinor": minor,
              "gitTreeState": "clean", "buildDate": BUILD_DATE, "gitCommit": "0" * 40}
    flags = ["-s", "-w"]
    for package in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [f"-X {package}.{key}={value}" for key, value in values.items()]
    return " ".join(flags)


def write_wrapper_module(workdir: Path, module: str, requires: dict[str, str],
                         replaces: dict[str, str], programs: list[str], go_version: str) -> None:
    """Write a main module that requires ``requires`` (path -> version), replaces ``replaces``
    (path -> version of the same path), and imports ``programs`` from a build-tagged file so
    ``go mod tidy`` records every dependency in go.sum."""
    workdir.mkdir(parents=True, exist_ok=True)
    for stale in ("go.mod", "go.sum"):
        (workdir / stale).unlink(missing_ok=True)
    (workdir / "go.mod").write_text(f"module {module}\n\ngo {go_version}\n")
    edits = [f"-require={path}@{version}" for path, version in requires.items()]
    edits += [f"-replace={path}={path}@{version}" for path, version in replaces.items()]
    _go(["mod", "edit", *edits], workdir)
    imports = "".join(f'\t_ "{program}"\n' for program in programs)
    (workdir / "tools.go").write_text(f"//go:build tools\n\npackage tools\n\nimport (\n{imports})\n")
    _go(["mod", "tidy"], workdir)


def _stamp_matches(out_dir: Path, names: list[str], stamp: str) -> bool:
    stamp_file = out_dir / ".stamp"
    return (stamp_file.is_file() and stamp_file.read_text() == stamp
            and all((out_dir / name).is_file() for name in names))


def build_kubernetes(version: str, workdir: Path) -> dict[str, Path]:
    """Build KUBERNETES_COMMANDS at ``version`` into ``workdir/bin``; name -> binary path."""
    out = workdir / "bin"
    ldflags = version_ldflags(version)
    stamp = f"{version}\n{ldflags}\n"
    if not _stamp_matches(out, list(KUBERNETES_COMMANDS), stamp):
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "go.mod").write_text("module course.local/probe\n")
        info = module_info("k8s.io/kubernetes", version, workdir)
        upstream = json.loads(_go(["mod", "edit", "-json", info["GoMod"]], workdir))
        staging = staging_version(version)
        write_wrapper_module(workdir, "course.local/kubernetes-binaries",
                             {"k8s.io/kubernetes": version},
                             {path: staging for path in staging_modules(upstream)},
                             [f"k8s.io/kubernetes/cmd/{name}" for name in KUBERNETES_COMMANDS],
                             upstream["Go"])
        out.mkdir(exist_ok=True)
        _go(["build", "-trimpath", "-ldflags", ldflags, "-o", f"{out}/",
             *[f"k8s.io/kubernetes/cmd/{name}" for name in KUBERNETES_COMMANDS]], workdir)
        (out / ".stamp").write_text(stamp)
    return {name: out / name for name in KUBERNETES_COMMANDS}


def build_etcd(version: str, workdir: Path) -> Path:
    """Build etcd ``version`` (e.g. v3.6.5) from go.etcd.io/etcd/server/v3 into workdir/bin."""
    out = workdir / "bin"
    if not _stamp_matches(out, ["etcd"], version):
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "go.mod").write_text("module course.local/probe\n")
        info = module_info("go.etcd.io/etcd/server/v3", version, workdir)
        upstream = json.loads(_go(["mod", "edit", "-json", info["GoMod"]], workdir))
        write_wrapper_module(workdir, "course.local/etcd-binary",
                             {"go.etcd.io/etcd/server/v3": version}, {},
                             ["go.etcd.io/etcd/server/v3"], upstream["Go"])
        out.mkdir(exist_ok=True)
        _go(["build", "-trimpath", "-ldflags", "-s -w", "-o", str(out / "etcd"),
             "go.etcd.io/etcd/server/v3"], workdir)
        (out / ".stamp").write_text(version)
    return out / "etcd"


def install_go_program(package: str, version: str, gobin: Path) -> Path:
    """``go install package@version`` into ``gobin`` (modules without local replaces only)."""
    gobin.mkdir(parents=True, exist_ok=True)
    _go(["install", "-trimpath", "-ldflags", "-s -w", f"{package}@{version}"], GOBIN=str(gobin))
    binary = gobin / package.rsplit("/", 1)[-1]
    if not binary.is_file():
        raise EnvironmentProblem(f"`go install {package}@{version}` left no {binary}",
                                 fix="run the command by hand and read its output")
    return binary
