"""06-apparmor-deny-write: an AppArmor profile that forbids writes under /etc, used by a pod."""
from __future__ import annotations

from labs.errors import ProfileError

from ..checks.apparmor import deny_write_rules, glob_matches, require_named, syntax_name, file_rules
from ..context import Exercise
from ..model import Check
from .apparmor_live import require_enforced, run_confined, write_denied
from .common import single_pod

TARGET = "/etc/grader-probe"


def _deny_rule(ctx) -> str:
    text = ctx.text("apparmor")
    hits = [f"deny {g} {p}" for d, g, p in file_rules(text) if d and ("w" in p or "a" in p) and glob_matches(g, TARGET)]
    if not hits:
        found = deny_write_rules(text)
        raise ProfileError("no deny rule refuses writes under /etc" + (f" (found: {'; '.join(found)})" if found else ""),
                           fix="add a rule like `deny /etc/** w,` inside the profile")
    return f"deny rule found: {hits[0]}"


EXERCISE = Exercise(
    id="06-apparmor-deny-write",
    title="AppArmor: deny writes under /etc",
    files={"apparmor": "deny-write.apparmor", "pod": "pod.yaml"},
    checks=(
        Check("parses", "apparmor_parser accepts the profile", 1, lambda ctx: f"profile {syntax_name(ctx)} parses",
              hint="apparmor_parser -Q -K FILE shows the first syntax error"),
        Check("deny-write", "a deny rule refuses writes under /etc", 2, _deny_rule, needs=("parses",)),
        Check("pod-uses-profile", "the pod asks for the profile (field or annotation)", 2,
              lambda ctx: require_named(single_pod(ctx), syntax_name(ctx)), needs=("parses",),
              hint="securityContext.appArmorProfile: {type: Localhost, localhostProfile: <profile name>}"),
        Check("enforced", "the container runs confined in enforce mode", 1,
              lambda ctx: require_enforced(ctx, run_confined(ctx)), live=True, needs=("deny-write", "pod-uses-profile")),
        Check("write-denied", "writing under /etc fails (works unconfined)", 2,
              lambda ctx: write_denied(ctx, run_confined(ctx), TARGET), live=True, needs=("enforced",)),
    ),
)
