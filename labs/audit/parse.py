"""Pure parsing of kernel audit text: seccomp (type 1326) and AppArmor (type 1400) records.

Why one parser for several sources: the same record reaches a learner as an audit.log line
(``type=SECCOMP msg=audit(...)``), a syslog/journal line (``kernel: audit: type=1326 ...``),
a dmesg line (``[  12.3] audit: type=1326 audit(...)``) or a collector JSON line (audit.log
form). The kernel log also *loses* records; those notices are counted, never ignored.
"""
from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field

from ..errors import ProfileError
from ..results import Result
from ..syscalls import AUDIT_ARCH, syscall_name

__all__ = [
    "SeccompRecord",
    "AppArmorRecord",
    "AuditLog",
    "parse_audit_line",
    "parse_audit_text",
    "lost_notice",
    "seccomp_action",
]

TYPE_NUMBERS = {"SECCOMP": 1326, "AVC": 1400}

_HEADER = re.compile(
    r"(?:type=(?:(?P<name>[A-Z_]+)(?:\[(?P<bracket>\d+)\])?|(?P<num1>\d+))\s+msg="
    r"|audit:\s+type=(?P<num2>\d+)\s+)"
    r"audit\((?P<ts>\d+(?:\.\d+)?):(?P<serial>\d+)\):\s?(?P<body>.*)$"
)
_FIELD = re.compile(r'([A-Za-z_][\w-]*)=("(?:[^"]*)"|\S+)')
_HEX = re.compile(r"^(?:[0-9A-F]{2})+$")

# seccomp return action in the high 16 bits of code= (include/uapi/linux/seccomp.h)
_ACTIONS = {
    0x80000000: "SCMP_ACT_KILL_PROCESS",
    0x00000000: "SCMP_ACT_KILL_THREAD",
    0x00030000: "SCMP_ACT_TRAP",
    0x00050000: "SCMP_ACT_ERRNO",
    0x7FC00000: "SCMP_ACT_NOTIFY",
    0x7FF00000: "SCMP_ACT_TRACE",
    0x7FFC0000: "SCMP_ACT_LOG",
    0x7FFF0000: "SCMP_ACT_ALLOW",
}

# Notices that records were dropped before anyone could read them.
_SUPPRESSED = re.compile(r"kauditd_printk_skb: (\d+) callbacks suppressed")
_AUDIT_LOST = re.compile(r"audit(?:: |_)?lost=(\d+)")
_BACKLOG = re.compile(r"audit: (backlog limit exceeded|rate limit exceeded)")


def seccomp_action(code: int) -> str:
    """SCMP_ACT_* name of a seccomp record's ``code=`` value."""
    return _ACTIONS.get(code & 0xFFFF0000, f"0x{code:08x}")


@dataclass(frozen=True)
class SeccompRecord(Result):
    """One seccomp decision the kernel logged (type 1326)."""

    timestamp: float
    serial: int
    pid: int
    comm: str
    exe: str
    arch: str
    syscall_nr: int
    syscall: str
    code: int
    container_id: str | None = None

    @property
    def action(self) -> str:
        return seccomp_action(self.code)


@dataclass(frozen=True)
class AppArmorRecord(Result):
    """One AppArmor decision (type 1400 with ``apparmor=``): DENIED, ALLOWED (complain), ..."""

    timestamp: float
    serial: int
    pid: int
    comm: str
    apparmor: str
    operation: str
    profile: str
    name: str | None = None
    requested_mask: str | None = None
    denied_mask: str | None = None
    capname: str | None = None
    family: str | None = None
    sock_type: str | None = None
    protocol: int | None = None
    container_id: str | None = None


@dataclass
class AuditLog(Result):
    """Records parsed from a text, plus how many the kernel reported as lost."""

    records: list = field(default_factory=list)
    lost: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def seccomp(self) -> list[SeccompRecord]:
        return [r for r in self.records if isinstance(r, SeccompRecord)]

    @property
    def apparmor(self) -> list[AppArmorRecord]:
        return [r for r in self.records if isinstance(r, AppArmorRecord)]

    def _repr_html_(self) -> str:
        warn = "".join(f"<li style='color:#c0392b'>{w}</li>" for w in self.warnings)
        return (f"<div><b>AuditLog</b>: {len(self.seccomp)} seccomp, {len(self.apparmor)} "
                f"AppArmor records, <b>{self.lost}</b> lost<ul>{warn}</ul></div>")


def _fields(body: str) -> dict[str, str]:
    """key=value pairs; quoted values unquoted, hex-encoded ones (audit's escaping) decoded."""
    out = {}
    for key, value in _FIELD.findall(body):
        if value.startswith('"') and value.endswith('"') and len(value) >= 2:
            value = value[1:-1]
        elif key in ("comm", "exe", "name", "profile", "family", "sock_type") and _HEX.match(value):
            value = bytes.fromhex(value).decode(errors="replace")
        out.setdefault(key, value)
    return out


def _int(value: str | None, base: int = 10) -> int | None:
    try:
        return int(value, base) if value is not None else None
    except ValueError:
        return None


def _seccomp(ts: float, serial: int, f: dict[str, str]) -> SeccompRecord | None:
    nr = _int(f.get("syscall"))
    if nr is None:
        return None
    arch_hex = f.get("arch", "").lower()
    arch = AUDIT_ARCH.get(arch_hex, f"arch={arch_hex}")
    try:
        name = syscall_name(nr, arch) if arch_hex in AUDIT_ARCH else f"syscall_{nr}"
    except ProfileError:
        name = f"syscall_{nr}"
    return SeccompRecord(ts, serial, _int(f.get("pid")) or 0, f.get("comm", ""), f.get("exe", ""),
                         arch, nr, name, _int(f.get("code", "0"), 16) or 0)


def _apparmor(ts: float, serial: int, f: dict[str, str]) -> AppArmorRecord | None:
    if "apparmor" not in f:
        return None         # an SELinux AVC: not ours
    return AppArmorRecord(ts, serial, _int(f.get("pid")) or 0, f.get("comm", ""), f["apparmor"],
                          f.get("operation", ""), f.get("profile", ""), f.get("name"),
                          f.get("requested_mask"), f.get("denied_mask"), f.get("capname"),
                          f.get("family"), f.get("sock_type"), _int(f.get("protocol")))


def parse_audit_line(line: str) -> SeccompRecord | AppArmorRecord | None:
    """The record in one line of audit.log, syslog, journal or dmesg text, else None."""
    match = _HEADER.search(line)
    if not match:
        return None
    g = match.groupdict()
    number = g["bracket"] or g["num1"] or g["num2"]
    type_nr = int(number) if number else TYPE_NUMBERS.get(g["name"] or "")
    ts, serial = float(g["ts"]), int(g["serial"])
    if type_nr == 1326:
        return _seccomp(ts, serial, _fields(g["body"]))
    if type_nr == 1400:
        return _apparmor(ts, serial, _fields(g["body"]))
    return None


def lost_notice(line: str) -> tuple[str, int, str] | None:
    """(kind, number, warning) when a kernel log line says audit records were dropped.

    Kinds: ``suppressed`` (N messages not printed), ``total`` (``audit_lost=N``, a running
    count since boot) and ``event`` (one "backlog/rate limit exceeded" line, which the kernel
    prints together with an ``audit_lost=`` total).
    """
    if m := _SUPPRESSED.search(line):
        n = int(m.group(1))
        return "suppressed", n, ("the kernel log suppressed audit messages (kauditd_printk_skb): "
                                 "records are missing from this text; capture them with "
                                 "labs.audit.AuditCollector instead")
    if m := _AUDIT_LOST.search(line):
        return "total", int(m.group(1)), "the kernel dropped audit records (audit_lost rose)"
    if m := _BACKLOG.search(line):
        return "event", 1, f"the kernel dropped audit records: {m.group(1)}"
    return None


def _collector_line(line: str, log: AuditLog) -> None:
    """A JSON line printed by the collector container: a record, or a count of drops."""
    try:
        event = json.loads(line)
    except ValueError:
        return
    if event.get("event") == "record":
        record = parse_audit_line(event.get("raw", ""))
        if record is not None:
            log.records.append(dataclasses.replace(record, container_id=event.get("container_id")))
    elif event.get("event") == "lost":
        log.lost += int(event.get("count", 1))
        warning = f"the collector dropped records: {event.get('reason', 'unknown reason')}"
        if warning not in log.warnings:
            log.warnings.append(warning)


def parse_audit_text(text: str) -> AuditLog:
    """Every seccomp/AppArmor record in ``text`` and a count of records reported lost.

    ``text`` may mix audit.log, syslog, dmesg and collector JSON lines.
    """
    log = AuditLog()
    totals: list[int] = []
    events = 0
    for line in text.splitlines():
        if line.startswith("{"):
            _collector_line(line, log)
            continue
        record = parse_audit_line(line)
        if record is not None:
            log.records.append(record)
            continue
        notice = lost_notice(line)
        if notice is None:
            continue
        kind, number, warning = notice
        if kind == "suppressed":
            log.lost += number
        elif kind == "total":
            totals.append(number)
        else:
            events += 1
        if warning not in log.warnings:
            log.warnings.append(warning)
    # each printed total means at least one loss; the span between totals counts the rest
    log.lost += (max(totals) - min(totals) + 1) if totals else events
    unknown = sorted({f"{r.syscall} ({r.arch})" for r in log.seccomp if r.syscall.startswith("syscall_")})
    if unknown:
        log.warnings.append(f"syscall numbers not in the course's tables: {', '.join(unknown)}; "
                            "regenerate them with `python -m labs.data.regenerate_syscalls`")
    if log.lost:
        log.warnings.insert(0, f"WARNING: {log.lost} audit records were lost; a profile built "
                               "from this text may miss syscalls")
    return log


def exited_driven_records(records, programs, started: float, ended: float) -> list[SeccompRecord]:
    """Seccomp records the collector could not match to any container (the process had exited
    before its cgroup was read: a forked child per request, an exec'd ``nginx -s reload``),
    made between ``started`` and ``ended`` (audit timestamps, 1 s slack) by one of ``programs``
    (``comm`` names). The match is by name and time, not proof: callers say how many they took."""
    return [r for r in records if isinstance(r, SeccompRecord) and r.container_id is None
            and r.comm in programs and started - 1 <= r.timestamp <= ended + 1]
