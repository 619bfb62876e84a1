"""Shared test configuration. Each tier's own conftest.py provides its fixtures.

At the end of a run, one line gives each tier's time (setup, call and teardown of its tests,
session fixtures included where they first run), so CI's log tail tells where the time went.
"""
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
_TIER_SECONDS: dict[str, float] = defaultdict(float)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


def tier_of(nodeid: str) -> str:
    """<tier>/test_x.py::test (pytest's rootdir is tests/) -> <tier>."""
    parts = nodeid.split("::", 1)[0].split("/")
    return parts[0] if len(parts) > 1 else "other"


def pytest_runtest_logreport(report):
    _TIER_SECONDS[tier_of(report.nodeid)] += report.duration


def pytest_terminal_summary(terminalreporter):
    if _TIER_SECONDS:
        terminalreporter.write_line("time per tier: " + ", ".join(
            f"{tier} {seconds / 60:.1f} min" for tier, seconds in _TIER_SECONDS.items()))
