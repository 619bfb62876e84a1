"""Merge recorded runs into one profile and say why each syscall is in it (pure functions).

Why provenance: a profile is a list of names; when one of them looks surprising (``ptrace``?)
the question is which run needed it and when. Each run's syscalls are split into the four phases
of :mod:`labs.recordings` (runtime, startup, requests, shutdown), which also holds the coverage
curve and the diff this module shares with the AppArmor merge (:mod:`labs.apparmor.recording`).
"""
from __future__ import annotations

import collections
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..recordings import PHASES, RecordingDiff, classify_phase, coverage_of, diff_phases  # first three re-exported
from ..results import Result

__all__ = ["PHASES", "RunRecord", "SyscallProvenance", "RecordingDiff", "classify_phase",
           "split_phases", "merge_runs", "provenance", "coverage", "diff_runs"]


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
    return coverage_of((run.index, run.syscalls()) for run in runs)


def diff_runs(old: Iterable[RunRecord], new: Iterable[RunRecord], *, old_label: str = "old",
              new_label: str = "new") -> RecordingDiff:
    """What changed between two recordings (each a list of runs), with phases for context."""
    before = {p.syscall: sorted(p.phases, key=PHASES.index) for p in provenance(old)}
    after = {p.syscall: sorted(p.phases, key=PHASES.index) for p in provenance(new)}
    return diff_phases(before, after, old_label=old_label, new_label=new_label)

