"""Lab image names on the cluster: local kind images, or the instructor's registry.

A kind cluster gets the lab images with ``kind load`` and pods use ``imagePullPolicy: Never``.
A real cluster cannot ``kind load``: the instructor pushes the images to a registry the nodes
can pull from, and names it once with ``--image-prefix`` or ``COURSE_IMAGE_PREFIX``
(``registry.example.edu/`` turns ``course/nginx:latest`` into
``registry.example.edu/course/nginx:latest``, pulled ``IfNotPresent``).
"""
from __future__ import annotations

import os

from .. import engine

__all__ = ["IMAGE_PREFIX_ENV", "image_prefix", "image_ref", "pull_policy", "push_commands", "registry_step",
           "nodes_lacking"]

IMAGE_PREFIX_ENV = "COURSE_IMAGE_PREFIX"


def image_prefix() -> str:
    """The registry prefix, always ending in ``/`` when set (empty: local kind images)."""
    prefix = os.environ.get(IMAGE_PREFIX_ENV, "").strip()
    return prefix if not prefix or prefix.endswith("/") else prefix + "/"


def image_ref(image: str) -> str:
    """``course/nginx:latest`` as the cluster's nodes know it."""
    return image_prefix() + image


def pull_policy() -> str:
    """``Never`` for kind-loaded images (no registry is asked), ``IfNotPresent`` from a registry."""
    return "IfNotPresent" if image_prefix() else "Never"


def push_commands(images: list[str], prefix: str = "<registry>/") -> list[str]:
    """What the instructor runs once to put the lab images in the cluster's registry."""
    lines = []
    for image in images:
        lines += [engine.shown("tag", image, f"{prefix}{image}"), engine.shown("push", f"{prefix}{image}")]
    return lines


def registry_step(image: str) -> str:
    """The fix for a cluster that lacks ``image``: load it (kind) or push it (any other cluster)."""
    prefix = image_prefix()
    if prefix:
        return (f"push it to the registry the nodes pull from: {'; '.join(push_commands([image], prefix))} "
                f"(build it first with `make images`)")
    return (f"on kind: `make images` then `python -m labs.cluster load {image}`; on any other cluster "
            f"push the lab images to a registry its nodes can pull from ({'; '.join(push_commands([image]))}) "
            f"and grade with --image-prefix <registry>/ (or {IMAGE_PREFIX_ENV}=<registry>/)")


#: the kubelet's node status lists at most this many images (nodeStatusMaxImages' default,
#: largest first) and at most this many names per image (maxNamesPerImageInNodeStatus): a
#: full list, or an image with a full set of names, may hide the name looked for
REPORTED_IMAGES_CAP = 50
REPORTED_NAMES_CAP = 5


def nodes_lacking(nodes: list[dict], image: str) -> list[str]:
    """Nodes (as the API lists them) whose kubelet status shows that ``image`` is not there
    (pure). The kubelet reports names as the runtime stores them (``docker.io/course/...``),
    capped (see above): a node whose report may be cut short is not counted as lacking, since
    only a complete report proves an image absent (seen: a registry push gave the lab image
    five more names and its ``docker.io/course/nginx:latest`` dropped out of the status)."""
    def has(node: dict) -> bool:
        entries = (node.get("status") or {}).get("images") or []
        names = [n for entry in entries for n in entry.get("names") or []]
        cut_short = len(entries) >= REPORTED_IMAGES_CAP or any(
            len(entry.get("names") or []) >= REPORTED_NAMES_CAP for entry in entries)
        return cut_short or any(n == image or n.endswith("/" + image) for n in names)
    return [n["metadata"]["name"] for n in nodes if not has(n)]
