"""Where a registry answers, the course pulls its digest-pinned node image and creates clusters
from it; where none answers, it says why and builds (or reuses) the offline image.

Our machines reach no public registry, so "a registry that answers" is distribution's registry
on 127.0.0.1 (local_registry.py) holding the images these tests push. What stays unverified
here: Docker Hub itself and kind's release image (kindnetd, CoreDNS, kube-proxy).
"""
from __future__ import annotations

import pytest
import yaml
from local_registry import LocalRegistry

from labs.cluster import (
    CONFIGS,
    NODE_IMAGE,
    ClusterConfig,
    cluster_status,
    delete_cluster,
    ensure_cluster,
    get_config,
    register_config,
)
from labs.cluster.nodeimage import is_offline_node_image
from labs.cluster.nodesource import SOURCE_ENV, STOCK_IMAGE_ENV, choose_node_image, decide_source, pull_image
from labs.errors import EnvironmentProblem
from labs.images import image_exists
from labs.paths import CLUSTERS_DIR
from labs.runner import run


@pytest.fixture(scope="module")
def registry():
    with LocalRegistry() as served:
        yield served


def publish(registry: LocalRegistry, image: str, repository: str, tag: str) -> str:
    """Push ``image`` as ``<registry>/<repository>:<tag>`` and drop the local references again,
    so the machine looks like one that never pulled it; returns the ``name:tag@sha256:`` form
    that kind's release notes use."""
    name = f"{registry.address}/{repository}"
    run(["docker", "tag", image, f"{name}:{tag}"])
    run(["docker", "push", f"{name}:{tag}"], timeout=600)
    digested = run(["docker", "image", "inspect", "--format",
                    "{{range .RepoDigests}}{{println .}}{{end}}", f"{name}:{tag}"]).stdout.split()
    digest = next(ref for ref in digested if ref.startswith(name + "@")).split("@", 1)[1]
    run(["docker", "rmi", f"{name}:{tag}"])
    run(["docker", "rmi", f"{name}@{digest}"], check=False)   # usually gone with the tag
    assert not image_exists(f"{name}@{digest}")
    return f"{name}:{tag}@{digest}"


@pytest.fixture
def small_image(registry, tmp_path):
    """A tiny image (no node) published to the local registry; removed locally afterwards."""
    (tmp_path / "marker").write_text(tmp_path.name)
    (tmp_path / "Dockerfile").write_text("FROM scratch\nCOPY marker /marker\n")
    run(["docker", "build", "-q", "-t", "course-test/registry-probe:latest", str(tmp_path)])
    ref = publish(registry, "course-test/registry-probe:latest", "kindest/node", "v0.0.0-course-test")
    run(["docker", "rmi", "course-test/registry-probe:latest"])
    yield ref
    run(["docker", "rmi", ref], check=False)


def test_a_registry_that_answers_delivers_the_digest_pinned_image(small_image):
    assert not image_exists(small_image)
    outcome = pull_image(small_image)
    assert outcome.ok, outcome
    assert image_exists(small_image)


def test_stock_source_pulls_and_gets_the_plain_kind_config(small_image, monkeypatch):
    monkeypatch.setenv(STOCK_IMAGE_ENV, small_image)
    said: list[str] = []
    choice = choose_node_image("stock", progress=said.append)
    assert (choice.image, choice.source) == (small_image, "stock")
    assert "pulled from the registry" in choice.reason and any("pull done" in line for line in said)
    # no offline label: kind gets the committed config, with kindnetd, CoreDNS and kube-proxy
    assert get_config("default").kind_config_file(small_image) == get_config("default").file


def test_a_registry_that_does_not_answer(monkeypatch):
    with LocalRegistry() as gone:
        address = gone.address
    ref = f"{address}/kindest/node:v1.34.0@sha256:{'0' * 64}"
    outcome = pull_image(ref)
    assert not outcome.ok and "connection refused" in outcome.detail
    source, reason = decide_source("auto", offline_current=False, stock_present=False, pull=lambda: outcome)
    assert source == "offline" and "connection refused" in reason
    monkeypatch.setenv(STOCK_IMAGE_ENV, ref)
    with pytest.raises(EnvironmentProblem, match="cannot be pulled") as info:
        choose_node_image("stock")
    assert ref in info.value.message and "connection refused" in info.value.message


def test_auto_with_a_local_offline_image_never_asks_a_registry(default_cluster, monkeypatch):
    if not is_offline_node_image(cluster_status("default").node_image):
        pytest.skip("the cluster runs kind's release image: this machine has no current offline build")
    monkeypatch.setenv(STOCK_IMAGE_ENV, f"127.0.0.1:9/kindest/node:v1.34.0@sha256:{'0' * 64}")
    said: list[str] = []
    choice = choose_node_image("auto", progress=said.append)
    assert (choice.image, choice.source) == (NODE_IMAGE, "offline")
    assert not any("pulling" in line for line in said), said


@pytest.mark.slow
def test_a_cluster_from_a_pulled_digest_pinned_node_image(registry, default_cluster, monkeypatch, tmp_path):
    """The whole registry path: pull by digest, `kind create --image name:tag@sha256:...`, Ready.

    The pushed image is the offline build (the only node image here), so kind gets the config
    with the offline additions, chosen by the image's label and not by where it came from.
    """
    ref = publish(registry, NODE_IMAGE, "kindest/node", "v1.34.4-course-test")
    config_file = tmp_path / "registry-test.yaml"
    doc = yaml.safe_load((CLUSTERS_DIR / "default.yaml").read_text())
    config_file.write_text(yaml.safe_dump({**doc, "name": "seccomp-course-registry-test"}))
    register_config(ClusterConfig("registry-test", config_file))
    generated = get_config("registry-test").generated_kind_config
    monkeypatch.setenv(SOURCE_ENV, "stock")
    monkeypatch.setenv(STOCK_IMAGE_ENV, ref)
    try:
        info = ensure_cluster("registry-test")
        assert info.created and info.node_image == ref
        status = cluster_status("registry-test")
        assert status.ready and status.node_image == ref, status
        assert run(["docker", "exec", info.nodes[0], "ls", "/etc/cni/net.d"]).stdout.split() == \
            ["10-course-ptp.conflist"]
        assert generated.is_file()
    finally:
        delete_cluster("registry-test")
        CONFIGS.pop("registry-test", None)
        run(["docker", "rmi", ref], check=False)
    assert image_exists(NODE_IMAGE) and not generated.exists()   # only what the test made is gone
