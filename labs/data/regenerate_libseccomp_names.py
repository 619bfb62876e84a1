"""Regenerate ``libseccomp-syscalls.json``: every syscall name libseccomp knows, on any architecture.

Why: runc resolves each name of a profile through libseccomp for the node's architecture and
silently skips names that do not exist there. So a name is a *typo* only when no architecture
knows it; a name of another architecture (``riscv_hwprobe``, ``sync_file_range2``,
``swapcontext`` in Docker's default profile) is fine, and worth a note at most. The course's own
tables (``syscalls-<arch>.json``) cover x86_64/aarch64 and the compat ABIs only; this file covers
every architecture libseccomp supports.

Source: libseccomp's own resolver table, read through its public API with ctypes
(``seccomp_syscall_resolve_num_arch`` to enumerate, ``seccomp_syscall_resolve_name_arch`` to
place each name on each architecture: a number >= 0 means the architecture has the syscall, a
negative "pseudo" number means libseccomp knows the name but that architecture lacks it).
Every answer for x86_64 and aarch64 is cross-checked with ``scmp_sys_resolver`` (Debian
package ``seccomp``), the same resolver on the command line.

The committed file was made from libseccomp 2.6.0 (Debian trixie's ``libseccomp2`` and
``seccomp`` packages, downloaded and unpacked, never installed) because bookworm's 2.5.4 does
not know syscalls added after Linux 6.1 (``riscv_hwprobe``, ``lsm_*``, ``mseal``, ...)::

    python -m labs.data.regenerate_libseccomp_names --debian-suite trixie

Without ``--debian-suite`` the machine's own libseccomp and ``scmp_sys_resolver`` are used.
``--check`` compares with the committed file and exits 1 when they differ, writing nothing.
"""
from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from labs.errors import EnvironmentProblem
from labs.runner import run

__all__ = ["ARCH_CANDIDATES", "Resolver", "collect", "fetch_debian", "main"]

DATA = Path(__file__).resolve().parent
OUTPUT = DATA / "libseccomp-syscalls.json"
#: Architecture names libseccomp's ``seccomp_arch_resolve_name`` may know (2.5 and 2.6); the
#: ones the library does not know are left out of the table.
ARCH_CANDIDATES = ("x86", "x86_64", "x32", "arm", "aarch64", "loongarch64", "m68k", "mips", "mipsel",
                   "mips64", "mipsel64", "mips64n32", "mipsel64n32", "parisc", "parisc64", "ppc",
                   "ppc64", "ppc64le", "s390", "s390x", "riscv64", "sh", "sheb")
#: Native numbers 0..N-1 (plus the architecture's base, and ARM's private range) and pseudo numbers
#: -10000..-10000-N are enumerated on every architecture: together they reach every row of
#: libseccomp's table (pseudo numbers alone do not: libseccomp 2.6.0 gives sys_debug_setcontext and
#: switch_endian the same one on x86_64).
NATIVE_RANGE = 1100
NATIVE_BASES = {"x32": (0, 0x40000000), "mips": (0, 4000), "mipsel": (0, 4000), "mips64": (0, 5000),
                "mipsel64": (0, 5000), "mips64n32": (0, 6000), "mipsel64n32": (0, 6000), "arm": (0, 0x0F0000)}
PSEUDO_BASE = -10000
PSEUDO_RANGE = 1000
#: libseccomp's "unknown name" answer (__NR_SCMP_ERROR).
NR_ERROR = -1
CROSS_CHECKED = ("x86_64", "aarch64")


class _Version(ctypes.Structure):
    _fields_ = [("major", ctypes.c_uint), ("minor", ctypes.c_uint), ("micro", ctypes.c_uint)]


class Resolver:
    """libseccomp's resolver functions, from one shared library file."""

    def __init__(self, library: str | None = None):
        path = library or ctypes.util.find_library("seccomp") or "libseccomp.so.2"
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            raise EnvironmentProblem(f"cannot load libseccomp from {path}",
                                     fix="apt-get install libseccomp2 seccomp, or pass --debian-suite") from None
        lib.seccomp_version.restype = ctypes.POINTER(_Version)
        lib.seccomp_arch_resolve_name.restype = ctypes.c_uint32
        lib.seccomp_arch_resolve_name.argtypes = [ctypes.c_char_p]
        lib.seccomp_syscall_resolve_num_arch.restype = ctypes.c_void_p
        lib.seccomp_syscall_resolve_num_arch.argtypes = [ctypes.c_uint32, ctypes.c_int]
        lib.seccomp_syscall_resolve_name_arch.restype = ctypes.c_int
        lib.seccomp_syscall_resolve_name_arch.argtypes = [ctypes.c_uint32, ctypes.c_char_p]
        self.lib = lib
        self.path = path
        self._libc = ctypes.CDLL(None)
        self._libc.free.argtypes = [ctypes.c_void_p]

    @property
    def version(self) -> str:
        v = self.lib.seccomp_version().contents
        return f"{v.major}.{v.minor}.{v.micro}"

    def arch_token(self, arch: str) -> int:
        return self.lib.seccomp_arch_resolve_name(arch.encode())

    def name_of(self, token: int, number: int) -> str | None:
        pointer = self.lib.seccomp_syscall_resolve_num_arch(token, number)
        if not pointer:
            return None
        try:
            return ctypes.string_at(pointer).decode()
        finally:
            self._libc.free(pointer)

    def number_of(self, token: int, name: str) -> int:
        return self.lib.seccomp_syscall_resolve_name_arch(token, name.encode())


def collect(resolver: Resolver) -> tuple[dict, list[str]]:
    """The table (name -> architectures that have it) and the architectures libseccomp knows."""
    arches = [a for a in ARCH_CANDIDATES if resolver.arch_token(a)]
    tokens = {a: resolver.arch_token(a) for a in arches}
    names: set[str] = set()
    for arch, token in tokens.items():
        for base in NATIVE_BASES.get(arch, (0,)):
            for number in range(base, base + NATIVE_RANGE):
                name = resolver.name_of(token, number)
                if name:
                    names.add(name)
        for offset in range(PSEUDO_RANGE):
            name = resolver.name_of(token, PSEUDO_BASE - offset)
            if name:
                names.add(name)
    table = {}
    for name in sorted(names):
        numbers = {a: resolver.number_of(t, name) for a, t in tokens.items()}
        if all(n == NR_ERROR for n in numbers.values()):
            continue  # cannot happen for an enumerated name; kept out if it ever does
        table[name] = [a for a in arches if numbers[a] >= 0]
    return table, arches


def cross_check(resolver: Resolver, table: dict, scmp_sys_resolver: str, env: dict | None) -> list[str]:
    """Every name on x86_64 and aarch64 asked again through ``scmp_sys_resolver``; the mismatches."""
    mismatches = []
    for arch in CROSS_CHECKED:
        token = resolver.arch_token(arch)
        for name in table:
            out = run([scmp_sys_resolver, "-a", arch, name], check=False, env=env).stdout.strip()
            expected = resolver.number_of(token, name)
            if out != str(expected):
                mismatches.append(f"{arch} {name}: ctypes says {expected}, scmp_sys_resolver says {out}")
    return mismatches


def fetch_debian(suite: str, workdir: Path) -> tuple[str, str, str]:
    """Download (never install) Debian ``suite``'s libseccomp2 and seccomp packages and unpack
    them; return (library path, scmp_sys_resolver path, package versions)."""
    state = workdir / "apt"
    for sub in ("lists/partial", "cache/archives/partial"):
        (state / sub).mkdir(parents=True, exist_ok=True)
    sources = state / "sources.list"
    sources.write_text(f"deb http://deb.debian.org/debian {suite} main\n")
    options = [f"-oDir::Etc::SourceList={sources}", "-oDir::Etc::SourceParts=/dev/null",
               f"-oDir::State::Lists={state / 'lists'}", f"-oDir::Cache={state / 'cache'}",
               "-oAPT::Sandbox::User=root"]
    run(["apt-get", *options, "update"], timeout=600, fix="needs Debian's package archive (apt-get)")
    run(["apt-get", *options, "download", "libseccomp2", "seccomp"], timeout=600)
    root = workdir / "root"
    versions = []
    for deb in sorted(Path.cwd().glob("*.deb")):
        if deb.name.startswith(("libseccomp2_", "seccomp_")):
            run(["dpkg-deb", "-x", str(deb), str(root)])
            versions.append(deb.name.removesuffix(".deb"))
            deb.unlink()
    libraries = sorted(root.glob("usr/lib/*/libseccomp.so.2"))
    resolver = root / "usr/bin/scmp_sys_resolver"
    if not libraries or not resolver.exists():
        raise EnvironmentProblem(f"the {suite} packages did not contain libseccomp.so.2 and scmp_sys_resolver")
    return str(libraries[0]), str(resolver), ", ".join(versions)


def _render(data: dict) -> str:
    lines = ["{"]
    head = {k: v for k, v in data.items() if k != "syscalls"}
    for key, value in head.items():
        lines.append(f" {json.dumps(key)}: {json.dumps(value)},")
    lines.append(' "syscalls": {')
    items = list(data["syscalls"].items())
    for i, (name, arches) in enumerate(items):
        lines.append(f"  {json.dumps(name)}: {json.dumps(arches)}" + ("," if i < len(items) - 1 else ""))
    lines += [" }", "}"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--debian-suite", help="use libseccomp from this Debian suite (e.g. trixie), unpacked only")
    parser.add_argument("--libseccomp", help="path of libseccomp.so.2 (default: this machine's)")
    parser.add_argument("--check", action="store_true", help="compare with the committed file only")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="libseccomp-") as tmp:
        env = None
        package = "this machine's libseccomp2 and seccomp packages"
        scmp = shutil.which("scmp_sys_resolver")
        library = args.libseccomp
        if args.debian_suite:
            cwd = os.getcwd()
            os.chdir(tmp)
            try:
                library, scmp, versions = fetch_debian(args.debian_suite, Path(tmp))
            finally:
                os.chdir(cwd)
            package = f"Debian {args.debian_suite}: {versions}"
            env = {**os.environ, "LD_LIBRARY_PATH": str(Path(library).parent)}
        if scmp is None:
            raise EnvironmentProblem("scmp_sys_resolver is not installed", fix="apt-get install seccomp")
        resolver = Resolver(library)
        table, arches = collect(resolver)
        mismatches = cross_check(resolver, table, scmp, env)
    for line in mismatches:
        print("  MISMATCH " + line)
    if mismatches:
        return 1
    data = {
        "about": "Every syscall name libseccomp knows, with the architectures that have it (an empty "
                 "list: libseccomp knows the name, no architecture implements it). runc skips a "
                 "name the node's architecture lacks; a name missing here is unknown everywhere.",
        "generated_by": "python -m labs.data.regenerate_libseccomp_names"
                        + (f" --debian-suite {args.debian_suite}" if args.debian_suite else ""),
        "source": f"libseccomp {resolver.version} ({package}): seccomp_syscall_resolve_num_arch / "
                  f"seccomp_syscall_resolve_name_arch, x86_64 and aarch64 cross-checked with scmp_sys_resolver",
        "libseccomp_version": resolver.version,
        "architectures": arches,
        "syscalls": table,
    }
    text = _render(data)
    print(f"libseccomp {resolver.version}: {len(table)} names on {len(arches)} architectures")
    if args.check:
        same = OUTPUT.exists() and OUTPUT.read_text() == text
        print("up to date" if same else f"differs from the sources: {OUTPUT.name}")
        return 0 if same else 1
    if not OUTPUT.exists() or OUTPUT.read_text() != text:
        OUTPUT.write_text(text)
        print(f"wrote {OUTPUT.relative_to(DATA.parent.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
