"""Merge complain-mode runs into one AppArmor profile and say why each rule is there (pure).

Why: lesson 07 turns one complain-mode run into a profile. A real workload needs several runs
(replicas, test suites, different drive scripts), and once they are merged a surprising rule
(``capability dac_override``? a write under /etc?) raises the question the seccomp recorder
answers for syscalls: which run needed it, when, how often. This is the AppArmor side of
:mod:`labs.seccomp.provenance`, sharing :mod:`labs.recordings` with it: the same phases (from
each run's drive and stop times), the same coverage curve and the same diff, with rules where
seccomp has syscall names.

The merged rules are :func:`~labs.apparmor.rules.rules_from_records` over the records of every
run, so the profile is the one lesson 07 would generate from all the logs at once. Coverage and
diffs count *requests*: one permission on one path (``/tmp/x w,``), one capability rule, one
network rule; a run that only added a write to a file another run read is a run that added
something.
"""
from __future__ import annotations

import collections
import functools
import html
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from pathlib import Path

from ..audit import AppArmorRecord, parse_audit_text
from ..errors import LabError
from ..recordings import (
    PHASES,
    RecordingDiff,
    classify_phase,
    coverage_of,
    diff_phases,
    provenance_table_html,
    status_colour,
)
from ..results import Result
from .rules import PERMISSION_ORDER, profile_from_records, rules_from_records, unhandled_records

__all__ = ["AppArmorRun", "RuleProvenance", "AppArmorRecording", "record_requests",
           "load_apparmor_recording"]

_PERMISSIONS = re.compile(r"ix|[rwalkm]")
BASE_RULES = ("#include <abstractions/base>",)


def _split(rule: str) -> tuple[str, str]:
    """``'/x rw,'`` -> ``('/x', 'rw')``; capability and network rules have no permissions."""
    body = rule.rstrip(",")
    if body.startswith(("capability ", "network ")):
        return body, ""
    subject, _, perms = body.rpartition(" ")
    return subject, perms


def record_requests(record, profile: str | None = None) -> list[str]:
    """What one record asked for, one rule per permission (``/x r,`` and ``/x m,`` for an
    ``rm`` mmap); empty when no rule follows from it or it is another profile's record."""
    rules = rules_from_records([record], profile=profile)
    if not rules:
        return []
    subject, perms = _split(rules[0])
    return [f"{subject} {p}," for p in _PERMISSIONS.findall(perms)] if perms else rules


def _ordered(perms: Iterable[str]) -> str:
    return "".join(p for p in PERMISSION_ORDER if p in set(perms))


@dataclass
class AppArmorRun(Result):
    """One complain-mode run: its label, its AppArmor records, when it was driven and stopped
    (audit clock, seconds; None: the whole run is start-up) and what went wrong."""

    label: str
    records: list[AppArmorRecord] = field(default_factory=list)
    drive_started: float | None = None
    stop_sent: float | None = None
    lost: int = 0
    partial: bool = False
    notes: list[str] = field(default_factory=list)

    @classmethod
    def from_audit_text(cls, label: str, text: str, **kwargs) -> AppArmorRun:
        """A run from audit.log/syslog/collector text: its AppArmor records and what was lost."""
        log = parse_audit_text(text)
        return cls(label, log.apparmor, lost=log.lost, notes=list(log.warnings), **kwargs)

    def phases(self, profile: str | None = None) -> dict[str, dict[str, int]]:
        """{phase: {request: records}} for the records of ``profile`` (None: every record)."""
        out = {p: collections.Counter() for p in PHASES}
        for record in self.records:
            phase = classify_phase(record.comm, record.timestamp, self.drive_started, self.stop_sent)
            out[phase].update(record_requests(record, profile))
        return {p: dict(sorted(c.items())) for p, c in out.items()}


@dataclass
class RuleProvenance(Result):
    """Why one rule is in the merged profile: the runs that needed it, the permissions each
    one asked for, and the requests per phase summed over runs."""

    rule: str
    runs: list[str]
    permissions: dict[str, str]     # run label -> permissions it asked for ('' for capability/network)
    phases: dict[str, int]
    count: int                      # requests summed over runs and phases ('rm' counts for r and for m)

    def describe(self) -> str:
        """``report (r), export (rw)``: the runs, with permissions where the rule has them."""
        return ", ".join(f"{run} ({self.permissions[run]})" if self.permissions[run] else run
                         for run in self.runs)


@dataclass
class AppArmorRecording(Result):
    """Complain-mode runs merged into one profile ``name``, with why each rule is there.

    ``from_profile`` keeps the records of the complain profile the runs ran under and of its
    ``//`` children (the ``null-`` profiles complain mode gives exec'd programs). A lost record
    or an interrupted run means the profile may miss a rule: the status and report say so first.
    """

    name: str
    runs: list[AppArmorRun] = field(default_factory=list)
    from_profile: str | None = None
    base_rules: list[str] = field(default_factory=lambda: list(BASE_RULES))
    flags: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        labels = [run.label for run in self.runs]
        twice = sorted({label for label in labels if labels.count(label) > 1})
        if twice:
            raise LabError(f"runs labelled {', '.join(twice)} more than once: provenance could not tell them apart",
                           fix="give every run its own label (e.g. replica-1, replica-2, smoke, full-suite)")

    # -- answers ------------------------------------------------------------------------------
    def records(self) -> list[AppArmorRecord]:
        return [record for run in self.runs for record in run.records]

    def rules(self) -> list[str]:
        """The merged rules: what lesson 07's generator makes of every run's records together."""
        return rules_from_records(self.records(), profile=self.from_profile)

    @property
    def lost(self) -> int:
        return sum(run.lost for run in self.runs)

    @property
    def partial(self) -> bool:
        return any(run.partial for run in self.runs)

    @property
    def status(self) -> str:
        if self.lost:
            return f"INCOMPLETE: {self.lost} audit records were lost"
        return "PARTIAL" if self.partial else "complete"

    def notes(self) -> list[str]:
        """The problems first (loss, interruption), then each run's own notes."""
        lost = ([f"{self.lost} audit records were lost while recording: the profile may miss rules; "
                 "record again (auditd's backlog, or the kernel log's rate limit)"] if self.lost else [])
        partial = [f"run {r.label} was interrupted: the profile covers only what it saw"
                   for r in self.runs if r.partial]
        return self.problems + lost + partial + [f"run {r.label}: {n}" for r in self.runs for n in r.notes]

    @functools.cached_property
    def _phases(self) -> list[dict[str, dict[str, int]]]:
        """Each run's {phase: {request: records}}, worked out once: the runs are read on first use."""
        return [run.phases(self.from_profile) for run in self.runs]

    def provenance(self) -> list[RuleProvenance]:
        """One row per merged rule, in the profile's order: runs, permissions per run, phases."""
        merged = {_split(rule)[0]: rule for rule in self.rules()}
        rows: dict[str, RuleProvenance] = {}
        asked: dict[tuple[str, str], set[str]] = collections.defaultdict(set)
        for run, phases in zip(self.runs, self._phases, strict=True):
            for phase, counts in phases.items():
                for request, count in counts.items():
                    subject, perm = _split(request)
                    row = rows.setdefault(subject, RuleProvenance(merged[subject], [], {}, {}, 0))
                    if run.label not in row.runs:
                        row.runs.append(run.label)
                    asked[subject, run.label].add(perm)
                    row.phases[phase] = row.phases.get(phase, 0) + count
                    row.count += count
        for (subject, label), perms in asked.items():
            rows[subject].permissions[label] = _ordered(perms)
        return [rows[subject] for subject in merged]

    def coverage(self) -> list[tuple]:
        """(run label, new requests, total so far, the new requests) per run, in order."""
        return coverage_of((run.label, {r for counts in phases.values() for r in counts})
                           for run, phases in zip(self.runs, self._phases, strict=True))

    def _request_phases(self) -> dict[str, list[str]]:
        found: dict[str, set[str]] = collections.defaultdict(set)
        for phases in self._phases:
            for phase, counts in phases.items():
                for request in counts:
                    found[request].add(phase)
        return {request: sorted(phases, key=PHASES.index) for request, phases in found.items()}

    def diff(self, other: AppArmorRecording, *, old_label: str | None = None,
             new_label: str | None = None) -> RecordingDiff:
        """Requests only one of the two recordings made (a new permission on a known path counts)."""
        return diff_phases(self._request_phases(), other._request_phases(),
                           old_label=old_label or self.name, new_label=new_label or other.name)

    def unhandled(self) -> dict[str, list[str]]:
        """Records no rule follows from (signal, ptrace, mount, ...) -> the runs that made them."""
        found: dict[str, list[str]] = {}
        for run in self.runs:
            for record in unhandled_records(run.records, profile=self.from_profile):
                runs = found.setdefault(f"{record.operation} {record.name or ''}".strip(), [])
                if run.label not in runs:
                    runs.append(run.label)
        return found

    def profile_text(self) -> str:
        """The merged profile; each rule ends with a comment naming the runs that needed it."""
        why = {row.rule: row.describe() for row in self.provenance()}
        text = profile_from_records(self.name, self.records(), base_rules=self.base_rules, flags=self.flags,
                                    from_profile=self.from_profile)
        lines = [f"{line}  # {why[line.strip()]}" if line.strip() in why else line for line in text.splitlines()]
        lines.insert(1, f"# Merged from {len(self.runs)} complain-mode run(s): "
                        f"{', '.join(run.label for run in self.runs)}; the comment after a rule names the runs "
                        "that needed it (with the permissions each asked for).")
        return "\n".join(lines) + "\n"

    # -- files and rendering -------------------------------------------------------------------
    def to_dict(self) -> dict:
        """The fields, plus the answers a machine reads without this module (status, rules, rows)."""
        return dict(super().to_dict(), status=self.status, rules=self.rules(),
                    provenance=[row.to_dict() for row in self.provenance()], coverage=self.coverage())

    def write(self, out: str | Path) -> Path:
        """The profile (file named after it, as the course's profiles are), report.json, report.md."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        (out / self.name).write_text(self.profile_text())
        (out / "report.json").write_text(self.to_json(indent=2) + "\n")
        (out / "report.md").write_text(self.markdown())
        return out

    def markdown(self) -> str:
        origin = f" from the records of {self.from_profile} and its children" if self.from_profile else ""
        lines = [f"# AppArmor recording of {self.name}", "", f"Status: **{self.status}**", ""]
        lines += [f"- {note}" for note in self.notes()] + ([""] if self.notes() else [])
        lines += [f"{len(self.runs)} run(s), {len(self.records())} records, {len(self.rules())} rules{origin}.", ""]
        lines += ["## Coverage (new requests per run)", "", "| run | new | total | new requests |", "|---|---|---|---|"]
        lines += [f"| {label} | {new} | {total} | {', '.join(f'`{r}`' for r in names)} |"
                  for label, new, total, names in self.coverage()]
        last = self.coverage()[-1][1] if self.runs else 0
        lines += ["", "The last run added nothing: more runs of the same drive are unlikely to add rules."
                  if last == 0 and len(self.runs) > 1 else
                  "The last run still added requests (or there was one run): record more runs.", ""]
        lines += ["## Why each rule is there", "", "| rule | runs (permissions) | " + " | ".join(PHASES) + " |",
                  "|---|---|" + "---|" * len(PHASES)]
        lines += [f"| `{row.rule}` | {row.describe()} | " + " | ".join(str(row.phases.get(p, "")) for p in PHASES)
                  + " |" for row in self.provenance()]
        unhandled = self.unhandled()
        if unhandled:
            lines += ["", "## Not turned into rules (write them by hand if the program needs them)", ""]
            lines += [f"- {what}: {', '.join(runs)}" for what, runs in unhandled.items()]
        return "\n".join(lines) + "\n"

    def _repr_html_(self) -> str:
        colour = status_colour(self.status)
        head = (f"<div><b>AppArmor recording of {html.escape(self.name)}</b>: "
                f"<span style='color:{colour}'>{html.escape(self.status)}</span>, {len(self.runs)} run(s), "
                f"{len(self.rules())} rules</div>")
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes())
        table = provenance_table_html("rule", ((row.rule, row.describe(), row.phases) for row in self.provenance()))
        return f"<div>{head}<ul>{notes}</ul>{table}</div>"


def load_apparmor_recording(source: str | Path | dict) -> AppArmorRecording:
    """An AppArmorRecording from report.json (a path, a folder holding it, or the parsed dict)."""
    if not isinstance(source, dict):
        path = Path(source)
        source = json.loads((path / "report.json" if path.is_dir() else path).read_text())
    names = {f.name for f in fields(AppArmorRecording)}
    data = {k: v for k, v in source.items() if k in names}
    data["runs"] = [AppArmorRun(**dict(run, records=[AppArmorRecord(**r) for r in run.get("records", [])]))
                    for run in data.get("runs", [])]
    return AppArmorRecording(**data)
