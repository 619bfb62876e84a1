"""Merging complain-mode AppArmor runs (labs.apparmor.recording): rules, provenance per rule,
phases, coverage, diff, the report files. Run "report" is lesson 07's workload as the guest VM
recorded it (tests/data/apparmor); run "export" is a second drive in the same kernel format."""
import json
import shutil
from pathlib import Path

import pytest

from labs.apparmor import (
    AppArmorRecording,
    AppArmorRun,
    check_profile_syntax,
    load_apparmor_recording,
    require_safe_profile,
    rules_from_records,
)
from labs.apparmor.__main__ import main
from labs.apparmor.recording import record_requests
from labs.audit import parse_audit_text
from labs.errors import LabError

DATA = Path(__file__).resolve().parents[1] / "data"
REPORT_LOG = (DATA / "apparmor" / "complain-workload.audit.log").read_text()
COMPLAIN = "course-audit-complain"
SCRIPT = 'profile="course-audit-complain//null-/opt/course/workload.sh"'
CAT = 'profile="course-audit-complain//null-/opt/course/workload.sh//null-/usr/bin/cat"'
EXPORT_LOG = "\n".join(f"type=AVC msg=audit({ts}): apparmor=\"ALLOWED\" {body}" for ts, body in [
    ("1795903850.100:70", f'operation="open" {SCRIPT} name="/etc/ld.so.cache" pid=300 comm="workload.sh" '
                          'requested_mask="r" denied_mask="r" fsuid=0 ouid=0'),
    ("1795903850.200:71", f'operation="open" {SCRIPT} name="/dev/null" pid=300 comm="workload.sh" '
                          'requested_mask="r" denied_mask="r" fsuid=0 ouid=0'),
    ("1795903851.300:72", f'operation="open" {CAT} name="/etc/hostname" pid=301 comm="cat" '
                          'requested_mask="r" denied_mask="r" fsuid=0 ouid=0'),
    ("1795903851.400:73", f'operation="open" {SCRIPT} name="/tmp/course-work/export.txt" pid=300 '
                          'comm="workload.sh" requested_mask="wc" denied_mask="wc" fsuid=0 ouid=0'),
    ("1795903851.500:74", f'operation="capable" class="cap" {SCRIPT} pid=300 comm="workload.sh" '
                          'capability=0 capname="chown"'),
    ("1795903851.600:75", f'operation="create" class="net" {SCRIPT} pid=300 comm="workload.sh" family="unix" '
                          'sock_type="stream" protocol=0 requested_mask="create" denied_mask="create"'),
    ("1795903852.700:76", f'operation="signal" class="signal" {SCRIPT} pid=300 comm="workload.sh" '
                          'requested_mask="send" denied_mask="send" signal=term peer="unconfined"'),
]) + "\n"


def runs(drive_started=None, stop_sent=None):
    return [AppArmorRun.from_audit_text("report", REPORT_LOG),
            AppArmorRun.from_audit_text("export", EXPORT_LOG, drive_started=drive_started, stop_sent=stop_sent)]


def merged(**kwargs) -> AppArmorRecording:
    return AppArmorRecording("course-merged", runs(**kwargs), from_profile=COMPLAIN)


def rows(recording):
    return {row.rule: row for row in recording.provenance()}


def test_one_record_asks_for_one_rule_per_permission():
    mmap, capable = (next(r for r in parse_audit_text(text).apparmor if pick(r))
                     for text, pick in ((REPORT_LOG, lambda r: r.requested_mask == "rm"),
                                        (EXPORT_LOG, lambda r: r.capname)))
    assert record_requests(mmap) == ["/usr/lib/x86_64-linux-gnu/libc.so.6 r,", "/usr/lib/x86_64-linux-gnu/libc.so.6 m,"]
    assert record_requests(capable) == ["capability chown,"]
    assert record_requests(mmap, profile="course-other") == []


def test_the_merged_rules_are_lesson_07s_rules_from_both_logs_at_once():
    recording = merged()
    both = parse_audit_text(REPORT_LOG + EXPORT_LOG).apparmor
    assert recording.rules() == rules_from_records(both, profile=COMPLAIN)
    assert "/dev/null rw," in recording.rules() and "capability chown," in recording.rules()


def test_provenance_names_the_runs_each_rule_came_from_with_their_permissions():
    table = rows(merged())
    assert table["/etc/hostname r,"].runs == ["export"]
    assert table["/usr/share/doc/ r,"].runs == ["report"]
    assert table["/etc/ld.so.cache r,"].runs == ["report", "export"]
    assert table["/etc/ld.so.cache r,"].count == 6        # five records of run report, one of export
    # one rule, two runs that asked for different things: write in one, read in the other
    assert table["/dev/null rw,"].permissions == {"report": "w", "export": "r"}
    assert table["/dev/null rw,"].describe() == "report (w), export (r)"
    assert table["capability chown,"].describe() == "export"
    assert table["network unix stream,"].runs == ["export"]


def test_phases_come_from_the_drive_and_stop_times_of_each_run():
    table = rows(merged(drive_started=1795903851.0, stop_sent=1795903851.55))
    assert table["/etc/hostname r,"].phases == {"requests": 1}
    assert table["network unix stream,"].phases == {"shutdown": 1}
    assert table["/etc/ld.so.cache r,"].phases == {"startup": 6}    # the report run was never driven


def test_coverage_says_when_runs_stop_adding_requests():
    first, second = runs()
    again = AppArmorRun.from_audit_text("report-again", REPORT_LOG)
    curve = AppArmorRecording("course-merged", [first, second, again], from_profile=COMPLAIN).coverage()
    assert [(label, new) for label, new, _, _ in curve] == [("report", 26), ("export", 5), ("report-again", 0)]
    # /dev/null was written in run report: reading it is a new request, not an old rule
    assert "/dev/null r," in curve[1][3] and "/etc/ld.so.cache r," not in curve[1][3]
    report = AppArmorRecording("course-merged", [first, second, again], from_profile=COMPLAIN).markdown()
    assert "The last run added nothing" in report


def test_diff_lists_requests_only_one_recording_made_with_their_phases():
    only_report = AppArmorRecording("course-report", runs()[:1], from_profile=COMPLAIN)
    diff = only_report.diff(merged(drive_started=1795903851.0))
    assert diff.removed == {}
    assert diff.added["/etc/hostname r,"] == ["requests"] and diff.added["/dev/null r,"] == ["startup"]
    assert diff.common == 26 and "course-report -> course-merged: 5 added" in str(diff)


def test_the_profile_says_why_each_rule_is_there_and_is_safe_to_load():
    text = merged().profile_text()
    assert "  /etc/hostname r,  # export (r)\n" in text
    assert "  /dev/null rw,  # report (w), export (r)\n" in text
    assert "# not converted: operation=signal" in text          # lesson 07's generator lists it
    require_safe_profile(text)
    if shutil.which("apparmor_parser") is None:
        pytest.skip("apparmor_parser is not installed here: the parse check needs it (apt-get install apparmor)")
    assert check_profile_syntax(text) == "course-merged"


def test_the_report_files_round_trip_and_render(tmp_path):
    recording = merged(drive_started=1795903851.0)
    out = recording.write(tmp_path / "rec")
    assert (out / "course-merged").read_text() == recording.profile_text()
    data = json.loads((out / "report.json").read_text())
    assert data["status"] == "complete" and "/etc/hostname r," in data["rules"]
    assert {"rule": "/etc/hostname r,", "runs": ["export"]}.items() <= data["provenance"][
        data["rules"].index("/etc/hostname r,")].items()
    again = load_apparmor_recording(out)
    assert again.markdown() == recording.markdown() == (out / "report.md").read_text()
    md = recording.markdown()
    assert "| `/etc/hostname r,` | export (r) |  |  | 1 |  |" in md
    assert "- signal: export" in md
    assert "/etc/hostname" in recording._repr_html_()


def test_lost_records_and_interrupted_runs_come_first_in_the_report():
    lossy = AppArmorRun.from_audit_text("report", REPORT_LOG + "audit: audit_lost=5 audit_rate_limit=0\n")
    cut = AppArmorRun("export", parse_audit_text(EXPORT_LOG).apparmor, partial=True)
    recording = AppArmorRecording("course-merged", [lossy, cut], from_profile=COMPLAIN)
    assert recording.status.startswith("INCOMPLETE") and recording.lost == lossy.lost > 0
    notes = recording.notes()
    assert "may miss rules" in notes[0] and "run export was interrupted" in notes[1]
    assert AppArmorRecording("x", [cut]).status == "PARTIAL"


def test_two_runs_with_one_label_are_refused():
    with pytest.raises(LabError, match="report more than once"):
        AppArmorRecording("course-merged", [runs()[0], runs()[0]])


def test_the_command_line_merges_logs_and_diffs_recordings(tmp_path, capsys):
    (tmp_path / "report.log").write_text(REPORT_LOG)
    (tmp_path / "export.log").write_text(EXPORT_LOG)
    logs = [f"report={tmp_path / 'report.log'}", f"export={tmp_path / 'export.log'}"]
    assert main(["merge", "course-merged", *logs, "--from-profile", COMPLAIN, "--out", str(tmp_path / "both")]) == 0
    assert main(["merge", "course-merged", logs[0], "--from-profile", COMPLAIN, "--out", str(tmp_path / "one")]) == 0
    assert "/etc/hostname r,  # export (r)" in (tmp_path / "both" / "course-merged").read_text()
    assert main(["diff", str(tmp_path / "one"), str(tmp_path / "both")]) == 0
    out = capsys.readouterr().out
    assert "complete: 22 rules from 2 run(s) (new per run: report +26, export +5)" in out
    assert "5 added, 0 removed" in out and "+ /etc/hostname r, (startup)" in out
    assert main(["merge", "course-merged", "report"]) == 1
    assert "is not LABEL=LOGFILE" in capsys.readouterr().err
