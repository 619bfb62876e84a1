"""Build the AppArmor-capable kind node image from the course's node image (offline or kind's).

Why a derived image: stock kind nodes make containerd report "no AppArmor" (the node sets
``container=docker``, ships no apparmor_parser, and has no securityfs mounted). The recipe in
``clusters/apparmor/node-image`` fixes exactly those three; the kernel must still be an
AppArmor host's. Built with ``docker build`` (apt-get inside reaches the Debian mirror the node
was debootstrapped from); tagged with a recipe hash label so a rebuild is skipped.
"""
from __future__ import annotations

import functools
import hashlib
import json
import time
from pathlib import Path

from .. import engine
from ..errors import EnvironmentProblem
from ..images import RECIPE_LABEL
from ..names import MANAGED_LABEL_ARG

__all__ = ["RECIPE_DIR", "BUILD_TIMEOUT", "apparmor_node_tag", "apparmor_node_recipe_hash",
           "ensure_apparmor_node_image", "security_options_have_apparmor", "engine_enforces_apparmor"]

RECIPE_DIR = Path(__file__).resolve().parents[2] / "clusters" / "apparmor" / "node-image"
#: ``docker build`` of the derived image (apt-get install apparmor in the node, then the layer
#: commit of an 880 MB image), for a 2-core machine about 3x slower than the one measured
#: (clusters/apparmor-vm/README.md); the AppArmor tests' pytest timeouts include it
BUILD_TIMEOUT = 600


def apparmor_node_tag(base: str) -> str:
    """``kindest/node:v1.34.4-offline`` -> ``kindest/node:v1.34.4-offline-apparmor``;
    a digest-pinned base loses its digest (``kindest/node:v1.34.0@sha256:..`` ->
    ``kindest/node:v1.34.0-apparmor``), an untagged one gets the tag ``apparmor``."""
    name = base.split("@", 1)[0]
    return f"{name}-apparmor" if ":" in name.rsplit("/", 1)[-1] else f"{name}:apparmor"


def apparmor_node_recipe_hash(base_id: str) -> str:
    """Hash of the recipe files and the base image's id: either changing means a rebuild."""
    digest = hashlib.sha256(base_id.encode())
    for path in sorted(p for p in RECIPE_DIR.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(RECIPE_DIR)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def ensure_apparmor_node_image(base: str, progress=print, timeout: float = BUILD_TIMEOUT) -> str:
    """Build ``<base>-apparmor`` unless an image of the same recipe exists; return its tag."""
    base_id = engine.image_id(base)
    if base_id is None:
        raise EnvironmentProblem(f"the node image {base} is missing",
                                 fix="build it first: `make node-image`")
    digest = apparmor_node_recipe_hash(base_id)
    tag = apparmor_node_tag(base)
    if engine.image_label(tag, RECIPE_LABEL) == digest:
        progress(f"AppArmor node image {tag} present")
        return tag
    previous = engine.image_id(tag)
    progress(f"building AppArmor node image {tag} from {base} (timeout {timeout:.0f}s)")
    started = time.monotonic()
    engine.build(RECIPE_DIR, tag, build_args={"BASE": base},
                 labels=[MANAGED_LABEL_ARG, f"{RECIPE_LABEL}={digest}"], timeout=timeout,
                 fix="apt-get inside the build needs the Debian mirror in the node's /etc/apt/sources.list")
    if previous:   # the replaced build is ours and now untagged: do not leave 850 MB behind
        engine.rmi(previous)
    progress(f"AppArmor node image {tag} built in {time.monotonic() - started:.0f}s")
    return tag


def security_options_have_apparmor(text: str) -> bool:
    """``docker info --format '{{json .SecurityOptions}}'`` output -> does it list AppArmor?"""
    try:
        options = json.loads(text or "null") or []
    except json.JSONDecodeError:
        return False
    return any(str(option).split(",")[0] == "name=apparmor" for option in options)


@functools.lru_cache(maxsize=1)
def engine_enforces_apparmor() -> bool:
    """Does the Docker engine's kernel enforce AppArmor? Docker lists it in its security
    options only then (Ubuntu and Debian hosts: yes; Docker Desktop, most CI kernels: no)."""
    answer = engine.info("{{json .SecurityOptions}}", timeout=60)
    return answer.ok and security_options_have_apparmor(answer.stdout.strip())

