"""Merge recorded runs into one profile and say why each syscall is in it (pure functions).

Why provenance: a profile is a list of names; when one of them looks surprising (``ptrace``?)
the question is which run needed it and when. Each run's syscalls are split into four phases:

- ``runtime``: the container runtime (runc's init process) before it ``execve``s the program;
  the kernel logs these with ``comm=runc:[2:INIT]``, so no clock is needed to tell them apart;
- ``startup``: the program before the first drive command (including the wait for its port;
  all of the run when there are no drive commands);
- ``requests``: while the drive commands ran and the collector settled;
- ``shutdown``: after the stop signal was sent.

The coverage curve (new syscalls per run) says when to stop recording: a run that still adds
names means the next one may too.
"""
from __future__ import annotations

import collections
import html
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..results import Result

__all__ = ["PHASES", "RunRecord", "SyscallProvenance", "RecordingDiff", "classify_phase",
           "split_phases", "merge_runs", "provenance", "coverage", "diff_runs"]

PHASES = ("runtime", "startup", "requests", "shutdown")
RUNTIME_COMMS = ("runc:", "runc", "crun", "youki")


def classify_phase(comm: str, timestamp: float, drive_started: float | None,
                   stop_sent: float | None) -> str:
    """The phase of one record from its process name and its audit timestamp (wall clock)."""
    if comm.startswith(RUNTIME_COMMS):
        return "runtime"
    if stop_sent is not None and timestamp >= stop_sent:
        return "shutdown"
    if drive_started is not None and timestamp >= drive_started:
        return "requests"
    return "startup"


def split_phases(records: Iterable, drive_started: float | None, stop_sent: float | None
                 ) -> dict[str, dict[str, int]]:
    """Seccomp records -> {phase: {syscall: count}}, every phase present (maybe empty)."""
    phases = {p: collections.Counter() for p in PHASES}
    for r in records:
        phases[classify_phase(r.comm, r.timestamp, drive_started, stop_sent)][r.syscall] += 1
    return {p: dict(sorted(c.items())) for p, c in phases.items()}


@dataclass
class RunRecord(Result):
    """One recorded run: which container, its syscalls per phase with counts, what went wrong."""

    index: int
    container: str
    phases: dict[str, dict[str, int]] = field(default_factory=dict)
    records: int = 0
    seconds: float = 0.0
    partial: bool = False
    notes: list[str] = field(default_factory=list)
    socket_families: list[int] = field(default_factory=list)
    unattributed: int = 0           # records of exited processes, matched by name and time

    def syscalls(self) -> collections.Counter:
        """Every syscall of the run, counts summed over phases."""
        total = collections.Counter()
        for counts in self.phases.values():
            total.update(counts)
        return total


@dataclass
class SyscallProvenance(Result):
    """Why one syscall is in the merged profile: the runs and phases that needed it."""

    syscall: str
    runs: list[int]
    phases: dict[str, int]          # phase -> calls, summed over runs
    calls: int

    @property
    def runtime_only(self) -> bool:
        """Only the runtime made it: the program itself never asked for it."""
        return set(self.phases) == {"runtime"}


def merge_runs(runs: Iterable[RunRecord]) -> collections.Counter:
    """The union of every run's syscalls with summed counts: what the merged profile allows."""
    total = collections.Counter()
    for run in runs:
        total.update(run.syscalls())
    return total


def provenance(runs: Iterable[RunRecord]) -> list[SyscallProvenance]:
    """One row per syscall, sorted by name: which runs, which phases, how many calls."""
    rows: dict[str, SyscallProvenance] = {}
    for run in runs:
        for phase in PHASES:
            for name, count in run.phases.get(phase, {}).items():
                row = rows.setdefault(name, SyscallProvenance(name, [], {}, 0))
                if run.index not in row.runs:
                    row.runs.append(run.index)
                row.phases[phase] = row.phases.get(phase, 0) + count
                row.calls += count
    return [rows[n] for n in sorted(rows)]


def coverage(runs: Iterable[RunRecord]) -> list[tuple[int, int, int, list[str]]]:
    """(run index, new syscalls in this run, total so far, the new names) per run, in order.

    A run that still adds names says: record more (another replica, another test suite)."""
    seen: set[str] = set()
    out = []
    for run in runs:
        new = sorted(set(run.syscalls()) - seen)
        seen |= set(new)
        out.append((run.index, len(new), len(seen), new))
    return out


@dataclass
class RecordingDiff(Result):
    """Syscalls only one of two recordings needed (with the phases that needed them)."""

    old: str
    new: str
    added: dict[str, list[str]] = field(default_factory=dict)     # syscall -> phases (in new)
    removed: dict[str, list[str]] = field(default_factory=dict)   # syscall -> phases (in old)
    common: int = 0

    def __str__(self) -> str:
        lines = [f"{self.old} -> {self.new}: {len(self.added)} added, {len(self.removed)} removed, "
                 f"{self.common} in both"]
        lines += [f"  + {n} ({', '.join(p)})" for n, p in self.added.items()]
        lines += [f"  - {n} ({', '.join(p)})" for n, p in self.removed.items()]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(str(self))}</pre>"


def diff_runs(old: Iterable[RunRecord], new: Iterable[RunRecord], *, old_label: str = "old",
              new_label: str = "new") -> RecordingDiff:
    """What changed between two recordings (each a list of runs), with phases for context."""
    before = {p.syscall: sorted(p.phases, key=PHASES.index) for p in provenance(old)}
    after = {p.syscall: sorted(p.phases, key=PHASES.index) for p in provenance(new)}
    return RecordingDiff(old_label, new_label,
                         {n: after[n] for n in sorted(set(after) - set(before))},
                         {n: before[n] for n in sorted(set(before) - set(after))},
                         len(set(before) & set(after)))
