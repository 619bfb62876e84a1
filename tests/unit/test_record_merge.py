"""Recording a workload, the pure parts: phases, merge with provenance, coverage, diff,
argument suggestions, the report files, and the collector program's frame format."""
import importlib.util
import json
import socket
import struct
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from labs.audit import AuditCollector
from labs.errors import LabTimeout, WorkloadFailed
from labs.seccomp import (
    Recording,
    RunRecord,
    apply_suggestions,
    build_profile,
    coverage,
    diff_runs,
    load_profile,
    load_recording,
    merge_runs,
    provenance,
    suggest_arguments,
)
from labs.seccomp.__main__ import main
from labs.seccomp.provenance import classify_phase, split_phases
from labs.seccomp.record import drive_argv, listening_ports, run_drive, socket_families

PROGRAM = Path(__file__).resolve().parents[2] / "labs" / "images" / "collector" / "collector.py"
spec = importlib.util.spec_from_file_location("course_collector_frames", PROGRAM)
collector = importlib.util.module_from_spec(spec)
spec.loader.exec_module(collector)


def rec(comm, ts, syscall):
    return SimpleNamespace(comm=comm, timestamp=ts, syscall=syscall)


def run_of(index, **phases):
    return RunRecord(index, f"c{index}", {p: dict(v) for p, v in phases.items()})


def test_phases_come_from_the_process_name_and_the_clock():
    records = [rec("runc:[2:INIT]", 1.0, "capset"), rec("runc:[2:INIT]", 9.0, "execve"),
               rec("app", 2.0, "bind"), rec("app", 5.0, "accept4"), rec("app", 5.0, "accept4"),
               rec("app", 8.0, "exit_group")]
    phases = split_phases(records, drive_started=5.0, stop_sent=8.0)
    assert phases == {"runtime": {"capset": 1, "execve": 1}, "startup": {"bind": 1},
                      "requests": {"accept4": 2}, "shutdown": {"exit_group": 1}}
    # a batch program that was never driven or stopped: everything after execve is start-up
    assert classify_phase("true", 99.0, None, None) == "startup"


def test_merge_and_provenance_say_which_runs_and_phases_needed_each_syscall():
    one = run_of(1, runtime={"execve": 1}, startup={"bind": 1, "read": 3}, requests={"read": 10})
    two = run_of(2, runtime={"execve": 1}, startup={"read": 2}, shutdown={"wait4": 1})
    assert merge_runs([one, two]) == {"execve": 2, "bind": 1, "read": 15, "wait4": 1}
    rows = {p.syscall: p for p in provenance([one, two])}
    assert rows["read"].runs == [1, 2] and rows["read"].phases == {"startup": 5, "requests": 10}
    assert rows["read"].calls == 15
    assert rows["bind"].runs == [1] and rows["wait4"].phases == {"shutdown": 1}
    assert rows["execve"].runtime_only and not rows["read"].runtime_only


def test_coverage_counts_new_names_per_run():
    runs = [run_of(1, startup={"a": 1, "b": 1}), run_of(2, startup={"b": 1, "c": 1}), run_of(3, startup={"a": 1})]
    assert coverage(runs) == [(1, 2, 2, ["a", "b"]), (2, 1, 3, ["c"]), (3, 0, 3, [])]


def test_diff_lists_added_and_removed_with_phases():
    old = [run_of(1, startup={"read": 1, "mkdir": 1})]
    new = [run_of(1, startup={"read": 1}, requests={"sendfile": 4})]
    diff = diff_runs(old, new, old_label="v1", new_label="v2")
    assert diff.added == {"sendfile": ["requests"]} and diff.removed == {"mkdir": ["startup"]}
    assert diff.common == 1
    assert "+ sendfile (requests)" in str(diff) and "- mkdir (startup)" in str(diff)


def test_suggestions_cover_clone_socket_personality_and_say_what_they_cannot():
    names = {"clone", "clone3", "socket", "personality", "mkdir", "read"}
    found = {s.syscall: s for s in suggest_arguments(names, socket_families=[socket.AF_INET, socket.AF_UNIX])}
    assert set(found) == {"clone", "clone3", "socket", "personality", "mkdir"}
    assert found["clone"].rules[0]["args"] == [{"index": 0, "value": 0x7E020000, "op": "SCMP_CMP_MASKED_EQ",
                                               "valueTwo": 0}]
    assert found["clone3"].rules[0]["errnoRet"] == 38
    assert [r["args"][0]["value"] for r in found["socket"].rules] == [socket.AF_UNIX, socket.AF_INET]
    assert "pointer" in found["socket"].cannot and "pointer" in found["clone3"].evidence
    assert not found["mkdir"].automatic and found["mkdir"].rules == []
    # no families observed (e.g. on the cluster): no socket rule rather than a wrong one
    assert "socket" not in {s.syscall for s in suggest_arguments({"socket"})}


def test_applied_suggestions_replace_the_plain_allow_and_stay_valid():
    profile = build_profile({"clone", "socket", "read"}, include_runtime_startup=False)
    narrowed = apply_suggestions(profile, suggest_arguments({"clone", "socket"}, socket_families=[socket.AF_INET]))
    load_profile(narrowed)
    plain = narrowed["syscalls"][0]
    assert plain["names"] == ["read"] and "args" not in plain
    conditional = {r["names"][0]: r["args"] for r in narrowed["syscalls"][1:]}
    assert conditional["socket"] == [{"index": 0, "value": socket.AF_INET, "op": "SCMP_CMP_EQ"}]


def test_recording_writes_profiles_and_a_report_that_load_back(tmp_path):
    runs = [run_of(1, runtime={"execve": 1, "capset": 2}, startup={"bind": 1}, requests={"accept4": 3}),
            run_of(2, runtime={"execve": 1}, requests={"accept4": 1, "sendfile": 1})]
    recording = Recording("img", "docker", "runc 1.1.5", runs=runs, kernel_lost=0,
                          baseline=["execve", "capset", "exit_group"])
    recording.write(tmp_path)
    allowed = set(load_profile(tmp_path / "profile.json")["syscalls"][0]["names"])
    assert {"execve", "bind", "accept4", "sendfile"} <= allowed
    assert load_profile(tmp_path / "profile-staged.json")["defaultAction"] == "SCMP_ACT_LOG"
    report = (tmp_path / "report.md").read_text()
    assert "Status: **complete**" in report and "| accept4 | 1,2 |" in report
    assert recording.runtime_syscalls() == {"execve", "capset"}
    assert recording.beyond_baseline() == {"bind", "accept4", "sendfile"}
    again = load_recording(tmp_path)
    assert again.syscalls() == recording.syscalls() and again.runs[1].phases == runs[1].phases
    assert recording.diff(again).added == {}


def test_lost_records_and_partial_runs_are_labelled(tmp_path):
    recording = Recording("img", "docker", "runc", runs=[run_of(1, startup={"read": 1})])
    recording.note_lost(12, None)
    assert recording.status.startswith("INCOMPLETE: 12") and "lost 12" in recording.problems[0]
    assert "not readable here" in recording.markdown()
    exc = KeyboardInterrupt()
    fresh = Recording("img", "docker", "runc", runs=[run_of(1, startup={"read": 1})])
    fresh.keep_partial(exc, tmp_path)
    assert exc.recording is fresh and fresh.partial and fresh.status == "PARTIAL"
    assert json.loads((tmp_path / "report.json").read_text())["problems"] == ["interrupted (Ctrl-C)"]


def test_listening_ports_and_socket_families_from_proc_tables():
    tcp = ("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
           "   0: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1\n"
           "   1: 0100007F:1F90 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000     0        0 4343 1\n")
    assert listening_ports(tcp) == {80}
    netlink = "sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode\n0000 0 12715 0 0 0 0 2 0 999\n"
    # dockerd's netlink socket lives in the namespace too, but not in the workload's descriptors
    assert socket_families({"tcp": tcp, "netlink": netlink}, {"4242"}) == {socket.AF_INET}
    assert socket_families({"tcp": tcp, "netlink": netlink}, {"4242", "999"}) == {socket.AF_INET, socket.AF_NETLINK}


def test_drive_commands_get_placeholders_and_a_failure_names_the_command():
    assert drive_argv("curl $URL") == ["sh", "-c", "curl $URL"]
    seen = []
    run_drive([drive_argv("test \"$PORT\" = 8080"), ["test", "{container}", "=", "box"]],
              {"port": "8080", "container": "box"}, 30, seen.append)
    assert seen == ['drive: sh -c test "$PORT" = 8080', "drive: test box = box"]
    with pytest.raises(WorkloadFailed) as failed:
        run_drive([["sh", "-c", "echo no route >&2; exit 7"]], {}, 30, seen.append)
    assert failed.value.reason == "DriveFailed" and "(7)" in str(failed.value) and "no route" in str(failed.value)


def nlmsg(payload: bytes) -> bytes:
    return struct.pack("=IHHII", 16 + len(payload), 1326, 0, 0, 0) + payload


def test_collector_frames_round_trip_across_partial_reads(tmp_path):
    a = nlmsg(b'audit(1.5:7): pid=4242 comm="sh" arch=c000003e syscall=39 code=0x7ffc0000')
    b = nlmsg(b'audit(1.5:8): pid=4242 comm="sh" arch=c000003e syscall=1 code=0x7ffc0000x')   # odd length
    assert collector.split_datagrams(a + b) == [a, b]
    data = (collector.pack_frame(b"P", json.dumps([4242, ["c" * 64]]).encode())
            + collector.pack_frame(b"B", a + b) + collector.pack_frame(b"L", b"3"))
    frames, rest = collector.split_frames(data[:-2])
    assert [k for k, _ in frames] == [b"P", b"B"] and rest
    frames2, rest2 = collector.split_frames(rest + data[-2:])
    assert rest2 == b"" and frames2 == [(b"L", b"3")]
    lines = [json.loads(x) for x in collector.frame_lines(frames + frames2, collector.Attributor(proc=str(tmp_path)))]
    assert [e["event"] for e in lines] == ["record", "record", "lost"]
    assert lines[0]["container_id"] == "c" * 64 and lines[2]["count"] == 3


def _trickle(audit: AuditCollector, frames: Path, datagram: bytes, steps: int, stop) -> None:
    """A steady trickle as a server's timer makes it: every 50 ms one more batch arrives, and
    the formatter reports catching up only to the batch before it (one is always in flight)."""
    attributor = collector.Attributor(proc=str(frames.parent))
    for _ in range(steps):
        if stop.is_set():
            return
        before = frames.stat().st_size if frames.exists() else 0
        with open(frames, "ab") as raw:
            raw.write(collector.pack_frame(b"B", datagram))
        audit._take(collector.record_lines(datagram, attributor)
                    + [json.dumps({"event": "caught_up", "offset": before})])
        time.sleep(0.05)


def test_a_steady_trickle_settles_although_a_batch_is_always_in_flight(tmp_path):
    """CI's red run: redis's timer kept one batch unformatted at nearly every poll, and a wait
    that demanded an empty backlog timed out after 60 s with nothing new arriving."""
    audit = AuditCollector()
    audit.folder = tmp_path
    datagram = nlmsg(b'audit(1.5:7): pid=4242 comm="redis" arch=c000003e syscall=232 code=0x7ffc0000')
    stop = threading.Event()
    feed = threading.Thread(target=_trickle, args=(audit, tmp_path / "frames.bin", datagram, 200, stop))
    feed.start()
    try:
        assert audit.wait_settled(0.5, 5.0) == {"epoll_wait"}
        with pytest.raises(LabTimeout, match="kept arriving"):   # the records themselves never stop
            audit.wait_quiet(0.5, 1.5)
    finally:
        stop.set()
        feed.join()
    with pytest.raises(LabTimeout, match=r"\d+ bytes of records were still waiting"):    # and said
        (tmp_path / "frames.bin").write_bytes(b"x" * 10_000)
        audit.wait_settled(0.2, 1.0)


def test_recording_renders_in_jupyter_and_plots_its_coverage():
    runs = [run_of(1, startup={"a": 1, "b": 1}), run_of(2, startup={"c": 1})]
    recording = Recording("img<x>", "docker", "runc", runs=runs, partial=True, problems=["drive failed"])
    page = recording._repr_html_()
    assert "img&lt;x&gt;" in page and "PARTIAL" in page and "drive failed" in page
    figure = recording.coverage_plot()
    line = figure.axes[0].lines[0]
    assert list(line.get_xdata()) == [1, 2] and list(line.get_ydata()) == [2, 3]


def test_cli_record_needs_one_target_and_diff_reads_recordings(tmp_path, capsys):
    assert main(["record"]) == 2 and "IMAGE or --manifest" in capsys.readouterr().err
    Recording("v1", "docker", "runc", runs=[run_of(1, startup={"read": 1, "mkdir": 1})]).write(tmp_path / "v1")
    v2_run = run_of(1, startup={"read": 1}, requests={"sendfile": 1})
    Recording("v2", "docker", "runc", runs=[v2_run]).write(tmp_path / "v2")
    assert main(["diff", str(tmp_path / "v1"), str(tmp_path / "v2" / "report.json")]) == 0
    out = capsys.readouterr().out
    assert "+ sendfile (requests)" in out and "- mkdir (startup)" in out
