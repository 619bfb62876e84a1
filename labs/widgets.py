"""Interactive pieces of the notebooks: doctor checklist, profile builder, check buttons.

``labs`` never imports ``grader``: a check button receives the check function from the
notebook (``CheckPanel(grader.check, "01-block-mkdir")``). Every widget also carries a
text/html and text/plain version of what it shows, so a notebook executed without a
browser (tests, nbconvert, GitHub) still records the feedback.
"""
from __future__ import annotations

import html
import inspect
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import ipywidgets as w

from . import seccomp, syscalls
from .cluster.labenv import apply_lab_environment
from .errors import LabError

__all__ = [
    "setup_notebook",
    "render",
    "exercise_brief",
    "CheckPanel",
    "DoctorChecklist",
    "risk_notes",
    "ProfileBuilder",
]


def render(value: Any) -> tuple[str, str]:
    """(html, text) of a Result, a LabError or anything else, for widgets and fallbacks."""
    text = str(value)
    make_html = getattr(value, "_repr_html_", None)
    markup = make_html() if callable(make_html) else f"<pre>{html.escape(text)}</pre>"
    return markup, text


def _show_lab_error(shell, etype, value, tb, tb_offset=None):
    """IPython handler: a LabError shows its message and fix, not a traceback."""
    from IPython.display import HTML, display  # slow import: IPython

    markup, _ = render(value)
    display(HTML(markup))


def setup_notebook() -> None:
    """Call once at the top of a lesson: LabErrors render as 'what failed / what to do', charts
    inline, and the kernel's environment reaches the course cluster by hand.

    ``KUBECONFIG`` is set to the default course cluster's kubeconfig (``.state/kubeconfig``,
    exported from kind when the cluster exists but the file does not) and the course's tool
    folder (kind, kubectl) goes first on ``PATH``, so a cell such as ``!kubectl get pods -n {ns}``
    runs the same kubectl against the same cluster as the helpers. Without a cluster this
    still succeeds (KUBECONFIG then names the file the cluster will get).
    """
    from IPython import get_ipython  # slow import: IPython


    apply_lab_environment()
    shell = get_ipython()
    if shell is not None:
        shell.set_custom_exc((LabError,), _show_lab_error)
        shell.enable_matplotlib("inline")


def exercise_brief(readme: str, workspace: str | Path):
    """The grader's task text with its hint folded away, and where the learner's files are.

    The text comes from the grader's exercise README, so what the notebook asks is exactly
    what gets checked.
    """
    from IPython.display import Markdown  # slow import: IPython

    task, marker, hint = readme.partition("**Hint:**")
    folded = (f"\n\n<details><summary><b>Hint</b> (open when stuck)</summary>\n\n{hint.strip()}\n\n</details>"
              if marker else "")
    files = ", ".join(f"`{p.name}`" for p in sorted(Path(workspace).iterdir()) if p.is_file()) or "none yet"
    return Markdown(f"{task.strip()}{folded}\n\n**Your folder:** `{workspace}` (files: {files})")


class _Fallback:
    """Mixin: a widget whose mimebundle also holds text/html and text/plain of its content."""

    fallback_html: str = ""
    fallback_text: str = ""

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs)
        if self.fallback_text:
            bundle["text/plain"] = self.fallback_text
            bundle["text/html"] = self.fallback_html
        return bundle


class CheckPanel(_Fallback, w.VBox):
    """A 'Check my answer' button with the grader's feedback below it.

    The check runs once when the cell runs (so the feedback is in the saved notebook) and
    again on every click. A click grades in a background thread, so the notebook stays usable
    and a progress bar shows which checks are done; clicking again while a check runs starts
    a new one and only the newest press's verdict is shown (the grader cancels the older run).
    A crash of the checker itself is reported as such, never as the learner's mistake and
    never as a traceback.
    """

    def __init__(self, check: Callable[..., Any], exercise_id: str, *, run_now: bool = True,
                 **check_kwargs: Any):
        self._check = check
        self.exercise_id = exercise_id
        self._check_kwargs = check_kwargs
        self._takes_progress = _accepts(check, "progress")
        self._lock = threading.Lock()
        self._presses = 0          # every press, finished or not; the newest one is shown
        self._thread: threading.Thread | None = None
        self.runs = 0              # verdicts shown
        self.report: Any = None
        self.button = w.Button(description="Check my answer", icon="check",
                               button_style="primary", layout=w.Layout(width="auto"))
        self.stamp = w.HTML()
        self.bar = w.IntProgress(value=0, min=0, max=1, layout=w.Layout(width="12em", visibility="hidden"))
        self.feedback = w.HTML()
        self.button.on_click(self._clicked)
        super().__init__([w.HBox([self.button, self.bar, self.stamp]), self.feedback])
        self.add_class("course-check-panel")
        if run_now:
            self.run_check()

    def run_check(self, _button: Any = None) -> Any:
        """Check now, in this thread, and return what is shown (the report or the error)."""
        return self._grade(self._press())

    def _clicked(self, _button: Any = None) -> None:
        press = self._press()
        self._thread = threading.Thread(target=self._grade, args=(press,), name=f"check-{self.exercise_id}",
                                        daemon=True)
        self._thread.start()

    def wait(self, timeout: float | None = None) -> Any:
        """Wait for the check a click started (tests, scripts); returns what is shown."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.report

    def _press(self) -> int:
        with self._lock:
            self._presses += 1
            press = self._presses
        replaced = self._thread is not None and self._thread.is_alive()
        self.stamp.value = "<i>checking…</i>" + (" (the earlier check was cancelled)" if replaced else "")
        self.bar.value, self.bar.layout.visibility = 0, "visible"
        return press

    def _newest(self, press: int) -> bool:
        with self._lock:
            return press == self._presses

    def _progress(self, press: int):
        def show(done: int, total: int, what: str) -> None:
            if self._newest(press):
                self.bar.max, self.bar.value = max(total, 1), done
                self.stamp.value = f"<i>checking… {done}/{total}: {html.escape(what)}</i>"
        return show

    def _grade(self, press: int) -> Any:
        kwargs = dict(self._check_kwargs)
        if self._takes_progress:
            kwargs["progress"] = self._progress(press)
        try:
            report = self._check(self.exercise_id, **kwargs)
            markup, text = render(report)
        except LabError as exc:
            report = exc
            markup, text = render(exc)
        except Exception as exc:  # a checker bug: say so plainly instead of a traceback
            report = exc
            text = (f"The checker for {self.exercise_id} itself failed "
                    f"({type(exc).__name__}: {exc}). This is not your mistake: tell your instructor.")
            markup = f'<div style="color:#c0392b">{html.escape(text)}</div>'
        if not self._newest(press):
            return self.report   # a newer press owns the panel now
        self.report = report
        self.runs += 1
        self.bar.layout.visibility = "hidden"
        self.stamp.value = (f'<span class="course-check-stamp">check #{self.runs} at '
                            f'{time.strftime("%H:%M:%S")}</span>')
        self.feedback.value = markup
        self.fallback_html, self.fallback_text = markup, text
        return self.report


def _accepts(fn: Callable[..., Any], name: str) -> bool:
    """Whether ``fn`` takes the keyword ``name`` (a notebook may pass any check function)."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


class DoctorChecklist(_Fallback, w.VBox):
    """The doctor's checklist with a 'Run again' button (fix something, click, see it turn green).

    ``doctor`` is the function to (re)run, normally ``labs.doctor.doctor``; its report
    renders itself.
    """

    def __init__(self, doctor: Callable[[], Any]):
        self._doctor = doctor
        self.report: Any = None
        self.button = w.Button(description="Run again", icon="refresh")
        self.table = w.HTML()
        self.button.on_click(self.refresh)
        super().__init__([self.table, self.button])
        self.refresh()

    def refresh(self, _button: Any = None) -> Any:
        self.button.disabled = True
        try:
            self.report = self._doctor()
        finally:
            self.button.disabled = False
        self.fallback_html, self.fallback_text = render(self.report)
        self.table.value = self.fallback_html
        return self.report


def risk_notes(names: Iterable[str]) -> list[dict[str, str | None]]:
    """For each syscall: what it does and, if it is dangerous, why (from labs.syscalls)."""
    return [{"syscall": name, "description": syscalls.describe(name), "danger": syscalls.danger(name)}
            for name in sorted(set(names))]


class ProfileBuilder(w.VBox):
    """Pick syscalls, read what each does and why some are risky, export a seccomp profile."""

    DEFAULT_ACTIONS = ("SCMP_ACT_ERRNO", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_LOG")

    def __init__(self, *, arch: str = "x86_64", preselect: Iterable[str] = (),
                 path: str | Path = "my-profile.json"):
        self.arch = arch
        self._all = syscalls.all_syscalls(arch)
        self.selected: set[str] = {s for s in preselect if s in self._all}
        self.search = w.Text(placeholder="filter, e.g. mount", description="Find")
        self.picker = w.SelectMultiple(options=self._all, value=tuple(sorted(self.selected)),
                                       rows=12, description="Allow")
        self.default_action = w.Dropdown(options=self.DEFAULT_ACTIONS, description="Otherwise")
        self.startup = w.Checkbox(value=True, description="add the runtime's start-up syscalls")
        self.path = w.Text(value=str(path), description="Save to")
        self.export_button = w.Button(description="Export JSON", icon="download")
        self.notes = w.HTML()
        self.status = w.HTML()
        self.search.observe(self._filter, names="value")
        self.picker.observe(self._picked, names="value")
        self.export_button.on_click(lambda _b: self._export())
        super().__init__([self.search, self.picker, self.default_action, self.startup,
                          w.HBox([self.path, self.export_button]), self.status, self.notes])
        self._show_notes()

    def _filter(self, change: dict) -> None:
        visible = [s for s in self._all if change["new"].strip() in s]
        self.picker.unobserve(self._picked, names="value")
        self.picker.options = visible
        self.picker.value = tuple(s for s in visible if s in self.selected)
        self.picker.observe(self._picked, names="value")

    def _picked(self, change: dict) -> None:
        visible = set(self.picker.options)
        self.selected = (self.selected - visible) | set(change["new"])
        self._show_notes()

    def _show_notes(self) -> None:
        rows = []
        for note in risk_notes(self.selected):
            risk = (f'<span style="color:#c0392b">⚠ {html.escape(note["danger"])}</span>'
                    if note["danger"] else "")
            rows.append(f"<tr><td style='text-align:left'><code>{note['syscall']}</code></td>"
                        f"<td style='text-align:left'>{html.escape(note['description'])}</td>"
                        f"<td style='text-align:left'>{risk}</td></tr>")
        self.notes.value = (f"<b>{len(self.selected)} syscalls allowed</b><table>{''.join(rows)}</table>")

    def profile(self) -> dict:
        """The seccomp profile for the current choices."""
        return seccomp.build_profile(sorted(self.selected), architectures=(self.arch,),
                                     default_action=self.default_action.value,
                                     include_runtime_startup=self.startup.value)

    def _export(self) -> None:
        try:
            written = self.export(self.path.value)
        except LabError as exc:
            self.status.value = render(exc)[0]
        else:
            self.status.value = f"saved <code>{html.escape(str(written))}</code>"

    def export(self, path: str | Path) -> Path:
        return seccomp.write_profile(self.profile(), path)
