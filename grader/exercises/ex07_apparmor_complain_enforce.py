"""07-apparmor-complain-enforce: a profile written from complain-mode records, then enforced."""
from __future__ import annotations

from labs.errors import ProfileError

from ..checks.apparmor import file_rules, is_complain, syntax_name, uncovered_records
from ..context import Exercise
from ..model import Check
from .apparmor_live import require_enforced, run_confined
from .common import EXERCISES_DIR

ID = "07-apparmor-complain-enforce"
RECORDS = EXERCISES_DIR / ID / "complain.log"


def _enforce_mode(ctx) -> str:
    if is_complain(ctx.text("apparmor")):
        raise ProfileError("the profile is still in complain mode", fix="remove flags=(complain)")
    return "the profile is in enforce mode"


def _covers(ctx) -> str:
    from labs.audit import parse_audit_text

    records = [r for r in parse_audit_text(RECORDS.read_text()).records if getattr(r, "apparmor", None)]
    missing = uncovered_records(ctx.text("apparmor"), records)
    if missing:
        raise ProfileError(f"{len(missing)} recorded accesses are not allowed: {', '.join(missing[:8])}",
                           fix="add a rule for each record (path and permission) from complain.log")
    return f"all {len(records)} recorded accesses are allowed"


def _not_wide_open(ctx) -> str:
    wide = [f"{g} {p}" for d, g, p in file_rules(ctx.text("apparmor")) if not d and g in ("/**", "/*", "**") and "w" in p]
    if wide:
        raise ProfileError(f"rule {wide[0]} lets the app write anywhere", fix="allow the paths the records show")
    return "no allow-everything write rule"


EXERCISE = Exercise(
    id=ID,
    title="AppArmor: from complain records to an enforced profile",
    files={"apparmor": "app.apparmor"},
    checks=(
        Check("parses", "apparmor_parser accepts the profile", 1, lambda ctx: f"profile {syntax_name(ctx)} parses"),
        Check("enforce-mode", "the profile is in enforce mode", 1, _enforce_mode, needs=("parses",)),
        Check("covers-records", "every access in complain.log is allowed", 2, _covers, needs=("parses",),
              hint="labs.apparmor.rules_from_records turns the records into rules"),
        Check("not-wide-open", "no write-everywhere rule", 1, _not_wide_open, needs=("covers-records",)),
        Check("enforced", "a pod runs confined in enforce mode", 2,
              lambda ctx: require_enforced(ctx, run_confined(ctx)), live=True, needs=("enforce-mode", "covers-records")),
    ),
)
