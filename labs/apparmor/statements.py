"""An AppArmor profile's text as apparmor_parser reads it: directives, rules and blocks (pure).

Why: the host-safety rules (:mod:`.policy`) must see every rule the parser will load. A profile
is not one rule per line: a rule ends at its comma, so one line can hold several rules and one
rule can span lines (``capability`` on one line, ``sys_admin,`` on the next), and ``#`` starts a
comment only where the parser's lexer ends a word: ``/srv/a#b`` is a path (checked with
apparmor_parser 3.0.8: the rest of that line still loads), ``capability#x`` starts a comment.
A reader that cut each line at its first ``#`` and matched rules at line starts let
``/srv/a#b r, capability sys_admin,`` and ``allow capability sys_admin,`` through.

So the reading is strict first, then structural:

- :func:`layout_problems` refuses what the course will not try to read the parser's way: more
  than :data:`MAX_BYTES`, anything but printable ASCII and tabs outside comments (a no-break
  space is a blank to Python and a path character to the parser), a backslash except before a
  glob character outside quotes (the parser reads octal escapes: ``docker\\055default``), and
  a quote left open;
- :func:`split_profile` cuts comments at a ``#`` outside quotes that starts the line or follows
  a blank or a comma (``#include`` is a directive there; a ``#`` joined to a word elsewhere is
  reported), takes includes wherever they stand (the parser follows them mid-line), and splits
  the rest at commas outside quotes, grouping parentheses and ``{a,b}`` alternations, and at
  block braces, each piece keeping the line it starts on. One pass: a large file costs linear time.
"""
from __future__ import annotations

import re
import string
from dataclasses import dataclass

__all__ = ["MAX_BYTES", "Statement", "layout_problems", "split_profile", "INCLUDE"]

#: the largest profile the course reads (the course's own are under 2 KB)
MAX_BYTES = 64 * 1024
#: ``#include <x>``, ``include <x>``, ``include if exists <x>``: a directive without a comma,
#: which apparmor_parser follows wherever a word may start, mid-line too (``{ include "/x" }``,
#: ``/a r, #include "/x"``, ``#include"/x"``: each made apparmor_parser 3.0.8 read /x)
INCLUDE = re.compile(r'(?<![^\s{},"])#?include(?:\s+if\s+exists)?\s*(<[^>]*>|"[^"]*"|[^\s,{}"<]+)')
_INCLUDE_DIRECTIVE = re.compile(r"#include\b")
#: ``@{VAR} = value`` / ``+=``: a whole-line variable definition, no comma
_VARIABLE = re.compile(r"^\s*@\{[^}]*\}\s*\+?=")
_BLANKS = " \t\n"
#: right after one of these, ``{`` opens an ``{a,b}`` alternation (a path goes on; ``peer={a,b}``
#: too) and ``(`` is part of the path; anywhere else ``{`` opens a block and ``(`` a group
_PATH_CHARS = frozenset(string.ascii_letters + string.digits + "/_.*?-@}]^+~%")
#: outside quotes a backslash may escape only these (what labs.apparmor.rules.format_path writes)
_ESCAPABLE = frozenset("*?[]{}^")


@dataclass(frozen=True)
class Statement:
    """One piece of a profile: ``kind`` is "include", "rule", "open" (a block's header, without
    its ``{``), "close", "stray-hash" (a ``#`` joined to a word) or "unclosed" (an alternation
    or group still open at the end of its word or rule); ``text`` has its blanks folded to
    single spaces; ``line`` is where it starts (1-based)."""

    kind: str
    text: str
    line: int


def _lines(text: str) -> list[str]:
    """The parser's lines: only ``\\n`` ends one (Python's splitlines also breaks at \\x0c, \\x85, ...).
    A byte-order mark that an editor put first is dropped, as the parser does."""
    return text.removeprefix("\ufeff").replace("\r\n", "\n").split("\n")


def _cut_comment(line: str) -> tuple[str, bool]:
    """(the line without its comment, whether a ``#`` joined to a word came first)."""
    quoted = False
    for index, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif char == "#" and not quoted and not _INCLUDE_DIRECTIVE.match(line, index):
            before = line[:index]
            return before, bool(before) and before[-1] not in " \t,"
    return line, False


def _character_problem(code: str) -> str | None:
    """Why a line's code (its comment cut) is not read: a character or an escape, or an open quote."""
    quoted = False
    for index, char in enumerate(code):
        if not (char == "\t" or " " <= char <= "~"):
            return (f"character U+{ord(char):04X} is not plain ASCII: apparmor_parser and the course would "
                    "read the rule differently")
        if char == '"':
            quoted = not quoted
        elif char == "\\" and (quoted or code[index + 1:index + 2] not in _ESCAPABLE):
            return ("a backslash may only escape a glob character (\\* \\? \\[ \\] \\{ \\} \\^) outside quotes; "
                    "quote a path that has blanks instead")
    return "a quoted string is not closed on its line" if quoted else None


def layout_problems(text: str) -> list[tuple[int, str]]:
    """(line, why) for each part of ``text`` the course refuses to read; empty when it reads it all."""
    size = len(text.encode())
    if size > MAX_BYTES:
        return [(1, f"the profile is {size} bytes; the course reads profiles up to {MAX_BYTES} bytes")]
    problems = []
    for number, line in enumerate(_lines(text), start=1):
        problem = _character_problem(_cut_comment(line)[0])
        if problem:
            problems.append((number, problem))
    return problems


class _Splitter:
    """One pass over the comment-free code: rules at commas, blocks at braces, lines counted."""

    def __init__(self, code: str):
        self.code, self.pieces = code, []
        self.start, self.line, self.start_line = 0, 1, 1

    def cut(self, kind: str, end: int, next_start: int) -> None:
        raw = self.code[self.start:end]
        folded = " ".join(raw.split())
        if folded:
            leading_lines = raw[:len(raw) - len(raw.lstrip())].count("\n")
            self.pieces.append(Statement(kind, folded, self.start_line + leading_lines))
        self.start, self.start_line = next_start, self.line

    def run(self) -> list[Statement]:
        code, quoted, groups, alternations = self.code, False, 0, 0
        for index, char in enumerate(code):
            before = code[index - 1] if index else " "
            if char == '"':
                quoted = not quoted
            elif quoted:
                pass
            elif char in _BLANKS and alternations or char == "\n" and groups:
                # a word ended inside {a,b}, or a line inside (...): refused, not guessed
                self.cut("unclosed", index, index)
                groups = alternations = 0
            elif char == "(" and before not in _PATH_CHARS:
                groups += 1
            elif char == ")" and groups:
                groups -= 1
            elif char == "{" and (before in _PATH_CHARS or before == "="):
                alternations += 1
            elif char == "}" and alternations:
                alternations -= 1
            elif char == "{":
                self.cut("open", index, index + 1)
            elif char == "}":
                self.cut("rule", index, index)
                self.pieces.append(Statement("close", "}", self.line))
                self.start = index + 1
            elif char == "," and not (groups or alternations):
                self.cut("rule", index + 1, index + 1)
            self.line += char == "\n"
        self.cut("unclosed" if groups or alternations else "rule", len(code), len(code))
        return self.pieces


def split_profile(text: str) -> list[Statement]:
    """Every directive, rule, block header and closing brace of ``text``, in order of lines.

    Meant for text :func:`layout_problems` accepts; other text still splits, without a promise."""
    statements: list[Statement] = []
    code_lines = []
    for number, raw in enumerate(_lines(text), start=1):
        code, stray = _cut_comment(raw)
        if stray:
            statements.append(Statement("stray-hash", " ".join(raw.split()), number))
        outside_quotes = re.sub(r'"[^"]*"', lambda m: '"' + "_" * (len(m.group(0)) - 2) + '"', code)
        for match in INCLUDE.finditer(outside_quotes):
            statements.append(Statement("include", " ".join(code[match.start():match.end()].split()), number))
            code = code[:match.start()] + " " * (match.end() - match.start()) + code[match.end():]
        code_lines.append("" if _VARIABLE.match(code) else code)
    statements.extend(_Splitter("\n".join(code_lines)).run())
    return sorted(statements, key=lambda s: s.line)
