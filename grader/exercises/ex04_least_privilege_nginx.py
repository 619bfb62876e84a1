"""04-least-privilege-nginx: an allow-list profile built from the audit, proven live."""
from __future__ import annotations

from ..checks.seccomp import load_submitted_profile, require_size_within
from ..context import Exercise
from ..model import Check
from .common import (app_answers, attack_with_control, nginx_pod_with_profile, no_unjustified_danger,
                     profile_denies, profile_valid, reference_file, seccomp_filter_on)

ID = "04-least-privilege-nginx"
MKDIR = ["mkdir", "/tmp/grader-probe"]
UNSHARE = ["unshare", "--user", "true"]


def size_vs_recorded(ctx, exercise_id: str = ID, role: str = "profile") -> str:
    from labs.seccomp import allowed_syscalls, load_profile

    reference = allowed_syscalls(load_profile(reference_file(exercise_id, "profile.json")))
    return require_size_within(allowed_syscalls(load_submitted_profile(ctx, role)), reference, ratio=1.3, slack=8)


EXERCISE = Exercise(
    id=ID,
    title="A least-privilege seccomp profile for nginx",
    files={"profile": "profile.json"},
    checks=(
        Check("valid", "profile.json is a valid seccomp profile", 1, profile_valid),
        Check("denies-by-default", "defaultAction refuses unlisted syscalls", 1, profile_denies, needs=("valid",),
              hint="an allow list starts from SCMP_ACT_ERRNO"),
        Check("no-unjustified-danger", "no dangerous syscall allowed without a reason", 1, no_unjustified_danger,
              needs=("denies-by-default",), hint="labs.syscalls.danger(name) says why a syscall is risky"),
        Check("size", "no larger than the recorded set needs (tolerance 30% + 8)", 1, size_vs_recorded,
              needs=("denies-by-default",), hint="build it with labs.seccomp.build_profile from your recording"),
        Check("serves", "nginx runs and answers in a pod under the profile", 2,
              lambda ctx: app_answers(ctx, nginx_pod_with_profile(ctx)), live=True, needs=("denies-by-default",),
              hint="record while nginx serves requests; startup alone misses syscalls"),
        Check("seccomp-mode", "nginx runs with Seccomp: 2", 1, lambda ctx: seccomp_filter_on(ctx, nginx_pod_with_profile(ctx)),
              live=True, needs=("serves",)),
        Check("mkdir-denied", "mkdir fails with EPERM (works Unconfined)", 1,
              lambda ctx: attack_with_control(ctx, nginx_pod_with_profile(ctx), "app", MKDIR), live=True, needs=("serves",)),
        Check("unshare-denied", "unshare fails with EPERM (works Unconfined)", 1,
              lambda ctx: attack_with_control(ctx, nginx_pod_with_profile(ctx), "app", UNSHARE), live=True, needs=("serves",),
              hidden=True),
    ),
)
