"""Write ``good/containerd-runtime-default-amd64.json``: the profile containerd's RuntimeDefault
generator gives an ordinary amd64 container, built from the course's transcription of its source
(``labs/data/runtime-default.json``, from containerd's contrib/seccomp/seccomp_default.go).

An ordinary container: containerd's default capability set (``defaultUnixCaps`` in containerd's
oci package: CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FSETID, CAP_FOWNER, CAP_MKNOD, CAP_NET_RAW,
CAP_SETGID, CAP_SETUID, CAP_SETFCAP, CAP_SETPCAP, CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT,
CAP_KILL, CAP_AUDIT_WRITE), on amd64, kernel 4.8 or newer. The argument rules (personality
values, clone without CLONE_NEW* flags, clone3 answered with ENOSYS, socket without AF_VSOCK)
follow the conditions the data file states.

Usage: ``python -m tests.data.profiles.make_containerd_default [--check]``.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "good" / "containerd-runtime-default-amd64.json"
DATA = HERE.parents[2] / "labs" / "data" / "runtime-default.json"
CAPS = ("CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
        "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
        "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE")
ARCH = "amd64"
#: CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET
CLONE_NEW_MASK = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000
ENOSYS = 38
AF_VSOCK = 40


def _holds(condition: str) -> bool:
    """Does one 'when' condition of the data file hold for an ordinary amd64 container?"""
    cap = re.match(r"(CAP_[A-Z_]+) in the container's bounding set", condition)
    if cap:
        return cap.group(1) in CAPS
    arch = re.match(r"architecture (\S+)", condition)
    if arch:
        return ARCH in arch.group(1).split("/")
    return condition.startswith("kernel 4.8 or newer")


def build() -> dict:
    data = json.loads(DATA.read_text())
    allowed, special = [], {}
    for name, entry in data["syscalls"].items():
        if entry["allowed"] == "unconditional":
            allowed.append(name)
        elif name in ("personality", "clone", "clone3", "socket"):
            special[name] = entry["when"]
        elif any(_holds(c) for c in entry["when"]):
            allowed.append(name)
    rules = [{"names": sorted(allowed), "action": "SCMP_ACT_ALLOW"}]
    if "personality" in special:
        values = [int(v, 16) for v in re.findall(r"0x[0-9a-f]+", special["personality"][0])]
        rules += [{"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                   "args": [{"index": 0, "value": v, "op": "SCMP_CMP_EQ"}]} for v in values]
    if "clone" in special:
        rules.append({"names": ["clone"], "action": "SCMP_ACT_ALLOW",
                      "args": [{"index": 0, "value": CLONE_NEW_MASK, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]})
    if "clone3" in special:
        rules.append({"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": ENOSYS})
    if "socket" in special:
        rules.append({"names": ["socket"], "action": "SCMP_ACT_ALLOW",
                      "args": [{"index": 0, "value": AF_VSOCK, "op": "SCMP_CMP_NE"}]})
    return {"defaultAction": data["defaultAction"], "architectures": data["architectures"][ARCH],
            "syscalls": rules}


def render() -> str:
    return json.dumps(build(), indent=1) + "\n"


def main(argv: list[str] | None = None) -> int:
    text = render()
    if "--check" in (argv if argv is not None else sys.argv[1:]):
        same = OUTPUT.exists() and OUTPUT.read_text() == text
        print("up to date" if same else f"{OUTPUT.name} differs from labs/data/runtime-default.json")
        return 0 if same else 1
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
