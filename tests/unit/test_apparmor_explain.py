"""explain_apparmor_denial: sentence, rule and caution for a record (pure)."""
from __future__ import annotations

import json

import pytest

from labs.apparmor import caution_for_rule, explain_apparmor_denial
from labs.audit import AppArmorRecord


def rec(**kw):
    base = dict(timestamp=1.0, serial=1, pid=7, comm="sh", apparmor="DENIED", operation="open",
                profile="course-nginx-deny-write", name=None, requested_mask=None, denied_mask=None,
                capname=None, family=None, sock_type=None, protocol=None)
    base.update(kw)
    return AppArmorRecord(**base)


def test_file_denial_names_the_path_the_rule_and_no_caution_for_a_data_file():
    e = explain_apparmor_denial(rec(name="/srv/data/x", requested_mask="wc", denied_mask="wc"))
    assert e.rule == "/srv/data/x w,"
    assert "write, create on /srv/data/x" in e.summary
    assert e.caution is None
    assert "was denied" in str(e) and "Rule that allows it: /srv/data/x w," in str(e)
    assert json.loads(e.to_json())["rule"] == "/srv/data/x w,"


def test_writing_etc_gets_a_caution():
    e = explain_apparmor_denial(rec(name="/etc/passwd", requested_mask="w", denied_mask="w"))
    assert e.caution and "system files" in e.caution


def test_complain_mode_record_says_it_would_be_denied():
    e = explain_apparmor_denial(rec(apparmor="ALLOWED", name="/tmp/x", requested_mask="r"))
    assert "would be denied" in str(e)


def test_capability_and_network_records():
    cap = explain_apparmor_denial(rec(operation="capable", capname="sys_admin"))
    assert cap.rule == "capability sys_admin," and "new root" in cap.caution
    net = explain_apparmor_denial(rec(operation="create", family="packet", sock_type="raw",
                                      requested_mask="create"))
    assert net.rule == "network packet raw," and "sniff" in net.caution


@pytest.mark.parametrize("rule, expected", [
    ("/etc/shadow r,", "secrets"),
    ("/usr/bin/bash ix,", "shell"),
    ("/srv/** rw,", "glob"),
    ("capability net_bind_service,", None),
    ("network inet stream,", None),
    (None, None),
])
def test_caution_for_rule(rule, expected):
    caution = caution_for_rule(rule)
    assert (caution is None) if expected is None else (expected in caution)


def test_record_without_a_rule_says_so():
    e = explain_apparmor_denial(rec(operation="signal", requested_mask="send"))
    assert e.rule is None and "No single rule" in str(e)
