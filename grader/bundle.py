"""Build a Gradescope autograder zip for one exercise (see grader/gradescope/README.md)."""
from __future__ import annotations

import zipfile
from pathlib import Path

from .exercises import get_exercise

__all__ = ["GRADER_REQUIREMENTS", "build_gradescope_bundle"]

ROOT = Path(__file__).resolve().parent.parent
#: What grading needs at run time (the rest of requirements.txt is for notebooks and tests).
GRADER_REQUIREMENTS = ("PyYAML", "kubernetes")


def _wanted(rel: Path, exercise_id: str) -> bool:
    """Code and data; the lab image recipes are not needed; only this exercise's solution
    (its reference size check reads it)."""
    if "__pycache__" in rel.parts or rel.parts[:2] == ("labs", "images"):
        return False
    return "solution" not in rel.parts or exercise_id in rel.parts


def _pinned() -> str:
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    wanted = [ln for ln in lines if ln.split("==")[0].strip().lower() in {r.lower() for r in GRADER_REQUIREMENTS}]
    return "\n".join(wanted) + "\n"


def build_gradescope_bundle(exercise_id: str, out: Path) -> Path:
    """Zip setup.sh + run_autograder (top level) with grader/, labs/ and the exercise id."""
    exercise = get_exercise(exercise_id)
    here = Path(__file__).resolve().parent
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in ("setup.sh", "run_autograder"):
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o100755 << 16
            zf.writestr(info, (here / "gradescope" / name).read_text())
        zf.writestr("EXERCISE", exercise.id + "\n")
        zf.writestr("requirements-grader.txt", _pinned())
        for package in ("grader", "labs"):
            for path in sorted((ROOT / package).rglob("*")):
                rel = path.relative_to(ROOT)
                if path.is_file() and _wanted(rel, exercise.id):
                    zf.write(path, str(rel))
    return out
