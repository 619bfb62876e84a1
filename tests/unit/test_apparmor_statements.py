"""A profile split as apparmor_parser reads it, and the host-safety rules on top of that.

The differential test runs the real apparmor_parser (parse only, ``-d`` dumps what it would
load): whatever it would grant of sys_admin/mac_admin/mac_override or an unsafe (``ux``) exec,
the course's policy must refuse, however the rule is laid out.
"""
from __future__ import annotations

import re
import shutil

import pytest

from labs.apparmor.policy import profile_safety_problems
from labs.apparmor.statements import split_profile
from labs.runner import run

needs_parser = pytest.mark.skipif(shutil.which("apparmor_parser") is None,
                                  reason="apparmor_parser is not installed (apt-get install apparmor)")


def _rules(text: str) -> list[tuple[str, str, int]]:
    return [(s.kind, s.text, s.line) for s in split_profile(text)]


def test_a_rule_ends_at_its_comma_not_at_the_line_end():
    assert _rules("profile t {\n  /a r, capability\n    chown,\n}\n") == [
        ("open", "profile t", 1), ("rule", "/a r,", 2), ("rule", "capability chown,", 2), ("close", "}", 4)]


def test_commas_inside_parentheses_alternations_and_quotes_do_not_end_a_rule():
    text = 'profile t flags=(complain, attach_disconnected) {\n  signal (send, receive) peer=unconfined,\n' \
           '  /srv/{a,b}/** r,\n  "/srv/x, y" r,\n}\n'
    assert [r[1] for r in _rules(text)] == ["profile t flags=(complain, attach_disconnected)",
                                           "signal (send, receive) peer=unconfined,", "/srv/{a,b}/** r,",
                                           '"/srv/x, y" r,', "}"]


def test_a_hash_starts_a_comment_after_a_blank_or_comma_and_is_reported_when_joined_to_a_word():
    text = 'profile t { # c\n  capability chown,#c\n  "/srv/#q" r,\n  /srv/a#b r,\n}\n'
    assert _rules(text) == [("open", "profile t", 1), ("rule", "capability chown,", 2), ("rule", '"/srv/#q" r,', 3),
                            ("stray-hash", "/srv/a#b r,", 4), ("rule", "/srv/a", 4), ("close", "}", 5)]


def test_includes_and_variables_are_whole_line_directives():
    text = "#include <tunables/global>\n@{APP}=/srv/app\nprofile t {\n  include <abstractions/base>\n}\n"
    assert _rules(text) == [("include", "#include <tunables/global>", 1), ("open", "profile t", 3),
                            ("include", "include <abstractions/base>", 4), ("close", "}", 5)]


#: each grants what the policy must refuse, in a layout a line-by-line reader missed
HIDDEN = [
    "allow capability sys_admin,",
    "audit allow capability mac_admin,",
    "/srv/a r, capability sys_admin,",
    "capability\n    mac_override,",
    "capability#x\n  sys_admin,",
    '"/srv/a#b" r, capability sys_admin,',
    "/srv/a r, /bin/sh ux,",
    "/bin/sh rux,",
    "rux /bin/sh,",
    "/bin/sh\n  ux,",
    '"/bin/my sh" Ux,',
    "/srv/a#b r, capability mac_admin,",
    "/srv/a\u00a0#b r, capability sys_admin,",   # a no-break space: a blank to Python only
    "/srv/a\x1f#b r, capability sys_admin,",
    "/srv/a\\ #b r, capability sys_admin,",      # an escaped blank
    '"/a\\\\" #" r, capability sys_admin,',      # the parser's string ends at the second quote
    "/srv/a ( r, capability sys_admin,",         # a group never closed
    "/bin/a\\ b ux,",
]


@pytest.mark.parametrize("body", HIDDEN)
def test_every_layout_of_a_refused_rule_is_refused(body):
    assert profile_safety_problems(f"profile course-t {{\n  {body}\n}}\n")


def _parser_grants(text: str, tmp_path) -> set[str]:
    """What apparmor_parser would load of the refused kinds: policy capabilities, unsafe exec."""
    path = tmp_path / "profile"
    path.write_text(text)
    dump = run(["apparmor_parser", "-Q", "-T", "-K", "-d", str(path)], check=False).stdout
    caps = re.search(r"^Capabilities:(.*)$", dump, re.M)
    granted = set(caps.group(1).split()) & {"sys_admin", "mac_admin", "mac_override"} if caps else set()
    return granted | ({"unsafe exec"} if re.search(r"Mode:\s+unsafe", dump) else set())


#: the parser rejects these (so the syntax check would too); the policy refuses them first
PARSER_REJECTS = {"/srv/a ( r, capability sys_admin,"}


@needs_parser
@pytest.mark.parametrize("body", [b for b in HIDDEN if "Ux" not in b and b not in PARSER_REJECTS])
def test_the_real_parser_loads_the_rule_in_each_hidden_layout(body, tmp_path):
    """The layouts above are not hypothetical: apparmor_parser loads each one's capability or
    its exec without environment scrubbing (``-d`` shows ux and px alike as ``unsafe``)."""
    assert _parser_grants(f"profile course-t {{\n  {body}\n}}\n", tmp_path)


@pytest.mark.parametrize("text, words", [
    ("profile x flags=(unconfined){}\n", "flags=(unconfined)"),
    ("profile x (unconfined) {\n}\n", "flags=(unconfined)"),
    ('profile "docker-default"{}\n', "already uses"),
    ("profile docker\\055default {\n}\n", "backslash"),
    ("profile x flags=(\\165nconfined) {\n}\n", "backslash"),
    ("profile :root:docker-default {\n}\n", "namespace"),
    ("profile docker-default//x {\n}\n", "another profile"),
    ("profile t {\n}\nprofile u flags=(complain){}\n", "second profile"),
    ("profile t {\n  ^h flags=(complain){}\n}\n", "hat"),
    ("profile t {\n  /bin/sh Px -> :root:unconfined,\n}\n", "transition to unconfined"),
    ("profile t {\n  /bin/sh Px -> :ns:x,\n}\n", "namespace"),
    ('profile t {\n  #include"/etc/passwd"\n}\n', "is not accepted"),
    ('profile t {\n  "/a"include "/etc/passwd"\n}\n', "is not accepted"),
    ("# only a comment\n", "no profile"),
    ("profile t {\n" + "  /a{" * 20000 + "\n}\n", "bytes"),
])
def test_each_header_and_directive_trick_is_refused(text, words):
    assert any(words in p.message for p in profile_safety_problems(text)), \
        [p.message for p in profile_safety_problems(text)]


@pytest.mark.parametrize("text", [
    "\ufeffprofile t {\r\n  /srv/** r,\t# a tab, then a comment with a caf\u00e9\r\n}\r\n",
    "profile t {\n  /usr/bin/helper Px -> unconfined-helper,\n  \"/srv/a include me/\" r,\n}\n",
    "profile t {\n  audit {\n    /srv/{,x/}** r,\n  }\n  signal (receive) peer={runc,unconfined},\n}\n",
])
def test_ordinary_profiles_are_not_refused(text):
    assert profile_safety_problems(text) == []


def test_a_long_line_of_alternations_splits_in_linear_time():
    """One pass: 60 KB of '/a{' used to take 89 s (each brace rescanned the line)."""
    assert len(split_profile("profile t {\n" + "/a{b} r, " * 6000 + "\n}\n")) == 6002


@pytest.mark.parametrize("layout", ['profile course-t {{ include "{path}" }}\n',
                                    'profile course-t {{\n  /a r, #include "{path}"\n}}\n'])
def test_an_include_anywhere_on_a_line_is_refused(layout, tmp_path):
    """apparmor_parser follows an include mid-line, and ``#include`` after a blank is not a comment."""
    target = tmp_path / "rules"
    target.write_text("capability sys_admin,\n")
    text = layout.format(path=target)
    assert [p for p in profile_safety_problems(text) if f'include "{target}" is not accepted' in p.message]
    if shutil.which("apparmor_parser"):
        assert _parser_grants(text, tmp_path) == {"sys_admin"}
