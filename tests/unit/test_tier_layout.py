"""The test tiers' layout: pytest imports a tier's test files by basename (the tier folders are
not packages), so two tiers with a file of the same name stop the whole run at collection."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_no_two_tiers_share_a_test_file_name():
    names = Counter(path.name for path in TESTS.glob("*/test_*.py")
                    if not (path.parent / "__init__.py").exists())
    assert [name for name, count in names.items() if count > 1] == []


def test_the_time_per_tier_line_files_each_test_under_its_tier_folder(request):
    # tests/conftest.py as pytest registered it (each tier has a module named "conftest" too)
    tier_of = request.config.pluginmanager.get_plugin(str(TESTS / "conftest.py")).tier_of
    assert tier_of("unit/test_a.py::test_b") == "unit"
    assert tier_of("apparmor_vm/test_c.py::test_d[a/b]") == "apparmor_vm"
    assert tier_of("test_top.py::test_e") == "other"
