"""An AppArmor profile's text as apparmor_parser reads it: directives, rules and blocks (pure).

Why: the host-safety rules (:mod:`.policy`) must see every rule the parser will load. A profile
is not one rule per line: a rule ends at its comma, so one line can hold several rules and one
rule can span lines (``capability`` on one line, ``sys_admin,`` on the next), and ``#`` starts a
comment only where the parser's lexer ends a word: ``/srv/a#b`` is a path (checked with
apparmor_parser 3.0.8: the rest of that line still loads), ``capability#x`` starts a comment.
A reader that cut each line at its first ``#`` and matched rules at line starts let
``/srv/a#b r, capability sys_admin,`` and ``allow capability sys_admin,`` through.

So: comments are cut at a ``#`` outside quotes that starts the line or follows a blank or a
comma (``#include`` is a directive there); a ``#`` joined to a word elsewhere is reported (its
meaning depends on the rule). Includes are taken wherever they stand. Then
the text is split at commas outside quotes, parentheses and ``{a,b}`` alternations, and at block
braces, each piece keeping the line it starts on.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Statement", "split_profile", "INCLUDE"]

#: ``#include <x>``, ``include <x>``, ``include if exists <x>``: a directive without a comma,
#: which apparmor_parser follows wherever a word may start, mid-line too (``{ include "/x" }``,
#: ``/a r, #include "/x"``: both made apparmor_parser 3.0.8 read /x)
INCLUDE = re.compile(r'(?<![^\s{},])#?include(?:\s+if\s+exists)?\s+(<[^>]*>|"[^"]*"|[^\s,{}]+)')
_INCLUDE_DIRECTIVE = re.compile(r"#include\s")
#: ``@{VAR} = value`` / ``+=``: a whole-line variable definition, no comma
_VARIABLE = re.compile(r"^\s*@\{[^}]*\}\s*\+?=")


@dataclass(frozen=True)
class Statement:
    """One piece of a profile: ``kind`` is "include", "rule", "open" (a block's header, without
    its ``{``), "close" or "stray-hash" (a ``#`` joined to a word); ``text`` has its blanks
    folded to single spaces; ``line`` is where it starts (1-based)."""

    kind: str
    text: str
    line: int


def _cut_comment(line: str) -> tuple[str, bool]:
    """(the line without its comment, whether a ``#`` joined to a word was found first)."""
    quoted, escaped = False, False
    for index, char in enumerate(line):
        if quoted:
            quoted = escaped or char != '"'
            escaped = char == "\\" and not escaped
        elif char == '"':
            quoted = True
        elif char == "#" and not _INCLUDE_DIRECTIVE.match(line, index):
            before = line[:index]
            if not before.strip() or before[-1].isspace() or before[-1] == ",":
                return before, False
            return before, True
    return line, False


def _alternation_end(text: str, start: int) -> int | None:
    """Where the ``{a,b}`` alternation opened at ``start`` closes, or None when this brace opens
    a block (it follows a blank, or a blank comes before its closing brace)."""
    if start == 0 or text[start - 1].isspace():
        return None
    depth = 0
    for index in range(start, len(text)):
        char = text[index]
        if char.isspace():
            return None
        depth += (char == "{") - (char == "}")
        if depth == 0:
            return index
    return None


def _pieces(code: str) -> list[tuple[str, str, int]]:
    """(kind, raw text, start offset) of each rule, block header and closing brace of ``code``."""
    pieces: list[tuple[str, str, int]] = []
    start, depth_paren, quoted, index = 0, 0, False, 0
    while index < len(code):
        char = code[index]
        if char == '"' and (index == 0 or code[index - 1] != "\\"):
            quoted = not quoted
        elif quoted:
            pass
        elif char in "()":
            depth_paren = max(0, depth_paren + (1 if char == "(" else -1))
        elif char == "{":
            end = _alternation_end(code, index)
            if end is not None:
                index = end
            else:
                pieces.append(("open", code[start:index], start))
                start = index + 1
        elif char == "}":
            pieces.append(("rule", code[start:index], start))
            pieces.append(("close", "}", index))
            start = index + 1
        elif char == "," and depth_paren == 0:
            pieces.append(("rule", code[start:index + 1], start))
            start = index + 1
        index += 1
    pieces.append(("rule", code[start:], start))
    return pieces


def split_profile(text: str) -> list[Statement]:
    """Every directive, rule, block header and closing brace of ``text``, in order."""
    statements: list[Statement] = []
    code_lines = []
    for number, raw in enumerate(text.splitlines(), start=1):
        code, stray = _cut_comment(raw)
        if stray:
            statements.append(Statement("stray-hash", " ".join(raw.split()), number))
        statements.extend(Statement("include", " ".join(m.group(0).split()), number) for m in INCLUDE.finditer(code))
        code = INCLUDE.sub(" ", code)
        code_lines.append("" if _VARIABLE.match(code) else code)
    code = "\n".join(code_lines)
    for kind, raw, offset in _pieces(code):
        folded = " ".join(raw.split())
        if folded or kind == "close":
            lead = len(raw) - len(raw.lstrip())
            statements.append(Statement(kind, folded, code.count("\n", 0, offset + lead) + 1))
    return sorted(statements, key=lambda s: s.line)
