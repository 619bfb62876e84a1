"""The three charts of the audit-then-enforce story.

- ``syscall_histogram``: which syscalls a workload made, how often (dangerous ones in red).
- ``coverage_curve``: distinct syscalls seen over time; a curve still rising when the
  audit stopped means the profile will miss something.
- ``attack_surface_chart``: how many syscalls a profile allows next to RuntimeDefault.

The ``*_data`` functions are the pure part (tested on their own); the plotting functions
return a matplotlib Figure that Jupyter shows inline.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

from matplotlib.figure import Figure

from . import syscalls

__all__ = [
    "histogram_data",
    "syscall_histogram",
    "coverage_curve",
    "attack_surface_data",
    "attack_surface_chart",
]

DANGER_COLOUR = "#c0392b"
PLAIN_COLOUR = "#2c7fb8"


def _is_dangerous(name: str) -> bool:
    return syscalls.danger(name) is not None


def histogram_data(counts: Mapping[str, int], top: int = 25) -> list[tuple[str, int]]:
    """The ``top`` most frequent syscalls, most frequent first, ties by name."""
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return ranked[:top]


def syscall_histogram(counts: Mapping[str, int], *, top: int = 25, title: str = "") -> Figure:
    """Horizontal bars of syscall counts; dangerous syscalls in red."""
    data = histogram_data(counts, top)
    fig = Figure(figsize=(7, 0.28 * max(len(data), 4) + 1))
    ax = fig.subplots()
    names = [name for name, _ in data][::-1]
    values = [count for _, count in data][::-1]
    colours = [DANGER_COLOUR if _is_dangerous(n) else PLAIN_COLOUR for n in names]
    ax.barh(names, values, color=colours)
    ax.set_xscale("log")
    ax.set_xlabel("calls (log scale)")
    shown = f"top {len(data)} of {len(counts)}" if len(counts) > len(data) else f"all {len(counts)}"
    ax.set_title(title or f"Syscalls observed ({shown}; red = dangerous)")
    fig.tight_layout()
    return fig


def coverage_curve(points: Iterable[tuple[float, int]], *, title: str = "") -> Figure:
    """Step plot of (seconds, distinct syscalls so far), e.g. ``PodAudit.coverage("nginx")``."""
    points = list(points)
    fig = Figure(figsize=(7, 3.2))
    ax = fig.subplots()
    if points:
        ax.step([t for t, _ in points], [n for _, n in points], where="post", color=PLAIN_COLOUR,
                marker=".")
    ax.set_xlabel("seconds since the first syscall")
    ax.set_ylabel("distinct syscalls seen")
    ax.set_title(title or "Coverage: new syscalls over time")
    ax.set_ylim(bottom=0)
    fig.tight_layout()
    return fig


def attack_surface_data(profiles: Mapping[str, set[str]]) -> list[tuple[str, int, int]]:
    """(label, allowed syscalls, of which dangerous) per profile, in the given order."""
    return [(label, len(allowed), sum(1 for s in allowed if _is_dangerous(s)))
            for label, allowed in profiles.items()]


def attack_surface_chart(profiles: Mapping[str, set[str]]) -> Figure:
    """Bars of allowed syscalls per profile with the dangerous part stacked in red.

    ``profiles`` maps a label to its allowed syscall names, e.g.
    ``{"RuntimeDefault": seccomp.runtime_default_syscalls(), "ours": seccomp.allowed_syscalls(p)}``.
    """
    data = attack_surface_data(profiles)
    fig = Figure(figsize=(6, 3.2))
    ax = fig.subplots()
    labels = [label for label, _, _ in data]
    safe = [total - dangerous for _, total, dangerous in data]
    risky = [dangerous for _, _, dangerous in data]
    ax.bar(labels, safe, color=PLAIN_COLOUR, label="other syscalls")
    ax.bar(labels, risky, bottom=safe, color=DANGER_COLOUR, label="dangerous syscalls")
    for x, (_, total, dangerous) in enumerate(data):
        ax.annotate(f"{total} ({dangerous} dangerous)", (x, total), ha="center", va="bottom", fontsize=9)
    ax.set_ylabel("syscalls allowed")
    ax.set_title("Attack surface")
    ax.set_ylim(top=max((t for _, t, _ in data), default=1) * 1.15)
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    return fig
