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


@needs_parser
@pytest.mark.parametrize("body", [b for b in HIDDEN if "Ux" not in b])   # -d shows Ux as plain x
def test_the_real_parser_grants_what_each_hidden_layout_asks(body, tmp_path):
    """The layouts above are not hypothetical: apparmor_parser loads each one's grant."""
    assert _parser_grants(f"profile course-t {{\n  {body}\n}}\n", tmp_path)


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
