"""check_profile_syntax with the real apparmor_parser (parse only), and the shipped profiles."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from labs.apparmor import check_profile_syntax, shipped_profile, shipped_profiles
from labs.apparmor.__main__ import main
from labs.apparmor.nodes import parse_loaded_profiles, parse_support
from labs.apparmor.syntax import parser_error, read_profile_source
from labs.errors import ProfileError

needs_parser = pytest.mark.skipif(shutil.which("apparmor_parser") is None,
                                  reason="apparmor_parser is not installed (apt-get install apparmor)")


@needs_parser
@pytest.mark.parametrize("path", shipped_profiles(), ids=lambda p: p.name)
def test_every_shipped_profile_parses_and_is_named_like_its_file(path):
    assert check_profile_syntax(path) == path.name


def test_the_course_ships_the_lesson_profiles():
    names = {p.name for p in shipped_profiles()}
    assert {"course-nginx-deny-write", "course-deny-etc-write", "course-audit-complain",
            "course-capstone-web"} <= names
    assert "flags=(complain" in shipped_profile("course-audit-complain").read_text()
    with pytest.raises(ProfileError, match="course-nginx-deny-write"):
        shipped_profile("nope")


@needs_parser
def test_syntax_error_keeps_the_parser_line():
    text = "profile broken {\n  /etc/hostname r,\n  /etc/passwd rw\n}\n"
    with pytest.raises(ProfileError) as info:
        check_profile_syntax(text)
    assert info.value.path == "line 4"
    assert "syntax error" in info.value.message


@needs_parser
def test_semantic_errors_are_caught_too():
    with pytest.raises(ProfileError, match="Invalid capability"):
        check_profile_syntax("profile p {\n  capability frobnicate,\n}\n")
    with pytest.raises(ProfileError, match="mutually exclusive"):
        check_profile_syntax("profile p {\n  /f wa,\n}\n")


@needs_parser
def test_text_without_profile_is_rejected():
    with pytest.raises(ProfileError, match="defines no profile"):
        check_profile_syntax("# nothing here\n")


def test_parser_error_drops_kernel_noise_and_reads_the_line():
    output = ("Cache read/write disabled: interface file missing. (Kernel needs AppArmor 2.4 "
              "compatibility patch.)\nAppArmor parser error at line 3: syntax error, unexpected TOK_ID\n")
    error = parser_error(output, "x")
    assert error.path == "line 3" and "Cache" not in str(error)


def test_support_probe_output_and_loaded_profiles_are_parsed():
    full = parse_support("node a", "enabled=Y\nsecurityfs=yes\nparser=yes\n")
    assert full.ok and full.problem() is None
    none = parse_support("node b", "enabled=\n")
    problem = none.problem()
    assert not none.ok and "kernel has no AppArmor" in problem.message
    assert "`make cluster` gives the default cluster an AppArmor-capable node" in problem.fix
    no_parser = parse_support("node c", "enabled=Y\nsecurityfs=yes\n")
    assert "apparmor_parser" in no_parser.problem().message
    text = "course-nginx-deny-write (enforce)\ncourse-audit-complain (complain)\n/usr/bin/x (enforce)\n"
    assert parse_loaded_profiles(text) == {"course-nginx-deny-write": "enforce",
                                           "course-audit-complain": "complain", "/usr/bin/x": "enforce"}


def test_missing_profile_file_is_a_profile_error(tmp_path):

    with pytest.raises(ProfileError, match="no such profile file"):
        read_profile_source(Path(tmp_path / "absent"))
    with pytest.raises(ProfileError, match="no such profile file"):
        read_profile_source(str(tmp_path / "absent"))
    text, label = read_profile_source("profile inline {\n}\n")
    assert label == "<profile text>" and text.startswith("profile inline")


@needs_parser
def test_cli_checks_shipped_profiles_and_reports_bad_ones(tmp_path, capsys):
    assert main(["check"]) == 0
    assert "course-nginx-deny-write parses" in capsys.readouterr().out
    bad = tmp_path / "bad"
    bad.write_text("profile bad {\n  /a r\n}\n")
    assert main(["check", str(bad)]) == 1
    assert "line 3" in capsys.readouterr().err
