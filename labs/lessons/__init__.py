"""The lesson catalogue: titles, minutes, what each lesson needs, and where its files are.

Each lesson keeps its manifests and seccomp profiles as files in ``labs/lessons/<NN-name>/``
(AppArmor profiles live in ``labs/profiles/apparmor/``); notebooks load them through
:func:`asset` so a missing file is a clear error, not a ``FileNotFoundError`` traceback.
:func:`readiness` tells lesson 00 which lessons this machine can run fully.
"""
from __future__ import annotations

import html
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from .. import cluster, engine
from ..cluster import ClusterRef, as_cluster, load_images
from ..errors import LabError
from ..results import Result

__all__ = ["Lesson", "LESSONS", "NEEDS", "WORKSHOP_PLANS", "workshop_plan_text", "lesson", "asset", "LessonReadiness",
           "readiness", "detect_available", "POD_IMAGES", "start", "clean_up", "skipped"]

HERE = Path(__file__).resolve().parent

#: What a lesson can need, and what to do when it is missing.
NEEDS = {
    "engine": "a running container engine: Docker, or Podman with COURSE_ENGINE=podman (`make engine`)",
    "cluster": "the default kind cluster (`make cluster`)",
    "apparmor": "the AppArmor LSM in the Docker engine's kernel (kind nodes share it): on an "
                "Ubuntu/Debian host with AppArmor, `make cluster` gives the default cluster an "
                "AppArmor-capable node",
    "multi-node": "the multi-node kind cluster (`make cluster-multi`)",
}


@dataclass(frozen=True)
class Lesson:
    number: str
    slug: str
    title: str
    minutes: int
    needs: tuple[str, ...]  # everything the lesson uses somewhere
    core: tuple[str, ...]   # without these nothing in the lesson runs
    optional: bool = False  # plans list it as its own session, after the core course

    @property
    def folder(self) -> Path:
        return HERE / f"{self.number}-{self.slug}"

    @property
    def notebook(self) -> str:
        return f"{self.number}-{self.slug}.ipynb"


LESSONS = (
    Lesson("00", "welcome", "Welcome and doctor", 15, ("engine", "cluster"), ()),
    Lesson("01", "syscalls-seccomp", "Syscalls and seccomp on one container", 45, ("engine",), ("engine",)),
    Lesson("02", "seccomp-kubernetes", "Seccomp in Kubernetes", 45, ("cluster",), ("cluster",)),
    Lesson("03", "audit", "Audit: record what the app really does", 35, ("cluster",), ("cluster",)),
    Lesson("04", "enforce", "Enforce a least-privilege profile", 50, ("cluster",), ("cluster",)),
    Lesson("05", "debugging", "Debugging and pitfalls", 35, ("cluster",), ("cluster",)),
    Lesson("06", "apparmor-basics", "AppArmor basics", 40, ("cluster", "apparmor"), ()),
    Lesson("07", "apparmor-complain-enforce", "AppArmor: complain, then enforce", 35,
           ("cluster", "apparmor"), ()),
    Lesson("08", "cluster-scale", "Seccomp at cluster scale", 40, ("cluster", "multi-node"), ("cluster",)),
    Lesson("09", "capstone", "Capstone: lock down a two-container app", 60, ("cluster", "apparmor"),
           ("cluster",)),
    Lesson("10", "bring-your-own", "Bring your own workload", 45, ("cluster",), ("cluster",), optional=True),
)


#: Ways to split the course into sessions: (session length in minutes, lessons per session).
#: A unit test holds every session within its length; the instructor notes quote
#: :func:`workshop_plan_text`, so the plan and the lesson times cannot drift apart.
WORKSHOP_PLANS = (
    (120, (("00", "01", "02"), ("03", "04"), ("05", "06", "07"), ("08", "09"), ("10",))),
    (90, (("00", "01"), ("02", "03"), ("04", "05"), ("06", "07"), ("08",), ("09",), ("10",))),
)


def workshop_plan_text(length: int) -> str:
    """One plan as the instructor notes print it, e.g. ``00–02 (105 min), 03–04 (85 min)``."""
    sessions = dict(WORKSHOP_PLANS)[length]
    parts = []
    for numbers in sessions:
        span = numbers[0] if len(numbers) == 1 else f"{numbers[0]}–{numbers[-1]}"
        optional = ", optional" if all(lesson(n).optional for n in numbers) else ""
        parts.append(f"{span} ({sum(lesson(n).minutes for n in numbers)} min{optional})")
    return ", ".join(parts)


def lesson(number: str) -> Lesson:
    for item in LESSONS:
        if item.number == number:
            return item
    raise LabError(f"there is no lesson {number!r}", fix=f"use one of {[item.number for item in LESSONS]}")


def asset(number: str, name: str) -> Path:
    """Path of a lesson file, e.g. ``asset("02", "unconfined.yaml")``."""
    path = lesson(number).folder / name
    if not path.is_file():
        raise LabError(f"lesson {number} has no file {name} (looked in {path.parent})",
                       fix="restore it with `git checkout -- labs/lessons`")
    return path


@dataclass
class LessonReadiness(Result):
    """Per lesson: runs fully, partly (what is skipped) or not at all on this machine."""

    available: list[str]
    lessons: list[dict] = field(default_factory=list)

    def _repr_html_(self) -> str:
        colours = {"fully": "#27ae60", "partly": "#d68910", "not at all": "#c0392b"}
        rows = "".join(
            f"<tr><td>{row['number']}</td><td style='text-align:left'>{html.escape(row['title'])}</td>"
            f"<td>{row['minutes']} min</td><td style='color:{colours[row['runs']]}'><b>{row['runs']}</b></td>"
            f"<td style='text-align:left'>{html.escape('; '.join(row['missing']))}</td></tr>"
            for row in self.lessons)
        return ("<table><tr><th>#</th><th>lesson</th><th>time</th><th>runs here</th>"
                f"<th>missing</th></tr>{rows}</table>")

    def __repr__(self) -> str:  # what Jupyter shows as text/plain
        return str(self)

    def __str__(self) -> str:
        return "\n".join(f"{row['number']} {row['title']}: {row['runs']}"
                         + (f" (missing: {'; '.join(row['missing'])})" if row["missing"] else "")
                         for row in self.lessons)


def readiness(available: set[str]) -> LessonReadiness:
    """Pure: which lessons run fully/partly given the capabilities in ``available``."""
    result = LessonReadiness(sorted(available))
    for item in LESSONS:
        missing = [n for n in item.needs if n not in available]
        runs = "not at all" if any(n not in available for n in item.core) else ("partly" if missing else "fully")
        result.lessons.append({"number": item.number, "title": item.title, "minutes": item.minutes,
                               "runs": runs, "missing": [NEEDS[n] for n in missing]})
    return result


def detect_available() -> set[str]:
    """Ask the engine and the clusters what this machine can do right now."""
    available = set()
    if engine.answers(timeout=30):
        available.add("engine")
    else:
        return available
    if cluster.cluster_status("default").ready:
        available.add("cluster")
        if any(c.apparmor_lsm and c.containerd_apparmor for c in cluster.node_capabilities("default")):
            available.add("apparmor")
    if cluster.cluster_status("multi-node").ready:
        available.add("multi-node")
    return available


_open_namespaces = ExitStack()


#: Images the lessons' pods use; kind nodes cannot pull, so they are loaded from Docker.
POD_IMAGES = ("course/nginx:latest", "course/tools:latest", "course/collector:latest")


def start(number: str, config: ClusterRef = "default") -> str:
    """Get the cluster ready for a lesson: lab images on every node, a fresh namespace.

    Returns the namespace; :func:`clean_up` (the lesson's last cell) deletes it. If the
    kernel dies first, the next lab namespace created anywhere sweeps it. Loading is
    skipped on nodes that already hold the same image id.
    """
    from ..namespaces import lab_namespace  # slow import: the kubernetes client

    cluster = as_cluster(config)
    load_images(list(POD_IMAGES), cluster)
    return _open_namespaces.enter_context(lab_namespace(f"lesson-{number}", cluster))


def clean_up() -> None:
    """Delete the namespaces this notebook created (and their pods)."""
    _open_namespaces.close()


def skipped(what: str, need: str) -> None:
    """Say plainly that a step does not run on this machine, and what it would need."""
    print(f"Skipped on this machine: {what}. It needs {NEEDS[need]}.")
