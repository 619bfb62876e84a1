"""The course's Python and notebooks pass ``ruff check`` (rules in pyproject.toml).

`make test` runs ruff first; this test keeps `pytest tests/unit` honest on its own.
"""
import shutil
import sys
from pathlib import Path

import pytest

from labs.runner import run

ROOT = Path(__file__).resolve().parents[2]


def _ruff() -> str | None:
    """The venv's ruff (pinned in requirements.txt) first, then one on PATH."""
    beside = Path(sys.executable).with_name("ruff")
    return str(beside) if beside.exists() else shutil.which("ruff")


def test_ruff_finds_nothing():
    ruff = _ruff()
    if ruff is None:
        pytest.skip("ruff is not installed: `make venv` installs the version pinned in requirements.txt")
    result = run([ruff, "check", "--output-format", "concise", "--no-cache", str(ROOT)], check=False, timeout=120)
    assert result.returncode == 0, (
        f"ruff findings (fix them; `ruff check --fix` applies the safe fixes):\n{result.stdout}{result.stderr}")
