"""Shared test configuration. Each tier's own conftest.py provides its fixtures.

At the end of a run, one line gives each tier's time (setup, call and teardown of its tests,
session fixtures included where they first run), so CI's log tail tells where the time went.

``--deselect-tcg-slow`` (what ``make test`` passes) leaves out the tests marked ``tcg_slow`` when
the AppArmor VM would run under software emulation, and says so; under KVM they run.
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


def pytest_addoption(parser):
    parser.addoption("--deselect-tcg-slow", action="store_true",
                     help="leave out the tests marked tcg_slow when the AppArmor VM cannot use KVM")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Under TCG the tcg_slow tests take most of an hour (the learner host alone 44 min), too
    long for make test; under KVM the same guest runs them in minutes. Either way, say which."""
    slow = [item for item in items if item.get_closest_marker("tcg_slow")]
    if not (config.getoption("deselect_tcg_slow") and slow):
        return
    from labs.apparmor.accel import vm_accelerator

    accelerator = vm_accelerator()
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if accelerator.name == "kvm":
        reporter.write_line(f"AppArmor VM under KVM ({accelerator.reason}): the {len(slow)} tcg_slow tests run")
        return
    config.hook.pytest_deselected(items=slow)
    items[:] = [item for item in items if item not in slow]
    reporter.write_line(f"AppArmor VM under TCG ({accelerator.reason}): {len(slow)} tcg_slow tests left out "
                        "(make test-apparmor-vm runs them)")


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
