"""Evidence the lessons compute on the learner's own cluster (never typed-in numbers).

Lesson 03: how many seccomp records the kernel log keeps vs the collector. Both sources are
machine-wide, so both are counted over the same time window: records with an audit timestamp
after the workload started (and, for the pod's own share, its processes' pids). The kernel
log is read on the pod's node (``docker exec <node> dmesg``): kind nodes share the host kernel
and its ring buffer, and this works where the learner's own ``dmesg`` needs root.

Lesson 04: syscall names as compact tables, the staging run's "what would break" report, and
the RuntimeDefault filter the node's containerd really generates (read back with
``crictl inspect``), so comparisons use the learner's runtime, not a list shipped with the course.
"""
from __future__ import annotations

import collections
import html
import json
import time
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from .. import engine
from ..audit import AuditCollector, SeccompRecord, parse_audit_text
from ..audit.parse import exited_driven_records  # re-exported: notebooks and tests import it here
from ..cluster import ClusterRef, as_cluster
from ..errors import LabError
from ..results import Result
from ..syscalls import CLONE_NAMESPACE_FLAGS, CLONE_NAMESPACES_MASK, all_syscalls
from .drive import OPERATIONS

__all__ = ["LogComparison", "kernel_log_vs_collector", "node_arch", "CLONE_NAMESPACE_FLAGS", "CLONE_NAMESPACES_MASK",
           "clone_flag_names", "NameTable", "names_table",
           "StagingReport", "staging_report", "exited_driven_records", "NodeRuntimeDefault", "node_runtime_default"]


@dataclass
class LogComparison(Result):
    """Seccomp records in the same time window, from the collector and from the node's kernel log.

    ``collector``/``kernel_log`` count every record on the machine; the ``pod_*`` fields only
    the pod's own processes (its container ids give their pids; the kernel log has pids too),
    with the distinct syscalls each source saw: what a profile built from it would contain.
    """

    collector: int
    kernel_log: int
    suppressed_notices: int
    node: str = ""
    pod_collector: int = 0
    pod_kernel_log: int = 0
    pod_syscalls_collector: list[str] = field(default_factory=list)
    pod_syscalls_kernel_log: list[str] = field(default_factory=list)

    @property
    def missing_share(self) -> float:
        return 1 - self.kernel_log / self.collector if self.collector else 0.0

    @property
    def syscalls_missing_from_kernel_log(self) -> list[str]:
        return sorted(set(self.pod_syscalls_collector) - set(self.pod_syscalls_kernel_log))

    def __repr__(self) -> str:  # what Jupyter shows as text/plain
        return str(self)

    def __str__(self) -> str:
        text = (f"collector: {self.collector} seccomp records; kernel log (dmesg): {self.kernel_log} "
                f"({self.missing_share:.1%} missing); 'callbacks suppressed' notices in the whole kernel log: "
                f"{self.suppressed_notices}")
        if self.pod_collector:
            text += (f"\nthis pod: collector {self.pod_collector} records, {len(self.pod_syscalls_collector)} "
                     f"distinct syscalls; kernel log {self.pod_kernel_log} records, "
                     f"{len(self.pod_syscalls_kernel_log)} distinct syscalls: a profile built from the kernel log "
                     f"would miss "
                     f"{len(self.syscalls_missing_from_kernel_log)} of them")
        return text

    def _repr_html_(self) -> str:
        pod = (f"<tr><td>this pod only</td><td>{self.pod_collector} ({len(self.pod_syscalls_collector)} distinct)</td>"
               f"<td>{self.pod_kernel_log} ({len(self.pod_syscalls_kernel_log)} distinct)</td></tr>"
               if self.pod_collector else "")
        return (f"<table><tr><th>seccomp records, same window</th><th>audit netlink (collector)</th>"
                f"<th>kernel log (dmesg on {html.escape(self.node or 'the node')})</th></tr>"
                f"<tr><td>whole machine</td><td>{self.collector}</td><td>{self.kernel_log}</td></tr>{pod}</table>"
                f"<p>{html.escape(str(self))}</p>")


def kernel_log_vs_collector(manifest, namespace: str, *, drive=None, config: ClusterRef = "default") -> LogComparison:
    """Run the pod (under the profile its manifest names), drive it, delete it, and count."""
    from ..pod_audit import container_ids  # slow import: the kubernetes client
    from ..pods import delete_pod, read_pod, run_pod  # slow import: the kubernetes client

    cluster = as_cluster(config)
    with AuditCollector() as collector:
        started = time.time()
        outcome = run_pod(manifest, namespace, config=cluster)
        if outcome.ok and drive is not None:
            drive(outcome.name, namespace)
        ids = list(container_ids(read_pod(outcome.name, namespace, cluster)))
        delete_pod(outcome.name, namespace, cluster)
        collector.wait_quiet()
        collected = [r for r in collector.records() if isinstance(r, SeccompRecord) and r.timestamp >= started]
        mine = [r for r in collector.records(ids) if isinstance(r, SeccompRecord)] if ids else []
    dmesg = engine.exec(outcome.node, ["dmesg"], timeout=60,
                        fix="the node container must be running; see labs.cluster.cluster_status()")
    log = parse_audit_text(dmesg.stdout)
    kept = [r for r in log.seccomp if r.timestamp >= started]
    pids = {r.pid for r in mine}
    kept_mine = [r for r in kept if r.pid in pids]
    suppressed = sum(1 for line in dmesg.stdout.splitlines() if "callbacks suppressed" in line)
    return LogComparison(len(collected), len(kept), suppressed, outcome.node, len(mine), len(kept_mine),
                         sorted({r.syscall for r in mine}), sorted({r.syscall for r in kept_mine}))


def node_arch(config: ClusterRef = "default") -> str:
    """The architecture the cluster's nodes run (``uname -m`` on the first node), in the course's
    naming: ``x86_64`` or ``aarch64``."""
    machine = engine.exec(as_cluster(config).nodes()[0], ["uname", "-m"]).stdout.strip()
    return {"arm64": "aarch64"}.get(machine, machine)


# ---------------------------------------------------------------------------------------------
# Lesson 04: names as compact tables, the staging report, the node's own RuntimeDefault.

# CLONE_NAMESPACE_FLAGS and CLONE_NAMESPACES_MASK live in labs.syscalls (the profile builder uses them too).


def clone_flag_names(value: int) -> list[str]:
    """The CLONE_NEW* flags set in ``value``, e.g. for a mask read from a profile."""
    return [name for name, bit in CLONE_NAMESPACE_FLAGS.items() if value & bit]


def _grid(names: list[str], counts: dict, columns: int) -> str:
    cells = [f"<td><code>{html.escape(n)}</code>" + (f" <small>×{counts[n]}</small>" if n in counts else "")
             + "</td>" for n in names]
    rows = ["".join(cells[i:i + columns]) for i in range(0, len(cells), columns)]
    return "<table>" + "".join(f"<tr>{r}</tr>" for r in rows) + "</table>"


def _wrap(names: list[str], counts: dict, width: int = 96) -> str:
    lines, line = [], ""
    for n in names:
        word = f"{n}×{counts[n]}" if n in counts else n
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = ""
        line = f"{line} {word}" if line else word
    return "\n".join("  " + text for text in lines + ([line] if line else []))


@dataclass
class NameTable(Result):
    """Syscall names as a compact table (with how often each was seen, when known)."""

    title: str
    names: list[str]
    counts: dict[str, int]
    columns: int = 8

    def __repr__(self) -> str:
        return str(self)

    def __str__(self) -> str:
        return f"{self.title} ({len(self.names)})\n" + (_wrap(self.names, self.counts) or "  (none)")

    def _repr_html_(self) -> str:
        body = _grid(self.names, self.counts, self.columns) if self.names else "<p><i>none</i></p>"
        return f"<div><b>{html.escape(self.title)}</b> ({len(self.names)}){body}</div>"


def names_table(names, title: str = "syscalls", columns: int = 8) -> NameTable:
    """``names`` may be any iterable of names, or a Counter/dict name -> count (counts shown)."""
    counts = {str(k): int(v) for k, v in names.items()} if hasattr(names, "items") else {}
    return NameTable(title, sorted({str(n) for n in names}), counts, columns)


def _condition(arg: dict) -> str:
    op, value = arg.get("op", ""), int(arg.get("value", 0))
    where = f"arg{arg.get('index')}"
    if op == "SCMP_CMP_MASKED_EQ":
        flags = clone_flag_names(value)
        mask = " | ".join(flags) if flags and sum(CLONE_NAMESPACE_FLAGS[f] for f in flags) == value else hex(value)
        return f"({where} & ({mask})) == {int(arg.get('valueTwo', 0))}"
    symbol = {"SCMP_CMP_EQ": "==", "SCMP_CMP_NE": "!=", "SCMP_CMP_LT": "<", "SCMP_CMP_LE": "<=",
              "SCMP_CMP_GT": ">", "SCMP_CMP_GE": ">="}.get(op, op)
    return f"{where} {symbol} {value} (octal {value:o})" if where == "arg1" else f"{where} {symbol} {value}"


def _rule_line(rule: dict) -> str:
    names = rule.get("names") or []
    action = rule.get("action", "")
    if rule.get("errnoRet") is not None:
        action += f" (errno {rule['errnoRet']})"
    head = f"{action}: {len(names)} name{'s' if len(names) != 1 else ''}"
    if rule.get("args"):
        head += " only when " + " and ".join(_condition(a) for a in rule["args"])
    if rule.get("comment"):
        head += f"   # {rule['comment']}"
    return head


@dataclass
class StagingReport(Result):
    """What a staged profile (allow-list + ``SCMP_ACT_LOG`` default) logged under the full drive:
    the syscalls enforcement would refuse, which process made each, and how often."""

    pod: str
    steps: list[tuple[str, str]]
    would_break: dict[str, int]
    processes: dict[str, list[str]]

    def __repr__(self) -> str:
        return str(self)

    def __str__(self) -> str:
        lines = [f"{step:28} {answer}" for step, answer in self.steps]
        if not self.would_break:
            return "\n".join(lines + ["would break under enforcement: nothing"])
        lines.append(f"would break under enforcement ({len(self.would_break)}):")
        lines += [f"  {n:18} ×{c:<5} by {', '.join(self.processes.get(n, []))}"
                  for n, c in sorted(self.would_break.items())]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        steps = "".join(f"<tr><td>{html.escape(s)}</td><td>{html.escape(a)}</td></tr>" for s, a in self.steps)
        rows = "".join(f"<tr><td><code>{html.escape(n)}</code></td><td>{c}</td>"
                       f"<td>{html.escape(', '.join(self.processes.get(n, [])))}</td></tr>"
                       for n, c in sorted(self.would_break.items()))
        report = (f"<table><tr><th>syscall</th><th>calls</th><th>made by</th></tr>{rows}</table>" if rows
                  else "<p><b>nothing</b>: the audit covered everything this run did</p>")
        return (f"<div><table><tr><th>step</th><th>result</th></tr>{steps}</table>"
                f"<b>Would break under enforcement</b> (logged by the staged profile):{report}</div>")


def staging_report(manifest, namespace: str, *, drive, config: ClusterRef = "default") -> StagingReport:
    """Run the pod under its staged profile, drive it, and report what was logged.

    Records of this pod's containers count (matched by container id), each with the command
    name (``comm``) of the process that made it: ``nginx`` for the server, or the tool an
    operator exec'd into the container.

    The collector matches a record to a container through ``/proc/<pid>/cgroup`` when it reads
    the record. Under a staged profile a short-lived exec'd process (``nginx -s reload``) may
    log only its last syscalls (``kill``: everything before it is allowed) and be gone before
    the collector looks, so its records carry no container. Those records also count when
    they were made during the drive by a program the drive ran or the pod's own records name
    (a busy machine makes this race common).
    """
    from ..pod_audit import container_ids  # slow import: the kubernetes client
    from ..pods import read_pod, run_pod  # slow import: the kubernetes client

    cluster = as_cluster(config)
    with AuditCollector() as collector:
        outcome = run_pod(manifest, namespace, config=cluster)
        started = time.time()
        if outcome.ok:
            drive(outcome.name, namespace)
        ended = time.time()
        ids = container_ids(read_pod(outcome.name, namespace, cluster))
        collector.wait_quiet()
        records = [r for r in collector.records(list(ids)) if isinstance(r, SeccompRecord)]
        programs = {r.comm for r in records} | set(_driven_programs(drive))
        records += exited_driven_records(collector.records(), programs, started, ended)
    counts = collections.Counter(r.syscall for r in records)
    processes: dict[str, list[str]] = {}
    for r in records:
        who = f"{r.comm} ({r.exe})" if r.exe and PurePosixPath(r.exe).name != r.comm else r.comm
        processes.setdefault(r.syscall, [])
        if who not in processes[r.syscall]:
            processes[r.syscall].append(who)
    return StagingReport(outcome.name, list(getattr(drive, "done", [])), dict(counts), processes)


def _driven_programs(drive) -> list[str]:
    """The programs a driver execs into the pod (for :class:`~labs.lessons.drive.NginxDriver`:
    ``nginx`` for reload and reopen), as the kernel's 15-character ``comm`` shows them."""

    if not getattr(drive, "operations", False):
        return []
    return [PurePosixPath(command[0]).name[:15] for _, command in OPERATIONS]


@dataclass
class NodeRuntimeDefault(Result):
    """The RuntimeDefault filter the node's containerd really generated for one container,
    read back with ``crictl inspect`` (the OCI spec it handed to runc)."""

    node: str
    container_id: str
    runtime: str
    profile: dict = field(repr=False)
    arch: str = "x86_64"

    @property
    def command(self) -> str:
        return engine.shown("exec", self.node, "crictl", "inspect", self.container_id[:13])

    @property
    def allowed(self) -> set[str]:
        """Names allowed on the node's architecture, unconditionally or under some condition."""
        known = set(all_syscalls(self.arch))
        return {n for r in self.profile.get("syscalls") or [] if r.get("action") == "SCMP_ACT_ALLOW"
                for n in r.get("names") or [] if n in known}

    @property
    def conditional(self) -> list[dict]:
        """Rules with argument conditions or an errno other than the default."""
        return [r for r in self.profile.get("syscalls") or []
                if r.get("args") or (r.get("action") == "SCMP_ACT_ERRNO" and r.get("errnoRet"))]

    def rule_for(self, name: str) -> list[dict]:
        return [r for r in self.profile.get("syscalls") or [] if name in (r.get("names") or [])]

    def __repr__(self) -> str:
        return str(self)

    def __str__(self) -> str:
        lines = [f"{self.runtime} on {self.node}: RuntimeDefault allows {len(self.allowed)} {self.arch} syscalls "
                 f"(default {self.profile.get('defaultAction')}, {len(self.profile.get('syscalls') or [])} rules)"]
        for name in ("clone", "clone3"):
            for rule in self.rule_for(name):
                if rule.get("args") or rule.get("errnoRet"):
                    lines.append(f"  {name}: {_rule_line(dict(rule, names=[name]))}")
        lines.append(f"  read with: {self.command}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return "<pre>" + html.escape(str(self)) + "</pre>"


def node_runtime_default(pod: str, namespace: str, config: ClusterRef = "default") -> NodeRuntimeDefault:
    """The RuntimeDefault filter of ``pod``'s first container (it must run under RuntimeDefault),
    as its node's containerd generated it: ``crictl inspect`` on the node, ``info.runtimeSpec``."""
    from ..pods import read_pod  # slow import: the kubernetes client

    status = read_pod(pod, namespace, config)
    node = (status.get("spec") or {}).get("nodeName")
    raw = next((c.get("containerID") for c in (status.get("status") or {}).get("containerStatuses") or []
                if c.get("containerID")), "")
    if not node or "://" not in raw:
        raise LabError(f"pod {pod} in {namespace} has no running container yet",
                       fix="wait for it to run (labs.pods.wait_for_pod) and try again")
    cid = raw.split("://", 1)[1]
    out = engine.exec(node, ["crictl", "inspect", cid], timeout=60,
                      fix="the node container must be running; see labs.cluster.cluster_status()")
    spec = json.loads(out.stdout).get("info", {}).get("runtimeSpec", {})
    profile = (spec.get("linux") or {}).get("seccomp")
    if not profile:
        raise LabError(f"container {cid[:13]} of pod {pod} runs without a seccomp filter",
                       fix="use a pod whose seccompProfile is RuntimeDefault (e.g. the client pod)")
    version = engine.exec(node, ["containerd", "--version"], check=False).stdout.split()
    runc = engine.exec(node, ["runc", "--version"], check=False).stdout.split()
    runtime = " ".join(["containerd", version[2] if len(version) > 2 else "?", "/ runc",
                        runc[2] if len(runc) > 2 else "?"])
    machine = engine.exec(node, ["uname", "-m"], check=False).stdout.strip()
    return NodeRuntimeDefault(node, cid, runtime, profile, {"arm64": "aarch64"}.get(machine, machine or "x86_64"))
