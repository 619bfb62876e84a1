"""Seccomp profiles for the course: validate, build from observed syscalls, compare, explain.

Submodules, one job each: :mod:`.validate` (load and check a profile, errors name the JSON
path), :mod:`.build` (least-privilege profile from observations, runtime start-up syscalls),
:mod:`.compare` (allowed set, diffs, containerd's RuntimeDefault), :mod:`.explain` (advice for
one denied syscall), :mod:`.summary` (a compact view of a profile, printed before it is used),
:mod:`.record` / :mod:`.record_cluster` (record any image or pod: runs, phases, report),
:mod:`.recording`, :mod:`.provenance`, :mod:`.suggest` (merge runs, why each syscall, argument
rules). ``python -m labs.seccomp`` is a small CLI for instructors (and ``record`` for anyone).
"""
from .build import (
    RUNTIME_STARTUP_REASONS,
    RUNTIME_STARTUP_SYSCALLS,
    allow_only_with_argument,
    audit_profile,
    build_profile,
    write_profile,
)
from .compare import (
    ProfileDiff,
    RuntimeDefaultComparison,
    allowed_syscalls,
    compare_with_runtime_default,
    diff_profiles,
    runtime_default,
    runtime_default_syscalls,
)
from .explain import DenialExplanation, explain_denial
from .provenance import PHASES, RecordingDiff, RunRecord, SyscallProvenance, coverage, diff_runs, merge_runs, provenance
from .recording import Recording, load_recording
from .suggest import Suggestion, apply_suggestions, suggest_arguments
from .summary import ProfileSummary, profile_summary
from .validate import (
    ACTIONS,
    MAX_PROFILE_BYTES,
    OPERATORS,
    ProfileWarning,
    load_profile,
    profile_problems,
    profile_warnings,
)

__all__ = [
    "ACTIONS",
    "MAX_PROFILE_BYTES",
    "OPERATORS",
    "RUNTIME_STARTUP_REASONS",
    "RUNTIME_STARTUP_SYSCALLS",
    "DenialExplanation",
    "ProfileDiff",
    "ProfileSummary",
    "RuntimeDefaultComparison",
    "allow_only_with_argument",
    "allowed_syscalls",
    "audit_profile",
    "build_profile",
    "compare_with_runtime_default",
    "diff_profiles",
    "explain_denial",
    "load_profile",
    "profile_problems",
    "profile_summary",
    "profile_warnings",
    "ProfileWarning",
    "runtime_default",
    "runtime_default_syscalls",
    "write_profile",
    # recording a workload (record, merge with provenance, suggest)
    "PHASES",
    "Recording",
    "RecordingDiff",
    "RunRecord",
    "Suggestion",
    "SyscallProvenance",
    "apply_suggestions",
    "coverage",
    "diff_runs",
    "load_recording",
    "merge_runs",
    "provenance",
    "suggest_arguments",
]
