"""Where a registry answers, a lab image builds FROM Debian's digest-pinned image, not the
debootstrap base (learners on macOS and Windows have no debootstrap).

The registry is distribution's on 127.0.0.1 (local_registry.py) serving a ``debian:bookworm`` made
from the debootstrap base, the only Debian image on our machines; Docker Hub's own image stays
unverified here. One small lab image is built through that path under a test prefix, so the
course's images are never replaced, and what the test made is removed.
"""
from __future__ import annotations

import pytest
from local_registry import LocalRegistry

from labs import engine, image_base
from labs.image_base import REGISTRY_ENV, SOURCE_ENV, debian_image, registry_identity
from labs.images import (
    BASE_LABEL,
    RECIPE_LABEL,
    choose_base,
    ensure_images,
    image_exists,
    image_id,
    image_label,
    recipe_hash,
)

PREFIX = "course-test/registry-"
NAME = "course/static-httpd"     # one package (busybox-static) and one file: the smallest recipe


def push_as_debian(registry: LocalRegistry, image: str) -> str:
    """Serve ``image`` as ``<registry>/library/debian:bookworm``, keep no local name for it, and
    return its digest (the pin the test then uses)."""
    name = f"{registry.address}/library/debian"
    engine.tag(image, f"{name}:bookworm")
    engine.call(["push", f"{name}:bookworm"], timeout=600)
    digests = engine.image_inspect(f"{name}:bookworm", "{{range .RepoDigests}}{{println .}}{{end}}",
                                   check=True).stdout.split()
    digest = next(ref for ref in digests if ref.startswith(name + "@")).split("@", 1)[1]
    engine.rmi(f"{name}:bookworm", check=True)
    engine.rmi(f"{name}@{digest}")      # usually gone with the tag
    return digest


@pytest.fixture
def registry_debian(monkeypatch):
    """COURSE_REGISTRY points at a local registry serving the debootstrap base as debian:bookworm,
    and the pin names its digest; the pulled image and the test's lab image are removed after."""
    if not engine.answers():
        pytest.skip("this machine has no running Docker engine")
    base = f"course/base:{recipe_hash()}"
    if not (image_exists(base) and image_exists(f"{NAME}:{recipe_hash(NAME)}")):
        pytest.skip(f"no debootstrap base {base} to serve as debian:bookworm, or no {NAME} (run `make images`)")
    with LocalRegistry() as registry:
        monkeypatch.setattr(image_base, "DEBIAN_DIGEST", push_as_debian(registry, base))
        monkeypatch.setenv(REGISTRY_ENV, registry.address)
        monkeypatch.delenv(SOURCE_ENV, raising=False)
        ours = f"{PREFIX}{NAME}"
        try:
            yield base
        finally:
            engine.rmi(f"{ours}:{recipe_hash(NAME, registry_identity())}", f"{ours}:latest")
            engine.rmi(debian_image().replace(":bookworm@", "@"))
    assert image_exists(base)


def test_a_lab_image_builds_from_the_pulled_digest_pinned_debian(registry_debian, capsys):
    course_image = image_id(f"{NAME}:{recipe_hash(NAME)}")
    pulled = debian_image()
    assert pulled.startswith("127.0.0.1:") and not image_exists(pulled)

    choice = choose_base([NAME], source="registry", prefix=PREFIX)
    assert (choice.source, choice.image) == ("registry", pulled) and "pulled" in choice.reason
    assert image_exists(pulled)

    ref = ensure_images([NAME], source="registry", prefix=PREFIX)[NAME]
    digest = recipe_hash(NAME, registry_identity())
    assert ref == f"{PREFIX}{NAME}:{digest}" and digest != recipe_hash(NAME)
    assert image_label(ref, RECIPE_LABEL) == digest
    assert image_label(ref, BASE_LABEL) == registry_identity()
    assert engine.run(ref, ["true"], remove=True, timeout=120).ok
    served = engine.run(ref, ["cat", "/srv/www/index.html"], remove=True, timeout=120)
    assert served.stdout.strip() == "hello from the course static httpd"
    assert engine.run(ref, ["test", "-x", "/bin/busybox"], remove=True, check=False, timeout=120).ok
    assert image_id(f"{NAME}:{recipe_hash(NAME)}") == course_image       # the course's image untouched

    capsys.readouterr()
    assert ensure_images([NAME], source="registry", prefix=PREFIX) == {NAME: ref}   # nothing pulled or built
    said = capsys.readouterr().out
    assert "pulling" not in said and f"{ref} present" in said, said
