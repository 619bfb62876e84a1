"""Explain one AppArmor audit record: what was blocked (or would be), and the rule to allow it.

Why: a DENIED line is dense (``requested_mask="w" denied_mask="w" name=...``). Learners need
the sentence behind it, the exact rule that would allow it, and a warning when that rule
would open something an attacker wants (writing /etc, CAP_SYS_ADMIN, raw sockets, ...).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..results import Result
from .rules import record_rule

__all__ = ["AppArmorDenialExplanation", "explain_apparmor_denial", "caution_for_rule"]

_MASK_WORDS = {"r": "read", "w": "write", "a": "append", "c": "create", "d": "delete",
               "t": "truncate", "l": "link", "k": "lock", "m": "map as executable", "x": "execute"}

#: Capabilities whose grant is close to giving the container the host.
_RISKY_CAPABILITIES = {
    "sys_admin": "CAP_SYS_ADMIN is 'the new root': mounts, namespaces, many escapes",
    "sys_module": "loading kernel modules means running code in the kernel",
    "sys_ptrace": "tracing other processes reads and changes their memory",
    "sys_rawio": "raw I/O ports and devices bypass file permissions",
    "dac_override": "bypasses every file permission check",
    "dac_read_search": "reads any file, including host files reachable through open handles",
    "net_admin": "reconfigures the network stack (routes, firewall)",
    "mac_admin": "changes the AppArmor policy itself",
    "mac_override": "overrides mandatory access control",
    "sys_boot": "reboots the machine",
    "bpf": "loads BPF programs into the kernel",
    "perfmon": "observes other processes through perf events",
    "setuid": "switches to any user id, including root",
    "setgid": "switches to any group id",
    "chown": "gives files to any user",
    "fowner": "bypasses ownership checks on every file",
}
_SENSITIVE_WRITES = ("/etc/", "/usr/", "/bin/", "/sbin/", "/lib", "/boot/", "/root/",
                     "/proc/sys/", "/sys/", "/dev/", "/var/lib/kubelet/", "/run/containerd/")
_SENSITIVE_READS = ("/etc/shadow", "/etc/gshadow", "/root/", "/proc/kcore", "/dev/mem",
                    "/var/run/secrets/", "/run/secrets/")
_SHELLS = ("/bin/sh", "/bin/bash", "/bin/dash", "/usr/bin/sh", "/usr/bin/bash", "/usr/bin/dash",
           "/bin/busybox", "/usr/bin/busybox", "/usr/bin/python3", "/usr/bin/perl")


@dataclass
class AppArmorDenialExplanation(Result):
    """What the record says, the rule that would allow it, and a caution when it is broad."""

    profile: str
    decision: str       # DENIED (enforced, logged) or ALLOWED (complain mode: would be denied)
    operation: str
    summary: str
    rule: str | None
    caution: str | None

    def __str__(self) -> str:
        verb = "was denied" if self.decision == "DENIED" else "would be denied (complain mode let it pass)"
        lines = [f"profile {self.profile}: {self.summary} {verb}."]
        if self.rule:
            lines.append(f"Rule that allows it: {self.rule}")
        else:
            lines.append("No single rule allows this; read the record's operation and the AppArmor docs.")
        if self.caution:
            lines.append(f"Caution: {self.caution}")
        if self.decision == "DENIED":
            lines.append("Logged because no rule allowed it or an `audit deny` rule matched (a plain `deny` "
                         "refuses silently); an allow rule never overrides a deny rule.")
        return "\n".join(lines)


def _words(mask: str) -> str:
    return ", ".join(_MASK_WORDS.get(ch, ch) for ch in mask) or "access"


def caution_for_rule(rule: str | None) -> str | None:
    """A warning when ``rule`` grants something broad or dangerous, else None."""
    if not rule:
        return None
    body = rule.rstrip(",").removeprefix("owner ").strip()
    if body.startswith("capability "):
        name = body.split()[1]
        reason = _RISKY_CAPABILITIES.get(name)
        return f"capability {name}: {reason}; find out why the program needs it first" if reason else None
    if body.startswith("network "):
        parts = body.split()
        if any(p in ("raw", "packet") for p in parts[1:]):
            return "raw/packet sockets can forge traffic and sniff other pods' packets"
        return None
    path, _, perms = body.rpartition(" ")
    path = path.strip('"')
    if any(ch in path for ch in "*?{[") or path.endswith("/**"):
        return "the path is a glob: it allows more than the one file in the record"
    if ("w" in perms or "a" in perms) and path.startswith(_SENSITIVE_WRITES):
        return f"writing under {path} lets a compromised process change system files; prefer a data directory"
    if path.startswith(_SENSITIVE_READS):
        return f"{path} holds secrets; allow it only if the program truly reads it"
    if "ix" in perms and path in _SHELLS:
        return f"allowing {path} to run means an attacker who gets code execution gets a shell"
    return None


def explain_apparmor_denial(record) -> AppArmorDenialExplanation:
    """Explain an AppArmorRecord (labs.audit) as a sentence, a rule and a caution."""
    operation = record.operation or "?"
    mask = record.denied_mask or record.requested_mask or ""
    if record.capname:
        summary = f"using capability {record.capname} ({operation})"
    elif record.family:
        kind = " ".join(filter(None, [record.family, record.sock_type]))
        summary = f"a {kind} socket operation ({operation})"
    elif record.name:
        summary = f"{_words(mask)} on {record.name} ({operation})"
    else:
        summary = f"operation {operation}"
    if record.comm:
        summary = f"{record.comm!r} (pid {record.pid}): {summary}"
    rule = record_rule(record)
    return AppArmorDenialExplanation(record.profile, record.apparmor, operation, summary, rule,
                                     caution_for_rule(rule))
