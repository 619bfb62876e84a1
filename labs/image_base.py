"""Which image the lab images are built FROM: the debootstrap base or Debian's own image.

Why two: debootstrap needs root on a Debian-like host, so learners on macOS and Windows cannot
build the base, but where Docker Hub answers them Debian's ``debian:bookworm`` image (pinned by
digest here, the one place) is the same suite and gives the same Dockerfiles what they use: apt
and a Debian mirror. The choice follows the node image's (:mod:`labs.cluster.nodesource`): a base
already on this machine first, so a set-up machine never goes to the network, then the
registry, then debootstrap. ``COURSE_IMAGE_BASE`` forces one (``auto``, ``registry``,
``debootstrap``); ``COURSE_REGISTRY`` names the registry (a mirror must keep Docker Hub's
digests). The base's identity is part of every lab image's recipe hash, so an image built on
one base is never reused as if built on the other. Pure: :mod:`labs.images` does the I/O.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from .errors import EnvironmentProblem, LabError
from .results import Result

__all__ = ["SOURCE_ENV", "REGISTRY_ENV", "SOURCES", "DEBIAN_DIGEST", "BASE_SUITE", "BASE_DEBOOTSTRAP",
           "DEBOOTSTRAP_IDENTITY", "BaseChoice", "requested_base", "registry_host", "debian_image",
           "registry_identity", "decide_base"]

SOURCE_ENV = "COURSE_IMAGE_BASE"
REGISTRY_ENV = "COURSE_REGISTRY"
SOURCES = ("auto", "registry", "debootstrap")
DEFAULT_REGISTRY = "docker.io"
DEBIAN_REPOSITORY = "library/debian"
#: ``debian:bookworm``'s multi-arch index (amd64, arm64, ...) built 2026-08-03, as listed in
#: docker-library/repo-info ``repos/debian/remote/bookworm.md``; Docker Hub keeps old digests pullable
DEBIAN_DIGEST = "sha256:813017f3d62be4b5891a7acca6a01bdcd4b8513daa81b1ab99d3a50385b26931"
#: the debootstrap recipe; changing it changes every image's hash
BASE_SUITE = "bookworm"
BASE_DEBOOTSTRAP = ("--variant=minbase", "--components=main")
#: what the debootstrap base is made of (the string the recipe hashes have always started from)
DEBOOTSTRAP_IDENTITY = f"{BASE_SUITE} {' '.join(BASE_DEBOOTSTRAP)}"


@dataclass
class BaseChoice(Result):
    """The base the lab images build FROM, where it comes from, and why."""

    #: "debootstrap" or "registry"
    source: str
    #: the reference the Dockerfiles get as BASE
    image: str
    #: what the recipe hashes include: the debootstrap recipe or the image's digest
    identity: str
    reason: str


def requested_base(value: str | None = None) -> str:
    """``value``, else ``$COURSE_IMAGE_BASE``, else ``auto``; anything else is a clear error."""
    source = (value or os.environ.get(SOURCE_ENV) or "auto").strip().lower()
    if source not in SOURCES:
        raise LabError(f"{SOURCE_ENV}={source!r} is not a base image source",
                       fix=f"use one of {', '.join(SOURCES)}: auto uses a base already here, else pulls "
                           "debian:bookworm where a registry answers, else runs debootstrap")
    return source


def registry_host() -> str:
    """``$COURSE_REGISTRY`` (host[:port], a scheme or trailing slash dropped), else docker.io."""
    value = os.environ.get(REGISTRY_ENV, "").strip()
    return value.split("://", 1)[-1].rstrip("/") or DEFAULT_REGISTRY


def debian_image() -> str:
    """The digest-pinned Debian image on the chosen registry (Docker Hub's short form there)."""
    host = registry_host()
    name = "debian" if host == DEFAULT_REGISTRY else f"{host}/{DEBIAN_REPOSITORY}"
    return f"{name}:{BASE_SUITE}@{DEBIAN_DIGEST}"


def registry_identity() -> str:
    """The registry base's identity: its digest, not the registry's name (a mirror serves the
    same bytes under the same digest)."""
    return f"debian:{BASE_SUITE}@{DEBIAN_DIGEST}"


def decide_base(requested: str, *, debootstrap_present: bool, registry_present: bool,
                pull: Callable[[], tuple[bool, str]]) -> tuple[str, str]:
    """The choice itself, with the machine's facts passed in: ("debootstrap" | "registry", why).

    ``pull`` (returning ok and the engine's last word) is called only when the answer depends
    on the registry.
    """
    if requested == "debootstrap":
        return "debootstrap", f"{SOURCE_ENV}=debootstrap"
    if requested == "auto" and debootstrap_present:
        return "debootstrap", "the debootstrap base (or every lab image built on it) is on this machine"
    if registry_present:
        return "registry", "debian:bookworm (or every lab image built on it) is on this machine"
    ok, detail = pull()
    if ok:
        return "registry", f"pulled debian:{BASE_SUITE} from {registry_host()}"
    if requested == "registry":
        raise EnvironmentProblem(
            f"{SOURCE_ENV}=registry, but {debian_image()} cannot be pulled: {detail}",
            fix=f"check the network or a proxy for Docker; or set {REGISTRY_ENV} to a mirror that keeps "
                f"Docker Hub's digests; or unset {SOURCE_ENV} to build the base with debootstrap (Linux, root)")
    return "debootstrap", f"no registry answered ({detail})"
