"""A new namespace's ServiceAccount wait: 60 s, longer on a slow host, a clear error when mistyped."""
from __future__ import annotations

import pytest

from labs import namespaces
from labs.errors import EnvironmentProblem


def test_the_default_wait_is_a_minute(monkeypatch):
    monkeypatch.delenv(namespaces.SERVICE_ACCOUNT_WAIT_ENV, raising=False)
    assert namespaces.service_account_wait() == 60


def test_a_slow_host_sets_a_longer_wait(monkeypatch):
    monkeypatch.setenv(namespaces.SERVICE_ACCOUNT_WAIT_ENV, "360")
    assert namespaces.service_account_wait() == 360


def test_a_mistyped_wait_names_the_variable(monkeypatch):
    monkeypatch.setenv(namespaces.SERVICE_ACCOUNT_WAIT_ENV, "5min")
    with pytest.raises(EnvironmentProblem, match="COURSE_SERVICE_ACCOUNT_WAIT='5min'"):
        namespaces.service_account_wait()
