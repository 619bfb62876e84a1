"""Which node image the course's clusters get: AppArmor-capable exactly where the engine enforces it."""
from __future__ import annotations

import pytest

from labs.cluster import apparmor_image as node_image
from labs.cluster import configs
from labs.cluster.configs import CONFIGS


@pytest.mark.parametrize("text, expected", [
    ('["name=apparmor","name=seccomp,profile=builtin","name=cgroupns"]', True),   # Ubuntu's engine
    ('["name=seccomp,profile=builtin","name=cgroupns"]', False),                   # no AppArmor LSM
    ('["name=seccomp,profile=builtin","name=rootless","name=apparmorish"]', False),
    ("null", False),
    ("", False),
    ("not json", False),
])
def test_security_options_name_apparmor_only_when_docker_lists_it(text, expected):
    assert node_image.security_options_have_apparmor(text) is expected


@pytest.mark.parametrize("enforces, expected", [(True, "base-apparmor"), (False, "base")])
def test_course_clusters_use_the_apparmor_node_only_on_an_apparmor_engine(monkeypatch, enforces, expected):
    monkeypatch.setattr(configs, "_base_node_image", lambda: "base")
    monkeypatch.setattr(configs, "engine_enforces_apparmor", lambda: enforces)
    monkeypatch.setattr(configs, "ensure_apparmor_node_image", lambda base: f"{base}-apparmor")
    assert configs.course_node_image_tag() == expected


def test_every_course_cluster_but_apparmor_takes_the_engine_dependent_image():
    sources = {name: config.node_image for name, config in CONFIGS.items()}
    assert sources.pop("apparmor") is configs.apparmor_node_image_tag
    assert set(sources.values()) == {configs.course_node_image_tag}
