"""Base for result objects: render as HTML in Jupyter and serialize to JSON for machines."""
from __future__ import annotations

import dataclasses
import html
import json
from typing import Any

__all__ = ["Result", "Applied", "to_jsonable"]


def to_jsonable(value: Any) -> Any:
    """Convert dataclasses, sets and tuples into plain JSON types."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(to_jsonable(v) for v in value)
    return value


class Result:
    """Mixin for dataclasses: ``to_dict()``, ``to_json()`` and a default HTML table."""

    def to_dict(self) -> dict[str, Any]:
        return to_jsonable(self)

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, **kwargs)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
            f"<td style='text-align:left'>{html.escape(str(v))}</td></tr>"
            for k, v in self.to_dict().items()
        )
        return f"<table><caption>{type(self).__name__}</caption>{rows}</table>"


class Applied(list):
    """What a helper that changed the cluster or a node returns: a plain list (node names,
    stored objects, deleted pods: whatever the helper always returned), which in Jupyter also
    shows what was applied and the command a learner types to do the same by hand.

    ``action`` says what happened; ``content`` is the exact YAML/JSON/profile text applied
    (shown folded when long); ``commands`` are the equivalent commands (kind nodes are
    containers, so ``docker exec <node> ...`` stands for ``ssh <node> ...`` on a real cluster);
    ``note`` is one line about a real cluster. Being a list keeps every caller working
    (``== [node]``, iteration, ``json.dumps``).
    """

    FOLD_AFTER_LINES = 20

    def __init__(self, items=(), *, action: str = "", commands: list[str] | tuple[str, ...] = (),
                 content: str = "", content_label: str = "applied", note: str = ""):
        super().__init__(items)
        self.action = action
        self.commands = list(commands)
        self.content = content
        self.content_label = content_label
        self.note = note

    def explain(self) -> str:
        """The plain-text account: action, equivalent commands, note (no content)."""
        lines = [self.action] if self.action else []
        if self.commands:
            lines.append("equivalent command" + ("s" if len(self.commands) > 1 else "") + ":")
            lines += [f"  $ {c}" for c in self.commands]
        if self.note:
            lines.append(self.note)
        return "\n".join(lines)

    def _repr_pretty_(self, printer, cycle) -> None:   # IPython's text/plain
        printer.text(f"{list.__repr__(self)}\n{self.explain()}" if not cycle else "[...]")

    def _repr_html_(self) -> str:
        parts = [f"<div><b>{html.escape(self.action)}</b></div>" if self.action else ""]
        if self.content:
            opened = "" if self.content.count("\n") >= self.FOLD_AFTER_LINES else " open"
            parts.append(f"<details{opened}><summary>{html.escape(self.content_label)}</summary>"
                         f"<pre>{html.escape(self.content.rstrip())}</pre></details>")
        if self.commands:
            label = "Equivalent command" + ("s" if len(self.commands) > 1 else "")
            parts.append(f"<div>{label}:</div><pre>"
                         + "\n".join(f"$ {html.escape(c)}" for c in self.commands) + "</pre>")
        if self.note:
            parts.append(f"<div><i>{html.escape(self.note)}</i></div>")
        return ('<div class="course-applied" style="border-left:4px solid #2980b9;padding:4px 8px">'
                + "".join(parts) + "</div>")
