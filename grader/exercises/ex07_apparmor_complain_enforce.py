"""07-apparmor-complain-enforce: a profile written from complain-mode records, reviewed, then
enforced.

The records are the course's copy of ``complain.log`` (the starter file), never the learner's
workspace copy, so deleting a record does not make it disappear from the check. One record
came from a debugging shell (``comm="sh"`` writing ``/etc/passwd``): the review must keep it
out of the profile, the app's own records must all be allowed.
"""
from __future__ import annotations

from labs.audit import parse_audit_text
from labs.errors import ProfileError

from ..checks.apparmor import file_rules, glob_matches, is_complain, uncovered_records
from ..context import Exercise
from ..model import Check
from .apparmor_live import PARSES, require_enforced, run_confined, stoppable
from .common import EXERCISES_DIR

ID = "07-apparmor-complain-enforce"
RECORDS = EXERCISES_DIR / ID / "starter" / "complain.log"
#: the program of the debugging session the review must reject
INTRUDER = "sh"


def _records(*, app: bool):
    records = [r for r in parse_audit_text(RECORDS.read_text()).records if getattr(r, "apparmor", None)]
    return [r for r in records if (r.comm != INTRUDER) == app]


def _enforce_mode(ctx) -> str:
    if is_complain(ctx.text("apparmor")):
        raise ProfileError("the profile is still in complain mode: it logs what enforce mode would refuse and "
                           "lets it happen",
                           fix="the task asks for the enforcing profile.")
    return "the profile is in enforce mode"


def _covers(ctx) -> str:
    records = _records(app=True)
    missing = uncovered_records(ctx.text("apparmor"), records)
    if missing:
        raise ProfileError(f"{len(missing)} of the app's recorded accesses are not allowed: {', '.join(missing[:8])}",
                           fix="each record needs a rule with its path and its permission (requested_mask: "
                               "c means create, which the w permission covers).")
    return f"all {len(records)} accesses the app made are allowed"


def _reviewed(ctx) -> str:
    rules = file_rules(ctx.text("apparmor"))
    for rec in _records(app=False):
        name = rec.name or ""
        denied = any(d and glob_matches(g, name) for d, g, _ in rules)
        allowing = [f"{g} {p}" for d, g, p in rules if not d and glob_matches(g, name) and ("w" in p or "a" in p)]
        if allowing and not denied:
            raise ProfileError(f"rule `{allowing[0]}` lets the container write {name}: that record came from the "
                               f"debugging shell (comm=\"{rec.comm}\"), not from the app",
                               fix="review before you enforce: a recording holds everything that ran, "
                                   "not only what should run.")
    return "the debugging shell's write under /etc stays refused"


def _not_wide_open(ctx) -> str:
    wide = [f"{g} {p}" for d, g, p in file_rules(ctx.text("apparmor"))
            if not d and g in ("/**", "/*", "**") and "w" in p]
    if wide:
        raise ProfileError(f"rule {wide[0]} lets the app write anywhere", fix="allow the paths the records show.")
    return "no allow-everything write rule"


EXERCISE = Exercise(
    id=ID,
    title="AppArmor: from complain records to a reviewed, enforced profile",
    files={"apparmor": "app.apparmor"},
    checks=(
        PARSES,
        Check("enforce-mode", "the profile is in enforce mode", 1, _enforce_mode, needs=("parses",),
              hint="Look at the flags=(...) in the profile's first line"),
        Check("covers-records", "every access the app made is allowed", 2, _covers, needs=("parses",),
              hint="`labs.apparmor.rules_from_records` turns records into rules, as in lesson 07"),
        Check("reviewed", "the debugging shell's write to /etc/passwd is not allowed", 2, _reviewed,
              needs=("covers-records",),
              hint="Print each record's comm: lesson 07's review step keeps only the records you accept "
                   "before generating the profile"),
        Check("not-wide-open", "no write-everywhere rule", 1, _not_wide_open, needs=("covers-records",)),
        stoppable(),
        Check("enforced", "a pod runs confined in enforce mode", 2,
              lambda ctx: require_enforced(ctx, run_confined(ctx)), live=True,
              needs=("enforce-mode", "covers-records")),
    ),
)
