"""What every recorder's report shares: the phases of a run, the coverage curve, the diff (pure).

Why here: the seccomp recorder counts syscalls and the AppArmor merge counts rules, but both
split a run into the same phases, say when to stop recording the same way and diff two
recordings the same way. The phases:

- ``runtime``: the container runtime (runc's init process) before it ``execve``s the program;
  the kernel logs these with ``comm=runc:[2:INIT]``, so no clock is needed to tell them apart;
- ``startup``: the program before the first drive command (including the wait for its port;
  all of the run when there are no drive commands);
- ``requests``: while the drive commands ran and the collector settled;
- ``shutdown``: after the stop signal was sent.

The coverage curve (new names per run) says when to stop recording: a run that still adds
names means the next one may too.
"""
from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass, field

from .results import Result

__all__ = ["PHASES", "RUNTIME_COMMS", "classify_phase", "coverage_of", "RecordingDiff", "diff_phases",
           "status_colour", "provenance_table_html"]

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


def coverage_of(runs: Iterable[tuple]) -> list[tuple]:
    """``(label, names)`` per run, in order -> ``(label, new, total so far, the new names)``."""
    seen: set[str] = set()
    out = []
    for label, names in runs:
        new = sorted(set(names) - seen)
        seen |= set(new)
        out.append((label, len(new), len(seen), new))
    return out


@dataclass
class RecordingDiff(Result):
    """Syscalls (or AppArmor rules) only one of two recordings needed, with the phases that needed them."""

    old: str
    new: str
    added: dict[str, list[str]] = field(default_factory=dict)     # name -> phases (in new)
    removed: dict[str, list[str]] = field(default_factory=dict)   # name -> phases (in old)
    common: int = 0

    def __str__(self) -> str:
        lines = [f"{self.old} -> {self.new}: {len(self.added)} added, {len(self.removed)} removed, "
                 f"{self.common} in both"]
        lines += [f"  + {n} ({', '.join(p)})" for n, p in self.added.items()]
        lines += [f"  - {n} ({', '.join(p)})" for n, p in self.removed.items()]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(str(self))}</pre>"


def diff_phases(before: dict[str, list[str]], after: dict[str, list[str]], *, old_label: str = "old",
                new_label: str = "new") -> RecordingDiff:
    """The diff of two recordings given as {name: phases that needed it}."""
    return RecordingDiff(old_label, new_label,
                         {n: after[n] for n in sorted(set(after) - set(before))},
                         {n: before[n] for n in sorted(set(before) - set(after))},
                         len(set(before) & set(after)))


def status_colour(status: str) -> str:
    """Green for a complete recording, red for a partial or incomplete one (Jupyter views)."""
    return "#27ae60" if status == "complete" else "#c0392b"


def provenance_table_html(what: str, rows: Iterable[tuple[str, str, dict]]) -> str:
    """The folded "why each <what> is there" table: one row per (item, runs, counts per phase)."""
    body = "".join(f"<tr><td><code>{html.escape(item)}</code></td><td>{html.escape(runs)}</td>"
                   + "".join(f"<td>{phases.get(ph, '')}</td>" for ph in PHASES) + "</tr>"
                   for item, runs, phases in rows)
    return (f"<details><summary>why each {what} is there</summary><table><tr><th>{what}</th><th>runs</th>"
            + "".join(f"<th>{ph}</th>" for ph in PHASES) + f"</tr>{body}</table></details>")
