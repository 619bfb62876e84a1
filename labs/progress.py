"""Live progress for long notebook steps (building images, starting a cluster).

A cell that runs for two minutes with no output looks hung, and learners interrupt it.
``step()`` shows one line that ticks every second with the elapsed time and the latest
message logged by ``labs`` helpers, then ends with how long the step took. Outside a
notebook it prints a start line and an end line instead.
"""
from __future__ import annotations

import html
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

__all__ = ["Step", "step", "format_seconds"]


def format_seconds(seconds: float) -> str:
    """``83.2`` -> ``"1 min 23 s"``: minutes matter to a learner, fractions do not."""
    whole = int(round(seconds))
    minutes, rest = divmod(whole, 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"


@dataclass
class Step:
    """State of one running step; ``note()`` adds a message to the live line."""

    title: str
    expected: float | None = None
    started: float = field(default_factory=time.monotonic)
    latest: str = ""
    finished: float | None = None
    failed: bool = False

    def note(self, message: str) -> None:
        self.latest = message

    @property
    def elapsed(self) -> float:
        return (self.finished or time.monotonic()) - self.started

    def line(self) -> str:
        """The plain-text status line (also the notebook's text/plain output)."""
        took = format_seconds(self.elapsed)
        if self.finished is None:
            hint = f" (usually about {format_seconds(self.expected)})" if self.expected else ""
            latest = f": {self.latest}" if self.latest else ""
            return f"… {self.title}: {took} so far{hint}{latest}"
        if self.failed:
            return f"✗ {self.title}: failed after {took}"
        return f"✓ {self.title}: done in {took}"

    def _repr_html_(self) -> str:
        colour = "#c0392b" if self.failed else ("#27ae60" if self.finished else "#2c3e50")
        return f'<div style="color:{colour};font-family:monospace">{html.escape(self.line())}</div>'

    def __repr__(self) -> str:
        return self.line()


class _LatestMessage(logging.Handler):
    """Copies each log message from ``labs`` loggers into the step's live line."""

    def __init__(self, current: Step):
        super().__init__(level=logging.INFO)
        self.current = current

    def emit(self, record: logging.LogRecord) -> None:
        self.current.note(record.getMessage())


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython  # slow import: IPython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


@contextmanager
def step(title: str, *, expected: float | None = None, logger: str = "labs") -> Iterator[Step]:
    """Run the ``with`` block as one visible step; ``expected`` is the usual duration in s."""
    current = Step(title, expected)
    handler = _LatestMessage(current)
    log = logging.getLogger(logger)
    log.addHandler(handler)
    previous_level = log.level
    if previous_level == logging.NOTSET or previous_level > logging.INFO:
        log.setLevel(logging.INFO)
    stop = threading.Event()
    ticker = None
    if _in_notebook():
        from IPython.display import display  # slow import: IPython

        handle = display(current, display_id=True)

        def tick() -> None:
            while not stop.wait(1.0):
                handle.update(current)

        ticker = threading.Thread(target=tick, daemon=True)
        ticker.start()
    else:
        handle = None
        print(current.line(), flush=True)
    try:
        yield current
    except BaseException:
        current.failed = True
        raise
    finally:
        current.finished = time.monotonic()
        stop.set()
        if ticker is not None:
            ticker.join()
        log.removeHandler(handler)
        log.setLevel(previous_level)
        if handle is not None:
            handle.update(current)
        else:
            print(current.line(), flush=True)
