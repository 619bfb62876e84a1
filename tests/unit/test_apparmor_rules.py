"""records -> rules -> profile (pure), and the result parses with the real apparmor_parser."""
from __future__ import annotations

import shutil

import pytest

from labs.apparmor import check_profile_syntax, profile_from_records, record_rule, rules_from_records
from labs.apparmor.rules import format_path, unhandled_records
from labs.audit import AppArmorRecord, parse_audit_text

needs_parser = pytest.mark.skipif(shutil.which("apparmor_parser") is None,
                                  reason="apparmor_parser is not installed (apt-get install apparmor)")


def rec(operation="open", name=None, mask=None, decision="ALLOWED", profile="course-audit-complain",
        capname=None, family=None, sock_type=None):
    return AppArmorRecord(1.0, 1, 42, "prog", decision, operation, profile, name, mask, mask,
                          capname, family, sock_type, None)


def test_permissions_for_one_path_are_merged_in_canonical_order():
    records = [rec(name="/data/out", mask="r"), rec(name="/data/out", mask="wc"),
               rec(name="/data/out", mask="k")]
    assert rules_from_records(records) == ["/data/out rwk,"]


@pytest.mark.parametrize("mask, perms", [("a", "a"), ("wa", "w"), ("x", "ix"), ("mr", "rm"),
                                         ("d", "w"), ("l", "l"), ("c", "w")])
def test_audit_masks_map_to_profile_permissions(mask, perms):
    assert rules_from_records([rec(name="/f", mask=mask)]) == [f"/f {perms},"]


def test_capabilities_network_then_files_sorted_and_deduplicated():
    records = [rec(name="/b", mask="r"), rec(name="/a", mask="r"),
               rec(operation="capable", capname="net_bind_service"),
               rec(operation="capable", capname="chown"), rec(operation="capable", capname="chown"),
               rec(operation="create", family="inet", sock_type="stream", mask="create"),
               rec(operation="create", family="inet6", sock_type=None, mask="create")]
    assert rules_from_records(records) == [
        "capability chown,", "capability net_bind_service,",
        "network inet stream,", "network inet6,", "/a r,", "/b r,"]


def test_proc_pid_paths_are_generalised_and_owner_restricted():
    assert rules_from_records([rec(name="/proc/4242/status", mask="r")]) == ["owner @{PROC}/@{pid}/status r,"]
    assert rules_from_records([rec(name="/proc/sys/kernel/ngroups_max", mask="r")]) == [
        "/proc/sys/kernel/ngroups_max r,"]


def test_glob_characters_are_escaped_and_spaces_quoted():
    assert format_path("/srv/a*b") == r"/srv/a\*b"
    assert format_path("/srv/my file") == '"/srv/my file"'
    assert format_path("/srv/a#b") == '"/srv/a#b"'


def test_status_records_and_other_profiles_are_ignored():
    records = [rec(decision="STATUS", operation="profile_load", name="x"),
               rec(name="/mine", mask="r"), rec(name="/theirs", mask="r", profile="other"),
               rec(name="/child", mask="r", profile="course-audit-complain//null-/usr/bin/cat")]
    assert rules_from_records(records, profile="course-audit-complain") == ["/child r,", "/mine r,"]


def test_denied_records_count_too():
    assert rules_from_records([rec(name="/x", mask="w", decision="DENIED")]) == ["/x w,"]


def test_unconvertible_records_are_reported_not_dropped():
    signal = rec(operation="signal", mask="send")
    assert rules_from_records([signal]) == []
    assert unhandled_records([signal]) == [signal]
    text = profile_from_records("gen", [signal])
    assert "# not converted: operation=signal" in text


def test_record_rule_is_the_single_rule_or_none():
    assert record_rule(rec(name="/etc/shadow", mask="r")) == "/etc/shadow r,"
    assert record_rule(rec(decision="STATUS", operation="profile_load")) is None


@needs_parser
def test_generated_profile_parses_with_apparmor_parser():
    records = [rec(name="/data/out", mask="wc"), rec(name="/proc/7/stat", mask="r"),
               rec(name="/usr/bin/cat", mask="x"), rec(name="/srv/with space", mask="r"),
               rec(operation="capable", capname="net_bind_service"),
               rec(operation="create", family="inet", sock_type="stream", mask="create")]
    text = profile_from_records("course-generated", records, base_rules=("#include <abstractions/base>",),
                                flags=("attach_disconnected",))
    assert text.splitlines()[3] == "profile course-generated flags=(attach_disconnected) {"
    assert check_profile_syntax(text) == "course-generated"


@needs_parser
def test_rules_from_real_complain_mode_records(data_dir):
    """Records a workload left under course-audit-complain in the QEMU guest (6.1 kernel)."""
    log = parse_audit_text((data_dir / "apparmor" / "complain-workload.audit.log").read_text())
    assert log.lost == 0 and len(log.apparmor) == 59
    rules = rules_from_records(log.apparmor, profile="course-audit-complain")
    # children ran in //null- subprofiles: their records belong to the profile too
    assert "/usr/bin/cat rix," in rules and "/usr/bin/mkdir rix," in rules
    # create + write + read of one file merge into one rule
    assert "/tmp/course-work/result.txt rw," in rules
    assert "/usr/lib/x86_64-linux-gnu/libc.so.6 rm," in rules
    assert len(rules) == len(set(rules)) == 18
    assert rules_from_records(log.apparmor, profile="someone-else") == []
    text = profile_from_records("course-generated", log.apparmor, from_profile="course-audit-complain",
                                base_rules=("#include <abstractions/base>",))
    assert check_profile_syntax(text) == "course-generated"
