"""Choosing the lab images' base (debootstrap or Debian's digest-pinned image) and keeping the
base in the images' cache key: the pure parts, and the choice over a fake set of local images.
The registry path against a real registry is tests/cluster/test_lab_image_registry.py."""
from __future__ import annotations

import pytest

from labs import image_base, images
from labs.engine import FakeEngine
from labs.errors import EnvironmentProblem, LabError
from labs.image_base import (
    DEBOOTSTRAP_IDENTITY,
    REGISTRY_ENV,
    SOURCE_ENV,
    BaseChoice,
    debian_image,
    decide_base,
    registry_host,
    registry_identity,
    requested_base,
)
from labs.images import BASE_LABEL, LAB_IMAGES, RECIPE_LABEL, TOOLS_IMAGE, choose_base, ensure_image, recipe_hash


class Pulls:
    """Counts pulls and answers as a registry would (or would not)."""

    def __init__(self, ok: bool, detail: str = "Status: Downloaded newer image"):
        self.ok, self.detail, self.calls = ok, detail, 0

    def __call__(self) -> tuple[bool, str]:
        self.calls += 1
        return self.ok, self.detail


@pytest.mark.parametrize("requested, debootstrap_present, registry_present, registry_ok, expected, pulls", [
    ("auto", True, True, True, "debootstrap", 0),     # a debootstrap base here wins, no network
    ("auto", False, True, False, "registry", 0),      # a pulled Debian image is reused, no network
    ("auto", False, False, True, "registry", 1),      # the registry answers
    ("auto", False, False, False, "debootstrap", 1),  # it does not: debootstrap
    ("registry", True, False, True, "registry", 1),   # asked for: pulled even beside a debootstrap base
    ("registry", True, True, False, "registry", 0),
    ("debootstrap", False, True, True, "debootstrap", 0),  # asked for: never pulled
])
def test_decide_base(requested, debootstrap_present, registry_present, registry_ok, expected, pulls):
    pull = Pulls(registry_ok, "dial tcp: lookup registry-1.docker.io: no such host")
    source, reason = decide_base(requested, debootstrap_present=debootstrap_present,
                                 registry_present=registry_present, pull=pull)
    assert source == expected and pull.calls == pulls
    if pulls and not registry_ok:
        assert "no such host" in reason


def test_registry_requested_but_unreachable_says_what_to_do(monkeypatch):
    monkeypatch.delenv(REGISTRY_ENV, raising=False)
    with pytest.raises(EnvironmentProblem, match="cannot be pulled: connection refused") as info:
        decide_base("registry", debootstrap_present=True, registry_present=False,
                    pull=Pulls(False, "connection refused"))
    assert debian_image() in info.value.message and REGISTRY_ENV in info.value.fix


def test_requested_base(monkeypatch):
    monkeypatch.delenv(SOURCE_ENV, raising=False)
    assert requested_base() == "auto"
    monkeypatch.setenv(SOURCE_ENV, " Registry ")
    assert requested_base() == "registry"
    assert requested_base("debootstrap") == "debootstrap"
    with pytest.raises(LabError, match="not a base image source"):
        requested_base("docker-hub")


def test_the_debian_image_is_digest_pinned_and_follows_the_registry(monkeypatch):
    monkeypatch.delenv(REGISTRY_ENV, raising=False)
    assert registry_host() == "docker.io"
    assert debian_image() == f"debian:bookworm@{image_base.DEBIAN_DIGEST}"
    assert len(image_base.DEBIAN_DIGEST) == len("sha256:") + 64
    monkeypatch.setenv(REGISTRY_ENV, "http://127.0.0.1:5000/")
    assert debian_image() == f"127.0.0.1:5000/library/debian:bookworm@{image_base.DEBIAN_DIGEST}"


def test_the_base_identity_is_in_every_lab_images_hash(monkeypatch):
    # the debootstrap base keeps the hashes images had before the registry path existed
    assert all(recipe_hash(name) == recipe_hash(name, DEBOOTSTRAP_IDENTITY) for name in LAB_IMAGES)
    on_registry = {name: recipe_hash(name, registry_identity()) for name in LAB_IMAGES}
    assert all(on_registry[name] != recipe_hash(name) for name in LAB_IMAGES)
    assert len(set(on_registry.values())) == len(LAB_IMAGES)
    # a mirror serves the same digest: same images; another digest is another base
    monkeypatch.setenv(REGISTRY_ENV, "mirror.example:5000")
    assert recipe_hash(TOOLS_IMAGE, registry_identity()) == on_registry[TOOLS_IMAGE]
    monkeypatch.setattr(image_base, "DEBIAN_DIGEST", "sha256:" + "1" * 64)
    assert recipe_hash(TOOLS_IMAGE, registry_identity()) != on_registry[TOOLS_IMAGE]


@pytest.fixture
def machine(monkeypatch):
    """A fake set of local images and a registry that answers (pulls counted)."""
    local: set[str] = set()
    pulls: list[str] = []
    monkeypatch.setattr(images, "image_exists", lambda ref: ref in local)
    monkeypatch.setattr(images, "_pull", lambda ref: (pulls.append(ref), (True, "Downloaded"))[1])
    monkeypatch.delenv(SOURCE_ENV, raising=False)
    monkeypatch.delenv(REGISTRY_ENV, raising=False)
    return local, pulls


def test_choose_base_prefers_what_is_on_this_machine(machine):
    local, pulls = machine
    local.add(f"course/base:{recipe_hash()}")
    choice = choose_base([TOOLS_IMAGE])
    assert (choice.source, choice.identity, choice.image) == \
        ("debootstrap", DEBOOTSTRAP_IDENTITY, f"course/base:{recipe_hash()}")
    assert pulls == []


def test_lab_images_built_on_the_registry_base_count_as_that_base(machine):
    """A machine that built on Debian's image and since pruned it never goes back to the network
    (or to debootstrap) while its lab images are current."""
    local, pulls = machine
    local.update(f"{name}:{recipe_hash(name, registry_identity())}" for name in LAB_IMAGES)
    choice = choose_base()
    assert (choice.source, choice.identity, choice.image) == ("registry", registry_identity(), debian_image())
    assert pulls == []
    local.remove(f"{TOOLS_IMAGE}:{recipe_hash(TOOLS_IMAGE, registry_identity())}")
    assert choose_base().source == "registry" and pulls == [debian_image()]


def test_a_prefix_looks_only_at_its_own_images(machine):
    local, pulls = machine
    local.update(f"{name}:{recipe_hash(name)}" for name in LAB_IMAGES)
    assert choose_base(prefix="course-test/").source == "registry" and len(pulls) == 1


def test_a_missing_lab_image_is_built_from_the_chosen_base_and_labelled_with_it():
    digest = "sha256:" + "2" * 64
    base = BaseChoice("registry", f"127.0.0.1:5000/library/debian:bookworm@{digest}",
                      f"debian:bookworm@{digest}", "pulled")
    with FakeEngine() as fake:
        fake.answer("image", "inspect", returncode=1)                  # nothing built yet
        fake.answer("images", stdout="0123456789ab\nlatest\n")         # an earlier recipe's tag
        ref = ensure_image(TOOLS_IMAGE, base, prefix="course-test/")
    recipe = recipe_hash(TOOLS_IMAGE, base.identity)
    assert ref == f"course-test/{TOOLS_IMAGE}:{recipe}"
    build = next(argv for argv in fake.argvs if argv[1] == "build")
    assert {f"BASE={base.image}", f"{RECIPE_LABEL}={recipe}", f"{BASE_LABEL}={base.identity}"} <= set(build)
    assert not any(argv[1] == "import" for argv in fake.argvs)        # the debootstrap base is not made
    assert ["docker", "rmi", f"course-test/{TOOLS_IMAGE}:0123456789ab"] in fake.argvs
    assert fake.argvs[-1] == ["docker", "tag", ref, f"course-test/{TOOLS_IMAGE}"]
