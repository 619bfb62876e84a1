"""The AppArmor submissions both live AppArmor runs grade: each reference solution of exercises
06, 07 and 09, three wrong answers each, and what each wrong answer's report must say.

Imported by the learner host (inside the guest, from the share) and by the worker-node test
(on the host), so both grade the same cases against the same promises.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

DENY, APP, CAPSTONE = "06-apparmor-deny-write", "07-apparmor-complain-enforce", "09-capstone"
#: wrong answers kept in the submissions corpus: (case folder, exercise)
CORPUS_WRONG = [("06-allow-write-only", DENY), ("07-still-complain", APP), ("09-annotation-only", CAPSTONE)]
#: wrong answers made from the reference: (case, exercise, file, text, replaced by)
EDITED_WRONG = [
    ("06-silent-deny", DENY, "deny-write.apparmor", "audit deny /etc/** w,", "deny /etc/** w,"),
    ("06-complain", DENY, "deny-write.apparmor", "flags=(", "flags=(complain,"),
    ("07-write-everywhere", APP, "app.apparmor", "/var/cache/app/state rw,", "/** rw,"),
    ("07-shell-write-kept", APP, "app.apparmor", "/var/cache/app/state rw,",
     "/var/cache/app/state rw,\n  /etc/passwd w,"),
    # mkdir kept from the audit without lesson 04's argument filter: every mkdir is allowed
    ("09-mkdir-unfiltered", CAPSTONE, "web.json", '"args": [\n        {\n          "index": 1,\n'
     '          "op": "SCMP_CMP_EQ",\n          "value": 448\n        }\n      ],\n      ', ""),
    # an AppArmor profile that confines nginx but lets it write anywhere: not least privilege
    ("09-apparmor-allows-write", CAPSTONE, "capstone.apparmor", "  deny /etc/** w,\n", ""),
    # last: the emulated learner host stopped answering while grading this one in a boot of stop 19
    ("09-apparmor-complain", CAPSTONE, "capstone.apparmor", "flags=(", "flags=(complain,"),
]
#: wrong answers whose mistake a static check catches, so no live check starts (graded in seconds)
CAUGHT_STATICALLY = {"06-allow-write-only", "07-still-complain", "09-annotation-only"}
#: what each wrong answer's report must say (the exercise's promised feedback)
PROMISED = {
    "06-allow-write-only": "no deny rule refuses writes under /etc",
    "06-silent-deny": "refuses the write silently",
    "06-complain": "not in enforce mode",
    "07-still-complain": "still in complain mode",
    "07-write-everywhere": "lets the app write anywhere",
    "07-shell-write-kept": "came from the debugging shell",
    "09-annotation-only": "use the securityContext.appArmorProfile field",
    "09-mkdir-unfiltered": "`mkdir /tmp/grader-probe` succeeded under your profile",
    "09-apparmor-complain": "not in enforce mode",
    "09-apparmor-allows-write": "worked under your AppArmor profile",
}


def _edited(exercises: Path, work: Path, case: str, exercise: str, name: str, old: str, new: str) -> Path:
    """A copy of the reference solution with one mistake a learner makes."""
    folder = work / case
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(exercises / exercise / "solution", folder)
    text = (folder / name).read_text()
    if old not in text:
        raise AssertionError(f"{old!r} is not in {exercise}'s {name}: the reference changed, update {case}")
    (folder / name).write_text(text.replace(old, new, 1))
    return folder


def submissions(exercises: Path, corpus: Path, work: Path) -> list[tuple[str, str, Path]]:
    """(case, exercise, folder): the references, then the wrong answers (edited ones under ``work``)."""
    found = [(f"{ex[:2]}-reference", ex, exercises / ex / "solution") for ex in (DENY, APP, CAPSTONE)]
    found += [(case, ex, corpus / "cases" / case) for case, ex in CORPUS_WRONG]
    found += [(case, ex, _edited(exercises, work, case, ex, *change)) for case, ex, *change in EDITED_WRONG]
    return found


def hostile_cases(corpus: Path) -> list[dict]:
    """The hostile AppArmor cases of the submissions corpus (``case``, ``exercise``, ``expect``)."""
    return [c for c in json.loads((corpus / "cases.json").read_text()) if "-aa-" in c["case"]]
