"""Choosing the node image (kind's release image or the offline build) and adapting kind configs
to it: the pure parts. The registry path against a real registry is in
tests/cluster/test_node_image_source.py."""
from __future__ import annotations

import pytest
import yaml

from labs.cluster.apparmor_image import apparmor_node_tag
from labs.cluster.configs import CONFIGS, OFFLINE_INIT_PATCH, ClusterConfig, for_offline_node, get_config
from labs.cluster.nodesource import (
    SOURCE_ENV,
    STOCK_IMAGE_ENV,
    PullOutcome,
    decide_source,
    requested_source,
    stock_node_image,
)
from labs.cluster.versions import KIND_VERSION, STOCK_NODE_IMAGE
from labs.errors import EnvironmentProblem, LabError


class Pulls:
    """Counts pulls and answers as a registry would (or would not)."""

    def __init__(self, ok: bool, detail: str = "Status: Downloaded newer image"):
        self.ok, self.detail, self.calls = ok, detail, 0

    def __call__(self) -> PullOutcome:
        self.calls += 1
        return PullOutcome("kindest/node:v1.34.0@sha256:00", self.ok, self.detail, 12.5)


@pytest.mark.parametrize("requested, offline_current, stock_present, registry_ok, expected, pulls", [
    ("auto", True, True, True, "offline", 0),     # a current offline build wins, no network
    ("auto", False, True, False, "stock", 0),     # a pulled release image is reused, no network
    ("auto", False, False, True, "stock", 1),     # the registry answers
    ("auto", False, False, False, "offline", 1),  # it does not: build offline
    ("stock", True, False, True, "stock", 1),     # asked for: pulled even beside an offline build
    ("stock", True, True, False, "stock", 0),
    ("offline", False, True, True, "offline", 0),  # asked for: never pulled
])
def test_decide_source(requested, offline_current, stock_present, registry_ok, expected, pulls):
    pull = Pulls(registry_ok, "dial tcp: lookup registry-1.docker.io: no such host")
    source, reason = decide_source(requested, offline_current=offline_current,
                                   stock_present=stock_present, pull=pull)
    assert source == expected and pull.calls == pulls
    if pulls and not registry_ok:
        assert "no such host" in reason
    if pulls and registry_ok:
        assert "12.5s" in reason


def test_stock_without_a_registry_is_a_clear_error():
    with pytest.raises(EnvironmentProblem) as info:
        decide_source("stock", offline_current=True, stock_present=False,
                      pull=Pulls(False, "connect: connection refused"))
    assert "connection refused" in info.value.message
    assert STOCK_IMAGE_ENV in info.value.fix and f"unset {SOURCE_ENV}" in info.value.fix


def test_requested_source(monkeypatch):
    monkeypatch.delenv(SOURCE_ENV, raising=False)
    assert requested_source() == "auto"
    monkeypatch.setenv(SOURCE_ENV, " Offline ")
    assert requested_source() == "offline"
    assert requested_source("stock") == "stock"
    monkeypatch.setenv(SOURCE_ENV, "docker-hub")
    with pytest.raises(LabError, match="not a node image source") as info:
        requested_source()
    assert "auto, stock, offline" in info.value.fix


def test_stock_image_is_kind_v030s_default_pinned_by_digest(monkeypatch):
    monkeypatch.delenv(STOCK_IMAGE_ENV, raising=False)
    assert KIND_VERSION == "v0.30.0"
    name, digest = stock_node_image().split("@")
    assert name == "kindest/node:v1.34.0" and digest.startswith("sha256:") and len(digest) == 71
    mirror = "registry.example.internal/kindest/node:v1.34.0@" + digest
    monkeypatch.setenv(STOCK_IMAGE_ENV, mirror)
    assert stock_node_image() == mirror
    monkeypatch.setenv(STOCK_IMAGE_ENV, "kindest/node:v1.34.0")
    with pytest.raises(LabError, match="not pinned by digest") as info:
        stock_node_image()
    assert STOCK_NODE_IMAGE in info.value.fix


@pytest.mark.parametrize("name", ["default", "multi-node", "seccomp-default", "apparmor"])
def test_committed_configs_are_plain_kind_configs(name):
    """kind's release image needs no additions: the committed files ask for none."""
    doc = yaml.safe_load(get_config(name).file.read_text())
    assert doc["kind"] == "Cluster" and doc["name"].startswith("seccomp-course")
    assert "disableDefaultCNI" not in doc.get("networking", {})
    assert not any("skipPhases" in patch for patch in doc.get("kubeadmConfigPatches", []))


@pytest.mark.parametrize("name", list(CONFIGS))
def test_offline_additions(name):
    doc = yaml.safe_load(get_config(name).file.read_text())
    before = yaml.safe_dump(doc)
    offline = for_offline_node(doc)
    assert yaml.safe_dump(doc) == before                 # the input is left alone
    assert offline["networking"]["disableDefaultCNI"] is True
    patches = [yaml.safe_load(p) for p in offline["kubeadmConfigPatches"]]
    init = [p for p in patches if p["kind"] == "InitConfiguration"]
    assert init == [{"kind": "InitConfiguration", "skipPhases": ["addon/coredns", "addon/kube-proxy"]}]
    assert for_offline_node(offline) == offline          # applying twice changes nothing
    assert {k: v for k, v in offline.items() if k not in ("networking", "kubeadmConfigPatches")} == \
           {k: v for k, v in doc.items() if k not in ("networking", "kubeadmConfigPatches")}


def test_offline_additions_keep_existing_patches():
    seccomp_default = for_offline_node(yaml.safe_load(get_config("seccomp-default").file.read_text()))
    kinds = [yaml.safe_load(p)["kind"] for p in seccomp_default["kubeadmConfigPatches"]]
    assert kinds == ["KubeletConfiguration", "InitConfiguration"]
    assert seccomp_default["kubeadmConfigPatches"][-1] == OFFLINE_INIT_PATCH


@pytest.mark.parametrize("base, tag", [
    ("kindest/node:v1.34.4-offline", "kindest/node:v1.34.4-offline-apparmor"),
    ("kindest/node:v1.34.0@sha256:" + "a" * 64, "kindest/node:v1.34.0-apparmor"),
    ("127.0.0.1:5000/kindest/node@sha256:" + "b" * 64, "127.0.0.1:5000/kindest/node:apparmor"),
])
def test_apparmor_node_tag(base, tag):
    assert apparmor_node_tag(base) == tag


@pytest.mark.parametrize("text, problem", [
    ("kind: Cluster\nname: [unclosed\n", "not valid YAML"),
    ("kind: Pod\nname: x\n", "not a kind Cluster config"),
    ("- just\n- a list\n", "not a kind Cluster config"),
])
def test_a_broken_cluster_config_is_named(tmp_path, text, problem):
    path = tmp_path / "workshop.yaml"
    path.write_text(text)
    with pytest.raises(LabError, match=problem) as info:
        _ = ClusterConfig("workshop", path).cluster_name   # the property reads the file
    assert str(path) in info.value.message and info.value.fix
