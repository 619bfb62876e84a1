"""A recording of a workload: its runs, the merged profile, the report (pure; no I/O but files).

Why one object: the notebook, the CLI and the grader all need the same answers (which
syscalls, why each, was anything lost, is it complete) and the same files (profile.json,
profile-staged.json, report.json, report.md), so they come from one place.
"""
from __future__ import annotations

import collections
import html
import json
from dataclasses import dataclass, field, fields
from pathlib import Path

from ..recordings import provenance_table_html, status_colour
from ..results import Result
from .build import build_profile, write_profile
from .provenance import PHASES, RecordingDiff, RunRecord, coverage, diff_runs, merge_runs, provenance
from .suggest import Suggestion, suggest_arguments

__all__ = ["Recording", "load_recording"]


@dataclass
class Recording(Result):
    """What ``record_image``/``record_manifest`` saw, run by run, and what follows from it.

    ``partial`` is True when a run was interrupted or failed: the profile then covers only
    what was seen. ``lost`` counts audit records the collector reported as dropped; any loss
    means the profile may miss a syscall, and the report says so first.
    """

    target: str
    platform: str                                   # the engine's binary (labs.engine.binary()) or "cluster"
    runtime: str                                    # runtime version string, e.g. "runc 1.1.5"
    architectures: list[str] = field(default_factory=lambda: ["x86_64"])
    runs: list[RunRecord] = field(default_factory=list)
    lost: int = 0
    kernel_lost: int | None = None                  # None: the kernel's counter was not readable
    partial: bool = False
    problems: list[str] = field(default_factory=list)
    baseline: list[str] = field(default_factory=list)   # syscalls a trivial program's run needs

    # -- answers ------------------------------------------------------------------------------
    def syscalls(self) -> collections.Counter:
        """Every recorded syscall with calls summed over runs and phases."""
        return merge_runs(self.runs)

    def program_syscalls(self) -> set[str]:
        """Syscalls the program itself made (any phase but the runtime's)."""
        return {p.syscall for p in self.provenance() if not p.runtime_only}

    def runtime_syscalls(self) -> set[str]:
        """Syscalls only the runtime made, before it started the program."""
        return {p.syscall for p in self.provenance() if p.runtime_only}

    def beyond_baseline(self) -> set[str]:
        """Syscalls this workload needs that a trivial program under the same runtime does not."""
        return set(self.syscalls()) - set(self.baseline)

    def provenance(self):
        return provenance(self.runs)

    def coverage(self):
        return coverage(self.runs)

    def suggestions(self) -> list[Suggestion]:
        families = {f for run in self.runs for f in run.socket_families}
        return suggest_arguments(self.syscalls(), socket_families=families)

    def profile(self, *, staging: bool = False) -> dict:
        """The merged least-privilege profile (``staging``: same allow-list, LOG default)."""
        return build_profile(self.syscalls(), architectures=self.architectures, staging=staging)

    def diff(self, other: Recording) -> RecordingDiff:
        return diff_runs(self.runs, other.runs, old_label=self.target, new_label=other.target)

    @property
    def status(self) -> str:
        if self.lost or self.kernel_lost:
            return f"INCOMPLETE: {self.lost + (self.kernel_lost or 0)} audit records were lost"
        return "PARTIAL" if self.partial else "complete"

    @property
    def unattributed(self) -> int:
        """Records kept though their container was unknown (the process had exited first)."""
        return sum(r.unattributed for r in self.runs)

    def notes(self) -> list[str]:
        """The problems first, then what the reader should know about how records were matched
        and what each run could not record (never silently)."""
        unattributed = ([f"{self.unattributed} records came from processes that exited before the collector "
                         "read their container (short-lived children); they were matched to the workload by "
                         "command name and time, not by container id"] if self.unattributed else [])
        return self.problems + unattributed + [f"run {r.index}: {n}" for r in self.runs for n in r.notes]

    def keep_partial(self, exc: BaseException, out: str | Path | None) -> None:
        """Label this recording partial because of ``exc`` (a LabError or Ctrl-C), write what
        was seen to ``out`` and attach it to the exception as ``.recording`` for the caller."""
        self.partial = True
        self.problems.insert(0, "interrupted (Ctrl-C)" if isinstance(exc, KeyboardInterrupt)
                             else str(exc).splitlines()[0])
        if out is not None:
            self.write(out)
        exc.recording = self

    def note_lost(self, lost: int, kernel_lost: int | None) -> None:
        """Record both drop counts; any drop is a problem the report shows first."""
        self.lost, self.kernel_lost = lost, kernel_lost
        if lost:
            self.problems.append(f"the collector lost {lost} audit records: the profile may miss "
                                 "syscalls; record again (see bench/collector_bench.py)")
        if kernel_lost:
            self.problems.append(f"the kernel dropped {kernel_lost} audit records on this machine "
                                 "while recording (audit status 'lost'): the profile may miss syscalls")

    # -- files --------------------------------------------------------------------------------
    def write(self, out: str | Path) -> Path:
        """profile.json (enforcing), profile-staged.json (LOG default), report.json, report.md."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        if self.syscalls():
            write_profile(self.profile(), out / "profile.json")
            write_profile(self.profile(staging=True), out / "profile-staged.json")
        (out / "report.json").write_text(self.to_json(indent=2) + "\n")
        (out / "report.md").write_text(self.markdown())
        return out

    def markdown(self) -> str:
        lines = [f"# Recording of {self.target} ({self.platform}, {self.runtime})", "",
                 f"Status: **{self.status}**", "",
                 "Kernel drops: " + ("not readable here (reading the audit status needs root)"
                                     if self.kernel_lost is None else str(self.kernel_lost))
                 + f"; collector drops: {self.lost}.", ""]
        lines += [f"- {p}" for p in self.notes()] + ([""] if self.notes() else [])
        total = self.syscalls()
        added = sorted(set(self.profile()["syscalls"][0]["names"]) - set(total)) if total else []
        lines += [f"{len(self.runs)} run(s), {sum(r.records for r in self.runs)} records, "
                  f"{len(total)} distinct syscalls; the profile adds {len(added)} runtime start-up "
                  f"syscalls not seen: {', '.join(added) or 'none'}.", ""]
        lines += self._coverage_md() + self._runtime_md() + self._provenance_md() + self._suggestions_md()
        return "\n".join(lines) + "\n"

    def _coverage_md(self) -> list[str]:
        rows = ["## Coverage (new syscalls per run)", "", "| run | new | total | new names |", "|---|---|---|---|"]
        rows += [f"| {i} | {n} | {t} | {', '.join(names)} |" for i, n, t, names in self.coverage()]
        last = self.coverage()[-1][1] if self.runs else 0
        rows += ["", "The last run added nothing: more runs of the same drive are unlikely to add names."
                 if last == 0 and len(self.runs) > 1 else
                 "The last run still added names (or there was one run): record more runs.", ""]
        return rows

    def _runtime_md(self) -> list[str]:
        program = self.program_syscalls()
        lines = ["## Runtime vs program", "",
                 f"- the runtime alone (before execve of the program): {len(self.runtime_syscalls())}: "
                 f"{', '.join(sorted(self.runtime_syscalls())) or 'none'}",
                 f"- the program: {len(program)}"]
        if self.baseline:
            lines.append(f"- a trivial program (`true`) under {self.runtime} needs {len(self.baseline)}; "
                         f"this workload needs {len(self.beyond_baseline())} more: "
                         f"{', '.join(sorted(self.beyond_baseline()))}")
        return lines + [""]

    def _provenance_md(self) -> list[str]:
        rows = ["## Why each syscall is there", "", "| syscall | runs | " + " | ".join(PHASES) + " |",
                "|---|---|" + "---|" * len(PHASES)]
        for p in self.provenance():
            rows.append(f"| {p.syscall} | {','.join(map(str, p.runs))} | "
                        + " | ".join(str(p.phases.get(ph, "")) for ph in PHASES) + " |")
        return rows + [""]

    def _suggestions_md(self) -> list[str]:
        rows = ["## Argument-level suggestions", ""]
        for s in self.suggestions():
            rows += [f"- **{s.syscall}**{'' if s.automatic else ' (manual)'}: {s.protects}",
                     f"  - cannot: {s.cannot}", f"  - evidence: {s.evidence}"]
        return rows + ["", "Try them staged first: `apply_suggestions(profile_staged, suggestions)`."]

    def _repr_html_(self) -> str:
        colour = status_colour(self.status)
        head = (f"<div><b>Recording of {html.escape(self.target)}</b> ({html.escape(self.platform)}, "
                f"{html.escape(self.runtime)}): <span style='color:{colour}'>{html.escape(self.status)}</span>, "
                f"{len(self.runs)} run(s), {len(self.syscalls())} syscalls</div>")
        problems = "".join(f"<li>{html.escape(p)}</li>" for p in self.notes())
        table = provenance_table_html("syscall", ((p.syscall, ",".join(map(str, p.runs)), p.phases)
                                                  for p in self.provenance()))
        return f"<div>{head}<ul>{problems}</ul>{table}</div>"

    def coverage_plot(self):
        """A step chart of distinct syscalls after each run (labs.plots style)."""
        from matplotlib.figure import Figure  # slow import: matplotlib

        from ..plots import PLAIN_COLOUR  # slow import: matplotlib

        points = self.coverage()
        fig = Figure(figsize=(6, 3))
        ax = fig.subplots()
        ax.step([i for i, *_ in points], [t for _, _, t, _ in points], where="post", marker="o", color=PLAIN_COLOUR)
        ax.set_xlabel("run")
        ax.set_ylabel("distinct syscalls so far")
        ax.set_title(f"Coverage across runs: {self.target}")
        ax.set_ylim(bottom=0)
        fig.tight_layout()
        return fig


def load_recording(source: str | Path | dict) -> Recording:
    """A Recording from report.json (a path, a folder holding it, or the parsed dict)."""
    if not isinstance(source, dict):
        path = Path(source)
        source = json.loads((path / "report.json" if path.is_dir() else path).read_text())
    names = {f.name for f in fields(Recording)}
    data = {k: v for k, v in source.items() if k in names}
    data["runs"] = [RunRecord(**r) for r in data.get("runs", [])]
    return Recording(**data)

