"""Regenerate ``syscalls-<arch>.json`` and ``syscalls-compat.json`` from two independent sources.

Why two sources: audit records carry syscall *numbers* (named by auditd's table), while runc
resolves the *names* in a profile through libseccomp. If the two disagree, a profile built
from audit data can name a syscall that libseccomp does not know, and runc skips it silently.

1. ``ausyscall <arch> --dump`` (Debian package ``auditd``), run through :func:`labs.runner.run`.
2. libseccomp's resolver, ``seccomp_syscall_resolve_num_arch`` via ctypes on ``libseccomp.so.2``
   (Debian package ``libseccomp2``; ``scmp_sys_resolver`` from package ``seccomp`` is the same
   resolver on the command line).

Names follow libseccomp (the names profiles must use); where ausyscall spells a number
differently (``pread`` vs ``pread64``) its spelling is kept as an alias and reported.
Syscalls newer than both sources (Linux 6.8 to 6.17) come from :data:`NEWER_SYSCALLS`, checked by
hand against the kernel's unified syscall table (numbers >= 424 are the same on every
architecture) and by probing a 6.18 kernel for ENOSYS. The script prints every mismatch.

Usage: ``python -m labs.data.regenerate_syscalls [--check]`` (``--check`` compares with the
committed files and exits 1 when they differ, writing nothing).
"""
from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import json
import sys
from pathlib import Path

from labs.errors import EnvironmentProblem
from labs.runner import run

__all__ = ["NEWER_SYSCALLS", "ausyscall_table", "libseccomp_table", "build_tables", "main"]

DATA = Path(__file__).resolve().parent

#: libseccomp/audit architecture tokens (AUDIT_ARCH_* values) of the tables we generate.
ARCH_TOKENS = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
#: Compat architectures that runtimes add next to the native one: names only.
COMPAT_TOKENS = {"x86": 0x40000003, "x32": 0x4000003E, "arm": 0x40000028}
X32_SYSCALL_BIT = 0x40000000
#: Syscalls added after Debian bookworm's auditd 3.0.9 / libseccomp 2.5.4, per architecture.
NEWER_SYSCALLS = {
    "x86_64": {"uretprobe": 335},
    "all": {
        "statmount": 457, "listmount": 458, "lsm_get_self_attr": 459, "lsm_set_self_attr": 460,
        "lsm_list_modules": 461, "mseal": 462, "setxattrat": 463, "getxattrat": 464,
        "listxattrat": 465, "removexattrat": 466, "open_tree_attr": 467, "file_getattr": 468,
        "file_setattr": 469,
    },
}
MAX_NUMBER = 1024


def ausyscall_table(arch: str) -> dict[int, str]:
    """number -> name as auditd's ``ausyscall`` prints it."""
    out = run(["ausyscall", arch, "--dump"],
              fix="install auditd (Debian/Ubuntu: apt-get install auditd)").stdout
    table = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0].isdigit():
            table[int(parts[0])] = parts[1]
    return table


def _libseccomp():
    path = ctypes.util.find_library("seccomp") or "libseccomp.so.2"
    try:
        lib = ctypes.CDLL(path)
    except OSError:
        raise EnvironmentProblem("libseccomp.so.2 is not installed",
                                 fix="apt-get install libseccomp2 seccomp") from None
    lib.seccomp_syscall_resolve_num_arch.restype = ctypes.c_void_p
    lib.seccomp_syscall_resolve_num_arch.argtypes = [ctypes.c_uint32, ctypes.c_int]
    return lib


def libseccomp_table(token: int, offset: int = 0) -> dict[int, str]:
    """number -> name as libseccomp resolves it (numbers ``offset`` .. ``offset+MAX_NUMBER``)."""
    lib = _libseccomp()
    libc = ctypes.CDLL(None)
    libc.free.argtypes = [ctypes.c_void_p]
    table = {}
    for number in range(offset, offset + MAX_NUMBER):
        pointer = lib.seccomp_syscall_resolve_num_arch(token, number)
        if pointer:
            table[number - offset] = ctypes.string_at(pointer).decode()
            libc.free(pointer)
    return table


def build_tables(audit: dict[int, str], seccomp: dict[int, str], arch: str) -> tuple[dict, list[str]]:
    """Merge both sources into one table; return it and the human-readable mismatches."""
    newer = {**NEWER_SYSCALLS["all"], **NEWER_SYSCALLS.get(arch, {})}
    numbers: dict[str, int] = {}
    aliases: dict[str, str] = {}
    report = []
    for number in sorted(set(audit) | set(seccomp)):
        a, s = audit.get(number), seccomp.get(number)
        if a == s:
            numbers[a] = number
        elif s is None:
            report.append(f"{arch} {number}: only ausyscall knows it ({a}); kept")
            numbers[a] = number
        elif a is None:
            report.append(f"{arch} {number}: only libseccomp knows it ({s}); kept")
            numbers[s] = number
        else:
            report.append(f"{arch} {number}: ausyscall says {a}, libseccomp says {s}; "
                          f"using {s}, {a} kept as alias")
            numbers[s] = number
            aliases[a] = s
    for name, number in sorted(newer.items(), key=lambda kv: kv[1]):
        if numbers.get(name, number) != number:
            report.append(f"{arch} {name}: sources say {numbers[name]}, NEWER_SYSCALLS says {number}")
        elif name not in numbers:
            report.append(f"{arch} {number}: {name} added from NEWER_SYSCALLS (newer than both sources)")
            numbers[name] = number
    table = {
        "arch": arch,
        "generated_by": "python -m labs.data.regenerate_syscalls",
        "sources": ["ausyscall --dump (auditd)", "libseccomp seccomp_syscall_resolve_num_arch",
                    "NEWER_SYSCALLS in labs/data/regenerate_syscalls.py"],
        "newer_than_sources": sorted(n for n in newer if n in numbers and n not in seccomp.values()),
        "aliases": dict(sorted(aliases.items())),
        "syscalls": dict(sorted(numbers.items(), key=lambda kv: kv[1])),
    }
    return table, report


def compat_names() -> dict[str, list[str]]:
    """Syscall names of the compat architectures (x86, x32, arm), from libseccomp."""
    newer = set(NEWER_SYSCALLS["all"])
    result = {}
    for arch, token in COMPAT_TOKENS.items():
        offset = X32_SYSCALL_BIT if arch == "x32" else 0
        result[arch] = sorted(set(libseccomp_table(token, offset).values()) | newer)
    return result


def _render(data: dict) -> str:
    return json.dumps(data, indent=1) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed files only")
    args = parser.parse_args(argv)
    outputs = {}
    for arch, token in ARCH_TOKENS.items():
        table, report = build_tables(ausyscall_table(arch), libseccomp_table(token), arch)
        print(f"{arch}: {len(table['syscalls'])} syscalls, {len(table['aliases'])} aliases")
        for line in report:
            print("  " + line)
        outputs[DATA / f"syscalls-{arch}.json"] = _render(table)
    compat = {"generated_by": "python -m labs.data.regenerate_syscalls",
              "source": "libseccomp seccomp_syscall_resolve_num_arch", **compat_names()}
    outputs[DATA / "syscalls-compat.json"] = _render(compat)
    stale = [p for p, text in outputs.items() if not p.exists() or p.read_text() != text]
    if args.check:
        for path in stale:
            print(f"differs from the sources: {path.name}")
        return 1 if stale else 0
    for path in stale:
        path.write_text(outputs[path])
        print(f"wrote {path.relative_to(DATA.parent.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
