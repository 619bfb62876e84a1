"""The AppArmor profiles the course ships (``labs/profiles/apparmor/``), found by name.

Why a catalog: lessons, the grader and the verification lane must all load the same files;
the file name is the profile name, so ``shipped_profile("course-nginx-deny-write")`` is all
a lesson needs to say.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import ProfileError

__all__ = ["PROFILES_DIR", "shipped_profiles", "shipped_profile"]

PROFILES_DIR = Path(__file__).resolve().parents[1] / "profiles" / "apparmor"


def shipped_profiles() -> list[Path]:
    """Every profile file the course ships (README files excluded), sorted by name."""
    return sorted(p for p in PROFILES_DIR.iterdir() if p.is_file() and p.suffix != ".md")


def shipped_profile(name: str) -> Path:
    """The file of the shipped profile ``name``."""
    path = PROFILES_DIR / name
    if not path.is_file():
        known = ", ".join(p.name for p in shipped_profiles())
        raise ProfileError(f"no shipped AppArmor profile named {name!r}", path="name",
                           fix=f"use one of: {known}")
    return path
