"""06-apparmor-deny-write: an AppArmor profile that forbids writes under /etc and logs each
refusal, used by a pod.

AppArmor semantics the checks rely on (apparmor.d(5), "Rule Qualifiers"; AppArmor wiki, "Core
Policy Reference"): a ``deny`` rule refuses *without logging*; ``audit deny`` refuses and
logs; deny rules win over allow rules whatever their order.
"""
from __future__ import annotations

import re

from labs.errors import ProfileError

from ..checks.apparmor import deny_write_rules, file_rules, glob_matches, require_named, syntax_name
from ..context import Exercise
from ..model import Check
from .apparmor_live import PARSES, require_enforced, run_confined, stoppable, write_denied
from .common import single_pod

TARGET = "/etc/grader-probe"
#: a file rule with its qualifiers: (audit?) (deny?) path perms
_QUALIFIED = re.compile(r"^\s*(audit\s+)?(deny\s+)?(?:owner\s+)?(?:file\s+)?([/@]\S*)\s+([rwaklmixpucPUCX]+)\s*,", re.M)


def _etc_write_denials(text: str) -> list[tuple[bool, str]]:
    """(is audited, rule) for each deny rule that refuses writing TARGET."""
    return [(bool(m.group(1)), f"{(m.group(1) or '')}deny {m.group(3)} {m.group(4)}")
            for m in _QUALIFIED.finditer(text)
            if m.group(2) and ("w" in m.group(4) or "a" in m.group(4)) and glob_matches(m.group(3), TARGET)]


def _deny_rule(ctx) -> str:
    text = ctx.text("apparmor")
    hits = [f"deny {g} {p}" for d, g, p in file_rules(text) if d and ("w" in p or "a" in p) and glob_matches(g, TARGET)]
    if not hits:
        found = deny_write_rules(text)
        shown = f" (found: {'; '.join(found)})" if found else ""
        raise ProfileError("no deny rule refuses writes under /etc" + shown,
                           fix="an allow-list refuses what it does not name, but `file,` allows every path: "
                               "add a deny rule whose path covers everything under /etc and whose permission is w.")
    return f"deny rule found: {hits[0]}"


def _denial_logged(ctx) -> str:
    rules = _etc_write_denials(ctx.text("apparmor"))
    audited = [rule for logged, rule in rules if logged]
    if not audited:
        raise ProfileError(f"`{rules[0][1]}` refuses the write silently: a plain deny rule writes no audit record",
                           fix="the security team sees nothing: a refusal is logged only when the rule asks for it.")
    return f"each refused write is logged: {audited[0]}"


EXERCISE = Exercise(
    id="06-apparmor-deny-write",
    title="AppArmor: deny writes under /etc, and log every attempt",
    files={"apparmor": "deny-write.apparmor", "pod": "pod.yaml"},
    checks=(
        PARSES,
        Check("deny-write", "a deny rule refuses writes under /etc", 2, _deny_rule, needs=("parses",),
              hint="`**` matches any depth of sub-folders; `w` is the write permission"),
        Check("denial-logged", "each refused write under /etc leaves an audit record", 1, _denial_logged,
              needs=("deny-write",),
              hint="See apparmor.d(5), section 'Rule Qualifiers': `deny` means 'denied without logging'; "
                   "lesson 06's profile example shows the qualifier that records what a rule matches"),
        Check("pod-uses-profile", "the pod asks for the profile (field or annotation)", 2,
              lambda ctx: require_named(single_pod(ctx), syntax_name(ctx)), needs=("parses",),
              hint="`localhostProfile` is the name written after `profile` in your file, not the file's name"),
        stoppable(),
        Check("enforced", "the container runs confined in enforce mode", 1,
              lambda ctx: require_enforced(ctx, run_confined(ctx)), live=True,
              needs=("deny-write", "pod-uses-profile")),
        Check("write-denied", "writing under /etc fails (works unconfined)", 2,
              lambda ctx: write_denied(ctx, run_confined(ctx), TARGET), live=True, needs=("enforced",)),
    ),
)
