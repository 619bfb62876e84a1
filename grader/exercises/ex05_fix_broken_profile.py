"""05-fix-broken-profile: the given profile names the wrong architecture and misses syscalls."""
from __future__ import annotations

from ..checks.seccomp import load_submitted_profile, require_arch
from ..context import Exercise
from ..model import Check
from .common import app_answers, nginx_pod_with_profile, profile_denies, seccomp_filter_on
from .ex04_least_privilege_nginx import size_vs_recorded

ID = "05-fix-broken-profile"


def _arch(ctx) -> str:
    return require_arch(load_submitted_profile(ctx))


EXERCISE = Exercise(
    id=ID,
    title="Fix a broken profile",
    files={"profile": "profile.json"},
    checks=(
        Check("arch", "valid and lists the nodes' architecture", 2, _arch,
              hint="`uname -m` on the node; the profile lists SCMP_ARCH_* names"),
        Check("denies-by-default", "still refuses unlisted syscalls", 1, profile_denies, needs=("arch",),
              hint="fixing by switching to SCMP_ACT_ALLOW is not a fix"),
        Check("size", "fixed by adding what is missing, not everything", 1,
              lambda ctx: size_vs_recorded(ctx, ID), needs=("denies-by-default",)),
        Check("runs", "nginx starts and answers under the fixed profile", 3,
              lambda ctx: app_answers(ctx, nginx_pod_with_profile(ctx)), live=True, needs=("denies-by-default",),
              hint="`kubectl describe pod` and the audit log show what is still refused"),
        Check("seccomp-mode", "nginx runs with Seccomp: 2", 1, lambda ctx: seccomp_filter_on(ctx, nginx_pod_with_profile(ctx)),
              live=True, needs=("runs",)),
    ),
)
