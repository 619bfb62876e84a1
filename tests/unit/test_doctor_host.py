"""Pure helpers behind `make engine` / `make images`: daemon.json merge, apt mirror lookup."""
import pytest

from labs.errors import EnvironmentProblem
from labs.host import HOST_PACKAGES, merge_daemon_config
from labs.images import apt_mirror


def test_merge_keeps_other_settings_and_runtimes():
    current = {"log-driver": "local", "runtimes": {"nvidia": {"path": "/usr/bin/nvidia-container-runtime"}},
               "default-runtime": "runc"}
    merged = merge_daemon_config(current, "/usr/local/bin/runc-capfix")
    assert merged["log-driver"] == "local"
    assert merged["runtimes"] == {"nvidia": {"path": "/usr/bin/nvidia-container-runtime"},
                                  "runc-capfix": {"path": "/usr/local/bin/runc-capfix"}}
    assert merged["default-runtime"] == "runc-capfix"
    assert current["default-runtime"] == "runc"         # the input is not modified
    assert merge_daemon_config(merged, "/usr/local/bin/runc-capfix") == merged   # idempotent


def test_one_package_list_covers_engine_and_lab_tools():
    assert HOST_PACKAGES["dockerd"] == "docker.io"
    assert {"debootstrap", "auditd", "apparmor", "qemu-system-x86"} <= set(HOST_PACKAGES.values())


def test_mirror_from_deb822_sources(tmp_path):
    (tmp_path / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n"
        "Components: main\n\n"
        "Types: deb-src\nURIs: http://src.example/debian\nSuites: bookworm\n\n"
        "Types: deb\nURIs: http://mirror.example/debian/\nSuites: bookworm bookworm-updates\n"
        "Components: main\n")
    assert apt_mirror("bookworm", [tmp_path]) == "http://mirror.example/debian"


def test_mirror_from_one_line_sources(tmp_path):
    sources = tmp_path / "sources.list"
    sources.write_text("# comment\ndeb [arch=amd64 signed-by=/k.gpg] http://one.example/debian bookworm main\n")
    assert apt_mirror("bookworm", [tmp_path / "missing.d", sources]) == "http://one.example/debian"


def test_no_mirror_says_what_to_do(tmp_path):
    with pytest.raises(EnvironmentProblem, match="no apt source for Debian bookworm"):
        apt_mirror("bookworm", [tmp_path])
