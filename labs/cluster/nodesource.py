"""Which kind node image the course's clusters run on: kind's release image or the offline build.

Where a registry answers, kind's own release image (``STOCK_NODE_IMAGE``, pinned by digest) is
a pull of a few hundred MB and needs no Go toolchain. Where none answers (our CI, a workshop
room without network), the offline recipe (:mod:`.nodeimage`) builds the node from Debian
packages and Go modules. ``COURSE_NODE_IMAGE`` picks: ``auto`` (default), ``stock`` or
``offline``; ``COURSE_STOCK_NODE_IMAGE`` names a mirror's copy of the release image.

``auto`` prefers a node image already on this machine, so a machine that has one never goes to
the network: the current offline build first (CI, an offline bundle), then a pulled release
image. Only then is the registry asked; when it does not answer, the offline build runs.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from .. import engine
from ..errors import CommandError, EnvironmentProblem, LabError
from ..results import Result
from .nodeimage import ensure_node_image, ensure_tools, node_image_hash, recipe_hash
from .versions import STOCK_NODE_IMAGE

__all__ = ["SOURCE_ENV", "STOCK_IMAGE_ENV", "SOURCES", "PullOutcome", "NodeImageChoice",
           "requested_source", "stock_node_image", "pull_image", "decide_source",
           "choose_node_image"]

SOURCE_ENV = "COURSE_NODE_IMAGE"
STOCK_IMAGE_ENV = "COURSE_STOCK_NODE_IMAGE"
SOURCES = ("auto", "stock", "offline")


@dataclass
class PullOutcome(Result):
    """One ``docker pull``: did the registry deliver, and if not, docker's last word on why."""

    image: str
    ok: bool
    detail: str
    seconds: float


@dataclass
class NodeImageChoice(Result):
    """The node image a cluster will be created from, where it came from, and why."""

    image: str
    #: "stock" (kind's release image) or "offline" (built here or loaded from a bundle)
    source: str
    reason: str


def requested_source(value: str | None = None) -> str:
    """``value``, else ``$COURSE_NODE_IMAGE``, else ``auto``; anything else is a clear error."""
    source = (value or os.environ.get(SOURCE_ENV) or "auto").strip().lower()
    if source not in SOURCES:
        raise LabError(f"{SOURCE_ENV}={source!r} is not a node image source",
                       fix=f"use one of {', '.join(SOURCES)}: auto pulls kind's release image where a "
                           "registry answers and builds the offline image where none does")
    return source


def stock_node_image() -> str:
    """kind's release image, or ``$COURSE_STOCK_NODE_IMAGE`` (a mirror); always digest-pinned."""
    image = os.environ.get(STOCK_IMAGE_ENV) or STOCK_NODE_IMAGE
    if "@sha256:" not in image:
        raise LabError(f"{STOCK_IMAGE_ENV}={image!r} is not pinned by digest",
                       fix="append the @sha256:... digest that kind's release notes list for it: "
                           f"kind supports a node image only with its own release (default: {STOCK_NODE_IMAGE})")
    return image


def pull_image(image: str, timeout: float = 1200) -> PullOutcome:
    """``docker pull``; a registry that does not answer is an outcome, not an exception."""
    started = time.monotonic()
    try:
        result = engine.pull(image, timeout=timeout)
    except CommandError:
        return PullOutcome(image, False, f"no complete answer within {timeout:.0f}s",
                           round(time.monotonic() - started, 1))
    lines = [line.strip() for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    return PullOutcome(image, result.ok, lines[-1] if lines else f"{engine.binary()} pull exited {result.returncode}",
                       round(time.monotonic() - started, 1))


def decide_source(requested: str, *, offline_current: bool, stock_present: bool,
                  pull: Callable[[], PullOutcome]) -> tuple[str, str]:
    """The choice itself, with the machine's facts passed in: ("stock" | "offline", why).

    ``pull`` is called only when the answer depends on the registry.
    """
    if requested == "offline":
        return "offline", f"{SOURCE_ENV}=offline"
    if requested == "auto" and offline_current:
        return "offline", "the offline node image on this machine is current"
    if stock_present:
        return "stock", "kind's release image is already on this machine"
    outcome = pull()
    if outcome.ok:
        return "stock", f"pulled from the registry in {outcome.seconds}s"
    if requested == "stock":
        raise EnvironmentProblem(
            f"{SOURCE_ENV}=stock, but {outcome.image} cannot be pulled: {outcome.detail}",
            fix=f"check the network or a proxy for Docker; or set {STOCK_IMAGE_ENV} to a mirror's copy "
                f"(digest-pinned); or unset {SOURCE_ENV} to build the node image offline")
    return "offline", f"no registry answered ({outcome.detail})"


def choose_node_image(source: str | None = None, *, force_build: bool = False,
                      progress: Callable[[str], None] = print) -> NodeImageChoice:
    """Decide, then pull or build: the node image the course's configs create clusters from.

    ``force_build`` rebuilds the offline image even when its recipe hash is current.
    """
    requested = "offline" if force_build else requested_source(source)
    stock = stock_node_image()
    pulls: list[PullOutcome] = []

    def pull() -> PullOutcome:
        progress(f"[node-image] pulling kind's release image {stock} (about 450 MB; no output until done)")
        pulls.append(pull_image(stock))
        pulled = pulls[-1]
        progress(f"[node-image] pull {'done' if pulled.ok else 'failed'} in {pulled.seconds}s: {pulled.detail}")
        return pulls[-1]

    chosen, reason = decide_source(requested, offline_current=node_image_hash() == recipe_hash(),
                                   stock_present=engine.image_exists(stock), pull=pull)
    if chosen == "offline":
        if pulls:
            progress("[node-image] no registry answered: building the node image offline")
        build = ensure_node_image(force=force_build, progress=progress)
        return NodeImageChoice(build.image, "offline", reason)
    progress(f"[node-image] using {stock}: {reason}")
    ensure_tools(progress, stock_image=stock)
    return NodeImageChoice(stock, "stock", reason)

