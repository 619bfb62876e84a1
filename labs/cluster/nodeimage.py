"""Assemble the kind node image offline: ``python -m labs.cluster node-image``.

``kind build node-image`` fetches every control-plane image from a registry, so it cannot work
here. This recipe builds the same image from reachable sources only (plan: offline-kind.md):

1. kind and crictl with ``go install``; the Kubernetes binaries and etcd through wrapper
   modules (:mod:`labs.cluster.gobuild`); pause from kubernetes' ``build/pause/linux/pause.c``.
2. One ``FROM scratch`` image per control-plane component, tagged exactly as the built
   ``kubeadm config images list`` prints, saved to one tarball.
3. The Debian node base (:mod:`labs.cluster.rootfs`) runs with ``--entrypoint sleep``; the
   binaries are copied in, containerd imports the tarball, and ``docker commit`` restores kind's
   entrypoint. The result is tagged NODE_IMAGE with a label holding the recipe hash, and the
   whole build is skipped when an image with that hash exists.

Where a registry answers, kind's release image is used instead (:mod:`.nodesource` decides).
"""
from __future__ import annotations

import fcntl
import hashlib
import shutil
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .. import engine
from ..errors import CommandError, EnvironmentProblem
from ..images import RECIPE_LABEL
from ..names import MANAGED_LABEL_ARG
from ..paths import build_dir, tools_dir
from ..results import Result
from ..runner import run
from . import gobuild, rootfs
from .versions import CRICTL_VERSION, KIND_VERSION, KUBERNETES_VERSION, NODE_IMAGE

__all__ = [
    "SKIPPED_COMPONENTS",
    "OFFLINE_NODE_LABEL",
    "StepTiming",
    "NodeImageBuild",
    "parse_image_list",
    "etcd_version",
    "component_dockerfile",
    "node_dockerfile",
    "recipe_hash",
    "node_image_hash",
    "is_offline_node_image",
    "ensure_tools",
    "ensure_node_image",
]

#: listed by kubeadm but not needed: the cluster configs skip the addon/coredns and
#: addon/kube-proxy phases (pods are reached through the kubelet: exec, port-forward)
SKIPPED_COMPONENTS = ("kube-proxy", "coredns")
#: marks an image built by this recipe (and images built FROM it): it lacks the kindnetd,
#: CoreDNS and kube-proxy images, so kind configs get the additions of
#: :func:`labs.cluster.configs.for_offline_node`
OFFLINE_NODE_LABEL = "course.seccomp-lab/offline-node"
BUILD_CONTAINER = "course-cluster-node-build"
ASSEMBLY_TAG = "course-cluster/node-assembly:latest"
#: containerd inside the build container: start, import the images, list them, stop
IMPORT_SCRIPT = r"""
set -eu
containerd >/tmp/containerd.log 2>&1 &
pid=$!
i=0
until ctr version >/dev/null 2>&1; do
  i=$((i+1)); [ "$i" -lt 60 ] || { cat /tmp/containerd.log; exit 1; }; sleep 1
done
ctr -n k8s.io images import --all-platforms --no-unpack --digests /kind/images.tar >/dev/null
ctr -n k8s.io images ls -q
kill "$pid"; wait "$pid" || true
rm -f /kind/images.tar /tmp/containerd.log
"""


@dataclass
class StepTiming(Result):
    """How long one build step took (a step that finds its earlier output is fast)."""

    step: str
    seconds: float


@dataclass
class NodeImageBuild(Result):
    """The node image a build produced or found, with per-step timings."""

    image: str
    recipe_hash: str
    built: bool
    steps: list[StepTiming] = field(default_factory=list)


def parse_image_list(text: str) -> dict[str, str]:
    """``kubeadm config images list`` output -> component name -> image reference."""
    images = {}
    for line in text.splitlines():
        ref = line.strip()
        if ref and "/" in ref and ":" in ref.rsplit("/", 1)[-1]:
            images[ref.rsplit("/", 1)[-1].split(":", 1)[0]] = ref
    return images


def etcd_version(image_ref: str) -> str:
    """registry.k8s.io/etcd:3.6.5-0 -> v3.6.5 (the image revision suffix is not a version)."""
    return "v" + image_ref.rsplit(":", 1)[-1].split("-", 1)[0]


def component_dockerfile(binary: str, *, user: str | None = None) -> str:
    """A one-binary image. kubeadm's static pods start components by name, so PATH is set."""
    lines = ["FROM scratch", f"COPY {binary} /usr/local/bin/{binary}",
             "ENV PATH=/usr/local/bin:/usr/bin:/bin",
             f'ENTRYPOINT ["/usr/local/bin/{binary}"]']
    if user:
        lines.append(f"USER {user}")
    return "\n".join(lines) + "\n"


def node_dockerfile(assembled: str, digest: str) -> str:
    """Metadata of the final node image: kind's entrypoint, systemd's stop signal, the hash."""
    return "\n".join([
        f"FROM {assembled}",
        f"ENTRYPOINT {rootfs.ENTRYPOINT}",
        "CMD []",
        "# systemd exits on SIGRTMIN+3; SIGTERM would make it re-execute itself",
        "STOPSIGNAL SIGRTMIN+3",
        f"LABEL {MANAGED_LABEL_ARG} {RECIPE_LABEL}={digest} {OFFLINE_NODE_LABEL}=true",
    ]) + "\n"


def recipe_hash() -> str:
    """Hash of the whole node-image recipe: pins, the base recipe and this assembly code."""
    h = hashlib.sha256(" ".join([KIND_VERSION, KUBERNETES_VERSION, CRICTL_VERSION,
                                 rootfs.rootfs_hash()]).encode())
    for module in (Path(__file__), Path(gobuild.__file__)):
        h.update(module.read_bytes())
    return h.hexdigest()[:12]


def node_image_hash(image: str = NODE_IMAGE) -> str | None:
    """The recipe hash label of a local image, or None when the image is not there."""
    return engine.image_label(image, RECIPE_LABEL)


def is_offline_node_image(image: str) -> bool:
    """True for this recipe's image and images built from it (not for kind's release images)."""
    return engine.image_label(image, OFFLINE_NODE_LABEL) == "true"


class _Steps:
    """Runs named steps, printing each one's start and duration (a cold build takes minutes)."""

    def __init__(self, progress: Callable[[str], None]):
        self.progress = progress
        self.timings: list[StepTiming] = []

    def run(self, name: str, fn: Callable, *args):
        self.progress(f"[node-image] {name} ...")
        started = time.monotonic()
        value = fn(*args)
        seconds = round(time.monotonic() - started, 1)
        self.timings.append(StepTiming(name, seconds))
        self.progress(f"[node-image] {name}: {seconds}s")
        return value


#: where the node image carries the host tools, so an offline bundle brings them along
TOOL_PATHS = {"kind": "/usr/local/bin/kind", "kubectl": "/usr/bin/kubectl"}


def _tool_current(name: str, path: Path) -> bool:
    """kind of the pinned release; kubectl of the pinned minor (kind's release image has x.y.0)."""
    if not path.is_file():
        return False
    if name == "kind":
        return f"kind {KIND_VERSION} " in run([str(path), "version"], check=False).stdout
    minor = KUBERNETES_VERSION.rsplit(".", 1)[0] + "."
    return f"Client Version: {minor}" in run([str(path), "version", "--client"], check=False).stdout


def _copy_tools_from_image(image: str, names: list[str], bin_dir: Path) -> None:
    container = engine.create(image, labels=[MANAGED_LABEL_ARG])
    try:
        for name in names:
            engine.cp(f"{container}:{TOOL_PATHS[name]}", str(bin_dir / name))
    finally:
        engine.rm(container, force=False)


def ensure_tools(progress: Callable[[str], None] = print, *, stock_image: str | None = None) -> dict[str, Path]:
    """kind and kubectl of the pinned versions in .venv/bin (ahead of any system kubectl).

    Copied from a node image that carries them where one is here: the current offline build
    carries both (so an offline bundle brings them), kind's release image (``stock_image``)
    carries kubectl. The rest is built: kind with ``go install``, kubectl with the other
    Kubernetes binaries.
    """
    bin_dir = tools_dir()
    bin_dir.mkdir(parents=True, exist_ok=True)
    tools = {name: bin_dir / name for name in TOOL_PATHS}
    missing = [name for name, path in tools.items() if not _tool_current(name, path)]
    if missing and node_image_hash() == recipe_hash():
        progress(f"[node-image] {', '.join(missing)} from {NODE_IMAGE}")
        _copy_tools_from_image(NODE_IMAGE, missing, bin_dir)
        missing = []
    if "kubectl" in missing and stock_image and engine.image_exists(stock_image):
        progress(f"[node-image] kubectl from {stock_image}")
        try:
            _copy_tools_from_image(stock_image, ["kubectl"], bin_dir)
        except CommandError as exc:
            progress(f"[node-image] no kubectl in {stock_image} ({exc.message.splitlines()[0]}): building it")
    if "kind" in missing:
        progress(f"[node-image] go install sigs.k8s.io/kind@{KIND_VERSION}")
        gobuild.install_go_program("sigs.k8s.io/kind", KIND_VERSION, bin_dir)
    if "kubectl" in missing and not _tool_current("kubectl", tools["kubectl"]):
        built = gobuild.build_kubernetes(KUBERNETES_VERSION, build_dir("kubernetes"))
        shutil.copy2(built["kubectl"], tools["kubectl"])
    return tools


def _build_pause(version: str, out: Path) -> Path:
    source = Path(gobuild.module_info("k8s.io/kubernetes", KUBERNETES_VERSION, build_dir("kubernetes"))["Dir"])
    binary = out / "pause"
    run(["gcc", "-Os", "-Wall", "-Werror", "-static", f"-DVERSION=v{version}",
         "-o", str(binary), str(source / "build/pause/linux/pause.c")],
        fix="install gcc and the static C library (Debian: apt-get install gcc libc6-dev)")
    return binary


def _component_images(binaries: dict[str, Path], refs: dict[str, str], tarball: Path) -> list[str]:
    """Build one FROM scratch image per component and docker save them all to ``tarball``."""
    for name, ref in refs.items():
        context = build_dir(f"image-{name}")
        shutil.copy2(binaries[name], context / binaries[name].name)
        (context / "Dockerfile").write_text(
            component_dockerfile(binaries[name].name, user="65535:65535" if name == "pause" else None))
        engine.build(context, ref, labels=[MANAGED_LABEL_ARG], quiet=True, timeout=600)
        shutil.rmtree(context)  # a second copy of a ~100 MB binary
    engine.save(tarball, list(refs.values()), timeout=900)
    return list(refs.values())


def _assemble(base: str, binaries: dict[str, Path], refs: dict[str, str], tarball: Path,
              digest: str) -> None:
    """Copy binaries and images into the node base and commit it as NODE_IMAGE."""
    engine.rm(BUILD_CONTAINER)
    engine.run(base, ["infinity"], name=BUILD_CONTAINER, detach=True, labels=[MANAGED_LABEL_ARG],
               options=["--privileged", "--entrypoint", "sleep"])
    try:
        for name in ("kubeadm", "kubelet", "kubectl"):
            engine.cp(str(binaries[name]), f"{BUILD_CONTAINER}:/usr/bin/{name}", timeout=300)
        engine.cp(str(binaries["crictl"]), f"{BUILD_CONTAINER}:/usr/local/bin/crictl")
        engine.cp(str(tools_dir() / "kind"), f"{BUILD_CONTAINER}:{TOOL_PATHS['kind']}")
        engine.cp(str(tarball), f"{BUILD_CONTAINER}:/kind/images.tar", timeout=600)
        engine.exec(BUILD_CONTAINER, ["sh", "-c", "cat > /kind/version"], input=KUBERNETES_VERSION + "\n")
        # containerd pulls the sandbox (pause) image by this name; it must be the one we built
        engine.exec(BUILD_CONTAINER, ["sed", "-i", f's|^\\(\\s*sandbox_image = \\).*|\\1"{refs["pause"]}"|',
                                     "/etc/containerd/config.toml"])
        listed = engine.exec(BUILD_CONTAINER, ["sh", "-s"], input=IMPORT_SCRIPT, timeout=900).stdout.split()
        missing = sorted(set(refs.values()) - set(listed))
        if missing:
            raise EnvironmentProblem(f"containerd in the node image lacks {', '.join(missing)}",
                                     fix="re-run `python -m labs.cluster node-image --force`")
        engine.commit(BUILD_CONTAINER, ASSEMBLY_TAG, timeout=900)
    finally:
        engine.rm(BUILD_CONTAINER)
    # `docker commit --change` cannot set STOPSIGNAL (Docker 20.10), a Dockerfile can
    context = build_dir("node-metadata")
    (context / "Dockerfile").write_text(node_dockerfile(ASSEMBLY_TAG, digest))
    previous = engine.image_id(NODE_IMAGE)
    try:
        engine.build(context, NODE_IMAGE, quiet=True)
    finally:
        engine.rmi(ASSEMBLY_TAG)
    if previous:  # the outdated image, unless a cluster still runs on it (then docker refuses)
        engine.rmi(previous)


def ensure_node_image(*, force: bool = False, progress: Callable[[str], None] = print) -> NodeImageBuild:
    """Build NODE_IMAGE unless an image with the current recipe hash exists; tools too."""
    steps = _Steps(progress)
    digest = recipe_hash()
    steps.run("tools (kind, kubectl)", ensure_tools, progress)
    if not force and node_image_hash() == digest:
        progress(f"[node-image] {NODE_IMAGE} is current (recipe {digest})")
        return NodeImageBuild(NODE_IMAGE, digest, False, steps.timings)
    with _build_lock():
        if not force and node_image_hash() == digest:   # another process just built it
            return NodeImageBuild(NODE_IMAGE, digest, False, steps.timings)
        _build(steps, digest)
    progress(f"[node-image] built {NODE_IMAGE} (recipe {digest})")
    return NodeImageBuild(NODE_IMAGE, digest, True, steps.timings)


@contextmanager
def _build_lock():
    """One build at a time per machine: builds share the build container and image tags."""
    with open(Path(tempfile.gettempdir()) / "course-cluster-node-image.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _build(steps: _Steps, digest: str) -> None:
    binaries: dict[str, Path] = dict(steps.run(
        "kubernetes binaries (go build)", gobuild.build_kubernetes, KUBERNETES_VERSION,
        build_dir("kubernetes")))
    binaries["crictl"] = steps.run("crictl (go install)", gobuild.install_go_program,
                                   "sigs.k8s.io/cri-tools/cmd/crictl", CRICTL_VERSION,
                                   build_dir("crictl"))
    listed = run([str(binaries["kubeadm"]), "config", "images", "list",
                  "--kubernetes-version", KUBERNETES_VERSION]).stdout
    refs = {name: ref for name, ref in parse_image_list(listed).items() if name not in SKIPPED_COMPONENTS}
    binaries["etcd"] = steps.run("etcd (go build)", gobuild.build_etcd, etcd_version(refs["etcd"]),
                                 build_dir("etcd"))
    binaries["pause"] = steps.run("pause (gcc -static)", _build_pause,
                                  refs["pause"].rsplit(":", 1)[-1], build_dir("pause"))
    base = steps.run("node base (debootstrap + docker import)", rootfs.ensure_rootfs_image, steps.progress)
    tarball = build_dir("images") / "images.tar"
    steps.run("component images (FROM scratch + docker save)", _component_images, binaries, refs, tarball)
    try:
        steps.run("assembly (docker run/cp/commit)", _assemble, base, binaries, refs, tarball, digest)
    finally:
        tarball.unlink(missing_ok=True)
        engine.rmi(*refs.values())
