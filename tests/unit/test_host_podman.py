"""Podman for the test lane is installed only where the course installed the engine itself."""
from __future__ import annotations

import pytest

from labs import host


@pytest.fixture
def installs(monkeypatch, tmp_path):
    calls: list[list[str]] = []
    monkeypatch.setattr(host, "_install_packages", calls.append)
    monkeypatch.setattr(host, "ENGINE_MARKER", tmp_path / "engine-installed-by-course")
    monkeypatch.setattr(host.shutil, "which", lambda tool: None)
    monkeypatch.setattr(host, "_can_change_host", lambda: True)
    return calls


def test_a_machine_whose_engine_the_course_installed_gets_podman(installs):
    host.ENGINE_MARKER.write_text("docker.io\n")
    assert host.ensure_podman() == 0
    assert installs == [["podman"]]


def test_a_learners_machine_is_only_told_how(installs, capsys):
    assert host.ensure_podman() == 0
    assert installs == []
    assert "apt-get install -y --no-install-recommends podman" in capsys.readouterr().out


def test_provisioning_the_engine_leaves_the_marker(installs):
    host._provision(["docker.io"])
    assert installs == [["docker.io"]] and "docker.io" in host.ENGINE_MARKER.read_text()
