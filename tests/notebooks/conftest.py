"""Notebook tier: every lesson executed top to bottom against the real engine and cluster.

Lessons are skipped only when this machine lacks what the whole lesson needs (a Docker
engine, the kind cluster); lessons that need AppArmor or the multi-node cluster still run
and must say plainly which cells they skip.
"""
from __future__ import annotations

import pytest

from labs import lessons


@pytest.fixture(scope="session")
def available() -> set[str]:
    return lessons.detect_available()


@pytest.fixture
def require_core(available):
    def check(number: str) -> None:
        missing = [n for n in lessons.lesson(number).core if n not in available]
        if missing:
            pytest.skip(f"this machine lacks {', '.join(lessons.NEEDS[n] for n in missing)}")
    return check
