"""What a profile allows, how two profiles differ, and how one compares with RuntimeDefault.

Why: "least privilege" is only convincing next to a baseline. containerd's RuntimeDefault
(what ``seccompProfile: {type: RuntimeDefault}`` gives a pod) is that baseline; its list ships
as data in ``labs/data/runtime-default.json`` with the containerd version it came from.
"""
from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from functools import cache

from ..results import Result
from ..syscalls import DATA, all_syscalls, danger
from .validate import ALLOWING_ACTIONS, load_profile, profile_architectures

__all__ = [
    "allowed_syscalls",
    "ProfileDiff",
    "diff_profiles",
    "runtime_default",
    "runtime_default_syscalls",
    "RuntimeDefaultComparison",
    "compare_with_runtime_default",
]


def _known_names(profile: dict) -> set[str]:
    return {name for arch in profile_architectures(profile) for name in all_syscalls(arch)}


def _rule_names(rule: dict) -> list[str]:
    return rule.get("names") or ([rule["name"]] if "name" in rule else [])


def allowed_syscalls(profile: dict) -> set[str]:
    """Names the profile lets run, at least under some argument values.

    For an allow-list (default refuses) that is every name in an ALLOW/LOG rule; for a
    deny-list (default ALLOW or LOG) it is every syscall of the profile's architectures except
    those refused unconditionally.
    """
    load_profile(profile)
    rules = profile.get("syscalls") or []
    if profile["defaultAction"] in ALLOWING_ACTIONS:
        refused = {n for r in rules if r["action"] not in ALLOWING_ACTIONS and not r.get("args")
                   for n in _rule_names(r)}
        return _known_names(profile) - refused
    return {n for r in rules if r["action"] in ALLOWING_ACTIONS for n in _rule_names(r)}


@dataclass
class ProfileDiff(Result):
    """Syscalls ``new`` allows that ``old`` did not (added) and the reverse (removed)."""

    added: list[str]
    removed: list[str]
    unchanged: int
    old_default: str
    new_default: str

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed) or self.old_default != self.new_default

    def __str__(self) -> str:
        lines = [f"+ {n}" for n in self.added] + [f"- {n}" for n in self.removed]
        if self.old_default != self.new_default:
            lines.insert(0, f"defaultAction: {self.old_default} -> {self.new_default}")
        return "\n".join(lines) or "no change"

    def _repr_html_(self) -> str:
        def row(sign: str, name: str, colour: str) -> str:
            note = danger(name)
            warn = f" <i>(dangerous: {html.escape(note)})</i>" if note and sign == "+" else ""
            return (f'<div style="background:{colour};font-family:monospace;padding:0 4px">'
                    f"{sign} {html.escape(name)}{warn}</div>")

        header = ""
        if self.old_default != self.new_default:
            header = (f"<div>defaultAction: <code>{html.escape(self.old_default)}</code> &rarr; "
                      f"<code>{html.escape(self.new_default)}</code></div>")
        rows = "".join(row("+", n, "#e6ffec") for n in self.added)
        rows += "".join(row("-", n, "#ffebe9") for n in self.removed)
        summary = (f"<div><b>{len(self.added)} added, {len(self.removed)} removed, "
                   f"{self.unchanged} unchanged</b></div>")
        return f"<div>{summary}{header}{rows}</div>"


def diff_profiles(old: dict, new: dict) -> ProfileDiff:
    """Compare what two profiles allow."""
    before, after = allowed_syscalls(old), allowed_syscalls(new)
    return ProfileDiff(added=sorted(after - before), removed=sorted(before - after),
                       unchanged=len(before & after), old_default=old["defaultAction"],
                       new_default=new["defaultAction"])


@cache
def _runtime_default_data() -> str:
    return (DATA / "runtime-default.json").read_text()


def runtime_default() -> dict:
    """containerd's RuntimeDefault facts: source/version, counts and each name's conditions."""
    return json.loads(_runtime_default_data())


def runtime_default_syscalls(*, unconditional_only: bool = False) -> set[str]:
    """Names containerd's RuntimeDefault allows (426), or only the 363 allowed unconditionally."""
    items = runtime_default()["syscalls"].items()
    return {n for n, v in items if not unconditional_only or v["allowed"] == "unconditional"}


@dataclass
class RuntimeDefaultComparison(Result):
    """A profile next to RuntimeDefault, restricted to the profile's architectures.

    ``ratio`` = allowed / RuntimeDefault names that exist on those architectures: below 1 means
    tighter than the default, above 1 looser.
    """

    allowed: int
    runtime_default: int
    ratio: float
    beyond_runtime_default: list[str]
    conditional_in_runtime_default: dict[str, list[str]]
    dangerous_allowed: dict[str, str]
    containerd_version: str = field(repr=False)

    def __str__(self) -> str:
        lines = [f"allows {self.allowed} syscalls; RuntimeDefault allows {self.runtime_default} "
                 f"on these architectures (ratio {self.ratio:.2f})"]
        if self.beyond_runtime_default:
            lines.append("beyond RuntimeDefault: " + ", ".join(self.beyond_runtime_default))
        for name, reason in self.dangerous_allowed.items():
            lines.append(f"dangerous: {name}: {reason}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        colour = "#1a7f37" if self.ratio <= 1 else "#cf222e"
        beyond = "".join(f"<li><code>{html.escape(n)}</code></li>" for n in self.beyond_runtime_default)
        risky = "".join(f"<li><code>{html.escape(n)}</code>: {html.escape(r)}</li>"
                        for n, r in self.dangerous_allowed.items())
        return (f"<div><b>{self.allowed}</b> allowed vs <b>{self.runtime_default}</b> in RuntimeDefault "
                f'(<span style="color:{colour}">ratio {self.ratio:.2f}</span>)'
                + (f"<div>Beyond RuntimeDefault:<ul>{beyond}</ul></div>" if beyond else "")
                + (f"<div>Dangerous syscalls allowed:<ul>{risky}</ul></div>" if risky else "")
                + f"<div><small>{html.escape(self.containerd_version)}</small></div></div>")


def compare_with_runtime_default(profile: dict) -> RuntimeDefaultComparison:
    """How a profile compares with containerd's RuntimeDefault on the profile's architectures."""
    allowed = allowed_syscalls(profile)
    data = runtime_default()
    known = _known_names(profile)
    baseline = {n for n in data["syscalls"] if n in known}
    conditional = {n: data["syscalls"][n]["when"] for n in sorted(allowed & baseline)
                   if data["syscalls"][n]["allowed"] == "conditional"}
    return RuntimeDefaultComparison(
        allowed=len(allowed),
        runtime_default=len(baseline),
        ratio=round(len(allowed) / len(baseline), 3) if baseline else 0.0,
        beyond_runtime_default=sorted(allowed - baseline),
        conditional_in_runtime_default=conditional,
        dangerous_allowed={n: danger(n) for n in sorted(allowed) if danger(n)},
        containerd_version=data["source"]["version"],
    )
