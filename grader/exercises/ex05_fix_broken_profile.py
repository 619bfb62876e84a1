"""05-fix-broken-profile: a hand-written nginx profile with three real faults, found the lesson's way.

The starter (``labs/exercises/05-fix-broken-profile/starter/profile.json``) is the reference
solution with three faults planted; ``tests/cluster/test_ex05_faults.py`` proves on the cluster
that each one alone breaks nginx as described here:

1. ``bind`` is missing: nginx exits at start ("bind() to 0.0.0.0:80 failed (1: Operation not
   permitted)"), the pod goes into CrashLoopBackOff.
2. ``listen`` sits in a rule with the legacy singular ``"name"`` key. containerd decodes a
   Localhost profile as the OCI runtime spec's ``LinuxSeccomp``, which only has ``names``, so the
   key is dropped and the rule allows nothing: nginx exits at start on ``listen()``.
3. ``writev`` is missing: nginx starts and stays Ready, but every response fails ("Empty reply
   from server"): only a staging run that sends requests finds it.

The reference also allows ``shutdown`` (answering lesson 03's POST), ``kill`` and
``clock_nanosleep`` (``nginx -s reload``/``reopen``): the lesson's staging run drives those, so
with them in both files it reports exactly the three faults (bind, listen, writev).

A failed ``valid`` check says what is wrong and where, not the value to write: the pointer is
the check's hint (the lesson's ``crictl inspect``).
"""
from __future__ import annotations

from labs.errors import ProfileError

from ..checks.seccomp import load_submitted_profile
from ..context import Exercise
from ..model import Check
from .common import app_answers, nginx_pod_with_profile, profile_denies, seccomp_filter_on
from .ex04_least_privilege_nginx import size_vs_recorded

ID = "05-fix-broken-profile"


def rules_reach_runtime(ctx) -> str:
    """Every rule names its syscalls under ``names``, the only key the runtime reads for them."""
    raw = ctx.json("profile")
    rules = raw.get("syscalls") if isinstance(raw, dict) else None
    rules = rules if isinstance(rules, list) else []
    # Before the course validator: its fix would write the answer out ("names": [...]).
    dropped = [f"$.syscalls[{i}]" for i, rule in enumerate(rules) if isinstance(rule, dict) and "names" not in rule]
    if dropped:
        also = f" (nor has {', '.join(dropped[1:])})" if dropped[1:] else ""
        raise ProfileError(f"this rule has no `names` list{also}: containerd passes such a rule to runc "
                           "without any syscall, so on the node it allows nothing", dropped[0])
    load_submitted_profile(ctx)
    return f"{ctx.filename('profile')} is valid and every one of its {len(rules)} rules lists its syscalls in `names`"


EXERCISE = Exercise(
    id=ID,
    title="Fix a broken profile",
    files={"profile": "profile.json"},
    checks=(
        Check("valid", "valid, and every rule reaches the runtime as written", 2, rules_reach_runtime,
              hint="compare each rule with what `crictl inspect` showed containerd passing to runc in the "
                   "lesson: a key the runtime spec does not have is dropped without a word"),
        Check("denies-by-default", "still refuses unlisted syscalls", 1, profile_denies, needs=("valid",),
              hint="the staging copy (SCMP_ACT_LOG default) is how you find faults, not the answer: "
                   "submit the allow-list with SCMP_ACT_ERRNO"),
        Check("size", "fixed by adding what is missing, not everything", 1,
              lambda ctx: size_vs_recorded(ctx, ID), needs=("denies-by-default",),
              hint="add only the syscalls a staging run reports"),
        Check("starts", "nginx starts and stays up under the fixed profile", 2,
              lambda ctx: nginx_pod_with_profile(ctx) and "nginx is Running and Ready", live=True,
              needs=("denies-by-default",),
              hint="`kubectl logs` names the call nginx failed on; a staging run lists every "
                   "syscall refused at startup, including one your file lists but the runtime never saw"),
        Check("serves", "nginx answers HTTP requests under the fixed profile", 2,
              lambda ctx: app_answers(ctx, nginx_pod_with_profile(ctx)), live=True, needs=("starts",),
              hint="a staging run that only starts nginx misses what it does while answering: "
                   "send requests during the staging run"),
        Check("seccomp-mode", "nginx runs with Seccomp: 2", 1,
              lambda ctx: seccomp_filter_on(ctx, nginx_pod_with_profile(ctx)), live=True, needs=("serves",)),
    ),
)
