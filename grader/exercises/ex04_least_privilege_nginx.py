"""04-least-privilege-nginx: an allow-list profile built from the audit, proven live.

Behaviour is graded, not comments: a dangerous syscall may stay allowed when a rule narrows it
by an argument or a comment justifies it (static check), but the live checks then prove that
the attacks it could serve still fail under the learner's profile, each next to an Unconfined
control run. ``clone`` is the case in point: nginx needs it to fork its workers, and a rule
that allows it with every flag (commented or not) also lets any process in the container
create a user namespace with ``clone(CLONE_NEWUSER)``; ``unshare --user`` alone cannot show
that, because it uses the unshare syscall.
"""
from __future__ import annotations

import json

from labs.errors import LabError, ProfileError
from labs.seccomp import allowed_syscalls, load_profile
from labs.syscalls import danger

from ..checks import live
from ..checks.seccomp import load_submitted_profile, require_size_within
from ..context import Exercise
from ..model import Check, NotChecked
from .common import (
    EXERCISES_DIR,
    app_answers,
    attack_with_control,
    control_pod,
    nginx_pod_with_profile,
    profile_denies,
    profile_valid,
    seccomp_filter_on,
)

ID = "04-least-privilege-nginx"
MKDIR = ["mkdir", "/tmp/grader-probe"]
UNSHARE = ["unshare", "--user", "true"]
#: clone(CLONE_NEWUSER | SIGCHLD) made directly (perl is in every Debian image): the parent
#: reports the errno, the child (if one was created) exits at once. 56 is clone on x86_64.
CLONE_NEWUSER_PROBE = [
    "perl", "-e",
    'my $r = syscall(56, 0x10000000 | 17, 0, 0, 0, 0); exit 0 if $r == 0; '
    'if ($r < 0) { print STDERR "clone(CLONE_NEWUSER): $!\\n"; exit 1 } '
    'waitpid($r, 0); print "clone(CLONE_NEWUSER) created a user namespace\\n"',
]
CLONE_REFUSED = "clone(CLONE_NEWUSER): Operation not permitted"


def recorded_reference(exercise_id: str, name: str = "profile.json") -> set[str] | int:
    """The syscalls the reference profile allows: their names from the solution, or in the
    learner edition (no solution) their count, shipped by ``labs.student`` as solution facts."""
    solution = EXERCISES_DIR / exercise_id / "solution" / name
    if solution.is_file():
        return allowed_syscalls(load_profile(solution))
    from labs.student import SOLUTION_FACTS  # slow import: nbformat

    try:
        return int(json.loads((EXERCISES_DIR / exercise_id / SOLUTION_FACTS).read_text())[name]["allowed_syscalls"])
    except (OSError, ValueError, KeyError, TypeError):
        raise NotChecked(f"the reference solution for {exercise_id} is not installed here") from None


def size_vs_recorded(ctx, exercise_id: str = ID, role: str = "profile", workload: str = "nginx") -> str:
    return require_size_within(allowed_syscalls(load_submitted_profile(ctx, role)), recorded_reference(exercise_id),
                               ratio=1.3, slack=8, workload=workload)


def danger_narrowed_or_justified(ctx, role: str = "profile") -> str:
    """Every dangerous syscall allowed sits in a rule that narrows it by an argument or says why.

    Static only: whether the narrowing really stops the attack is for the live checks.
    """
    flagged = []
    for rule in load_submitted_profile(ctx, role).get("syscalls") or []:
        if rule.get("action") not in ("SCMP_ACT_ALLOW", "SCMP_ACT_LOG") or rule.get("args") \
                or str(rule.get("comment", "")).strip():
            continue
        flagged += [f"{name} ({danger(name)})" for name in rule.get("names") or [] if danger(name)]
    if flagged:
        raise ProfileError("dangerous syscalls allowed without a reason, for every argument: "
                           + "; ".join(sorted(set(flagged))), "$.syscalls",
                           fix="allow them only with safe arguments, or, if the app truly needs them as they "
                               "are, in their own rule with a \"comment\" saying why.")
    return "every dangerous syscall allowed is narrowed by an argument or justified"


def clone_newuser_denied(ctx) -> str:
    """clone(CLONE_NEWUSER) must fail under the profile (it works in the Unconfined control)."""
    control = live.exec_ok(ctx, control_pod(ctx), "app", CLONE_NEWUSER_PROBE)
    if control.returncode != 0:
        raise NotChecked("clone(CLONE_NEWUSER) also fails without seccomp on this cluster "
                         f"({(control.stdout + control.stderr).strip()[-120:]}), so a denial would prove nothing here")
    result = live.exec_ok(ctx, nginx_pod_with_profile(ctx), "app", CLONE_NEWUSER_PROBE)
    output = (result.stdout + result.stderr).strip()
    if result.returncode == 0:
        raise LabError("clone(CLONE_NEWUSER) created a user namespace under your profile: clone is allowed "
                       "with every flag", fix="allow clone only when no CLONE_NEW* flag is set.")
    if CLONE_REFUSED not in output:
        raise LabError(f"the clone probe (perl) failed before it reached clone: {output[-200:]}",
                       fix="the probe needs only what a program starting in the container needs; "
                           "compare your profile with the one the lesson built.")
    return f"{CLONE_REFUSED}; it works in the Unconfined control run"


def reloads(ctx) -> str:
    """``nginx -s reload`` (an operator's routine command, exec'd into the container, so under the
    learner's profile) succeeds, and nginx still answers afterwards."""
    pod = nginx_pod_with_profile(ctx)
    result = live.exec_ok(ctx, pod, "app", ["nginx", "-s", "reload"])
    if result.returncode != 0:
        said = (result.stderr or result.stdout).strip().splitlines()
        raise LabError(f"`nginx -s reload` failed under your profile (exit code {result.returncode}): "
                       f"{said[-1] if said else 'no output'}",
                       fix="the reload makes syscalls that serving requests does not.")
    return "`nginx -s reload` worked; " + app_answers(ctx, pod)


EXERCISE = Exercise(
    id=ID,
    title="A least-privilege seccomp profile for nginx",
    files={"profile": "profile.json"},
    checks=(
        Check("valid", "profile.json is a valid seccomp profile", 1, profile_valid),
        Check("denies-by-default", "defaultAction refuses unlisted syscalls", 1, profile_denies, needs=("valid",),
              hint="An allow list starts from SCMP_ACT_ERRNO"),
        Check("no-unjustified-danger", "no dangerous syscall allowed for every argument without a reason", 1,
              danger_narrowed_or_justified, needs=("denies-by-default",),
              hint="labs.syscalls.danger(name) says why a syscall is risky; narrow it with "
                   "labs.seccomp.allow_only_with_argument as the lesson did for mkdir"),
        Check("size", "no larger than the recorded set needs (tolerance 30% + 8)", 1, size_vs_recorded,
              needs=("denies-by-default",), hint="Build it with labs.seccomp.build_profile from your recording"),
        Check("serves", "nginx runs and answers in a pod under the profile", 2,
              lambda ctx: app_answers(ctx, nginx_pod_with_profile(ctx)), live=True, needs=("denies-by-default",),
              hint="Coverage: build from an audit that drove nginx (requests, reload, log reopening), and "
                   "stage it with a LOG default to see what is still missing"),
        Check("reloads", "nginx -s reload works under the profile", 1, reloads, live=True, needs=("serves",),
              hint="Stage your profile (LOG default) while nginx is driven through everything it does, "
                   "reload included, and add what the staging report lists"),
        Check("seccomp-mode", "nginx runs with Seccomp: 2", 1,
              lambda ctx: seccomp_filter_on(ctx, nginx_pod_with_profile(ctx)), live=True, needs=("serves",)),
        Check("mkdir-denied", "mkdir fails with EPERM (works Unconfined)", 1,
              lambda ctx: attack_with_control(ctx, nginx_pod_with_profile(ctx), "app", MKDIR),
              live=True, needs=("serves",),
              hint="Your audit recorded mkdir, so it is allowed for everyone: allow it only with the mode nginx "
                   "itself uses (an argument filter, lesson 04)"),
        Check("unshare-denied", "unshare fails with EPERM (works Unconfined)", 1,
              lambda ctx: attack_with_control(ctx, nginx_pod_with_profile(ctx), "app", UNSHARE),
              live=True, needs=("serves",), hidden=True),
        Check("clone-newuser-denied", "clone(CLONE_NEWUSER) fails with EPERM (works Unconfined)", 1,
              clone_newuser_denied, live=True, needs=("serves",),
              hint="A comment does not make clone safe: allow it only when none of the CLONE_NEW* flags is set "
                   "(a mask on argument 0, like the clone rule of the node's RuntimeDefault in lesson 04)"),
    ),
)
