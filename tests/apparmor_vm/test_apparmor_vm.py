"""AppArmor enforced by a real kernel (the QEMU guest): load, block, audit, generate."""
from __future__ import annotations

import pytest

from labs.apparmor import shipped_profiles

from .budget import CHECKS_TEST

# the first test also builds the VM image (cold) and may boot twice (conftest's retry)
pytestmark = pytest.mark.timeout(CHECKS_TEST)

COMPLAIN_PROFILES = {"course-audit-complain"}


def test_guest_kernel_has_apparmor(vm_step):
    support = vm_step("support")
    assert support["kernel_enabled"] and support["securityfs"] and support["parser"], support


def test_every_shipped_profile_loads_in_its_mode(vm_step):
    loaded = vm_step("shipped_profiles")
    assert sorted(loaded) == sorted(p.name for p in shipped_profiles())
    for filename, info in loaded.items():
        assert info["name"] == filename, "file name and profile name must match"
        expected = "complain" if filename in COMPLAIN_PROFILES else "enforce"
        assert info["mode"] == expected, (filename, info)


def test_nginx_serves_under_deny_write_profile(vm_step):
    nginx = vm_step("nginx_deny_write")
    assert nginx["start"]["rc"] == 0, nginx["start"]
    assert nginx["label"] == "course-nginx-deny-write (enforce)"
    assert nginx["curl"]["out"] == "200", nginx["curl"]
    assert nginx["access_logged"], "nginx must be able to write its access log"


def test_deny_write_profile_blocks_writes_outside_log_dirs(vm_step):
    nginx = vm_step("nginx_deny_write")
    assert nginx["write_etc"]["rc"] != 0
    assert "Permission denied" in nginx["write_etc"]["err"]
    assert not nginx["etc_file_exists"]
    assert nginx["append_etc"]["rc"] != 0 and "Permission denied" in nginx["append_etc"]["err"]
    assert nginx["hostname_unchanged"]
    assert nginx["write_log"]["rc"] == 0 and nginx["write_log"]["out"].strip() == "ok"
    # nginx itself cannot open a log file outside its directories
    assert nginx["nginx_bad_log"]["rc"] != 0
    assert "Permission denied" in nginx["nginx_bad_log"]["err"]
    assert not nginx["srv_file_exists"]
    denied = {(r["name"], r["denied_mask"]) for r in nginx["denied"]}
    # c = create, a = append, w = write: each is a write AppArmor logs as DENIED
    assert ("/etc/course-evil", "c") in denied, denied
    assert ("/srv/course-evil.log", "c") in denied, denied
    assert any(name == "/etc/hostname" and set(mask) & set("wa") for name, mask in denied), denied


def test_complain_mode_records_become_a_working_profile(vm_step):
    flow = vm_step("complain_to_enforce")
    assert flow["audited"]["rc"] == 0 and flow["audited"]["out"].strip() == "ok"
    assert flow["allowed_records"] > 0, "complain mode must log ALLOWED records"
    assert flow["mode"] == "enforce"
    result_rules = [line.split() for line in flow["generated"].splitlines()
                    if line.strip().startswith("/tmp/course-work/result.txt ")]
    assert result_rules and "w" in result_rules[0][1], flow["generated"]
    # the observed run works again under the enforced, generated profile
    assert flow["rerun"]["rc"] == 0 and flow["rerun"]["out"].strip() == "ok", flow["rerun"]


def test_generated_profile_blocks_what_was_not_observed(vm_step):
    flow = vm_step("complain_to_enforce")
    assert flow["forbidden"]["rc"] != 0 and "Permission denied" in flow["forbidden"]["err"]
    assert flow["shadow"]["rc"] != 0 and "Permission denied" in flow["shadow"]["err"]
    names = {r["name"] for r in flow["denied"]}
    assert {"/etc/course-generated-evil", "/etc/shadow"} <= names, names
    assert any("/etc/shadow r," in text and "secrets" in text for text in flow["explained"])


def test_runc_applies_the_profile_named_in_the_oci_spec(vm_step):
    """The step under containerd: runc confines the container with process.apparmorProfile."""
    probe = vm_step("runc_container")
    assert probe["rc"] == 0, probe
    lines = probe["out"].split()
    assert probe["out"].startswith("course-nginx-deny-write (enforce)"), probe["out"]
    assert "tmp-denied" in lines and "log-allowed" in lines, probe
    assert any(r["name"] == "/tmp/evil" for r in probe["denied"]), probe["denied"]


def test_merged_complain_runs_enforce_both_drives_and_name_the_run_behind_each_rule(vm_step):
    """Two complain-mode runs with different drives, merged by labs.apparmor.AppArmorRecording."""
    merge = vm_step("merge_complain_runs")
    for mode in ("report", "export"):
        assert merge["complain"][mode]["rc"] == 0, merge["complain"][mode]
        # the merged profile, enforced, lets each run's own actions through
        assert merge["enforced"][mode]["rc"] == 0, (mode, merge["enforced"][mode], merge["denied"])
        assert merge["enforced"][mode]["out"].strip() == f"{mode} request-1"
    assert merge["mode"] == "enforce"
    for attempt in merge["outside"].values():
        assert attempt["rc"] != 0 and "Permission denied" in attempt["err"], attempt
    assert {"/etc/shadow", "/etc/course-merged-evil"} <= {r["name"] for r in merge["denied"]}, merge["denied"]
    rows = {row["rule"]: row for row in merge["recording"]["provenance"]}
    # a rule only one run needed names that run, and the phase after its drive started
    assert rows["/tmp/course-merge/report.txt w,"]["runs"] == ["report"], rows
    assert set(rows["/tmp/course-merge/report.txt w,"]["phases"]) == {"requests"}
    assert rows["/etc/hostname r,"]["runs"] == ["export"]
    assert rows["/usr/lib/os-release r,"]["runs"] == ["report", "export"]
    assert set(rows["/usr/lib/os-release r,"]["phases"]) == {"startup"}
    assert "/etc/hostname r,  # export (r)" in merge["profile"]
    assert merge["recording"]["status"] == "complete"
