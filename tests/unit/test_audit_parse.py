"""labs.audit.parse against recorded audit text: audit.log, syslog, dmesg, collector JSON."""
import pytest

from labs.audit import (
    AppArmorRecord,
    AuditCollector,
    SeccompRecord,
    lost_notice,
    parse_audit_line,
    parse_audit_text,
    seccomp_action,
)


def load(data_dir, name):
    return parse_audit_text((data_dir / "audit" / name).read_text())


def test_real_x86_64_audit_log(data_dir):
    log = load(data_dir, "x86_64-audit.log")
    assert len(log.records) == 45 and log.lost == 0 and log.warnings == []
    first = log.records[0]
    assert first == SeccompRecord(1795903484.561, 2, 31112, "runc:[2:INIT]", "/", "x86_64", 257,
                                  "openat", 0x7FFC0000)
    names = {r.syscall for r in log.seccomp}
    assert {"openat", "execve", "faccessat2", "capset", "prctl"} <= names
    assert {r.action for r in log.seccomp} == {"SCMP_ACT_LOG"}


def test_collector_json_lines_keep_container_and_count_drops(data_dir):
    log = load(data_dir, "x86_64-collector.jsonl")
    assert len(log.seccomp) == 45
    assert {r.container_id for r in log.seccomp} == {
        "bdefea21d1a09c32794e931bc5e73a85247b2fbad042063ce0bd5d0b51ec7222"}
    assert log.lost == 17
    assert log.warnings[0].startswith("WARNING: 17 audit records were lost")


def test_dmesg_counts_suppressed_and_lost_records(data_dir):
    log = load(data_dir, "x86_64-dmesg.txt")
    assert len(log.seccomp) == 11
    # 3893 suppressed by printk + audit_lost going 1 -> 5 (the backlog lines are the same losses)
    assert log.lost == 3893 + 5
    assert any("kauditd_printk_skb" in w for w in log.warnings)
    assert any("backlog limit exceeded" in w for w in log.warnings)


def test_syslog_and_journal_shapes_and_actions(data_dir):
    log = load(data_dir, "x86_64-syslog.txt")
    by_name = {r.syscall: r for r in log.seccomp}
    assert set(by_name) == {"openat", "epoll_ctl", "mkdir", "unshare"}
    assert by_name["mkdir"].action == "SCMP_ACT_ERRNO" and by_name["mkdir"].exe == "/usr/bin/mkdir"
    assert by_name["unshare"].action == "SCMP_ACT_KILL_PROCESS"
    assert log.lost == 12


def test_apparmor_records(data_dir):
    log = load(data_dir, "x86_64-apparmor-audit.log")
    assert log.seccomp == []          # SYSCALL and SELinux AVC lines are not ours
    kinds = [(r.apparmor, r.operation) for r in log.apparmor]
    assert kinds == [("STATUS", "profile_load"), ("DENIED", "open"), ("ALLOWED", "mkdir"),
                     ("DENIED", "capable"), ("DENIED", "create"), ("DENIED", "exec")]
    denied_open = log.apparmor[1]
    assert (denied_open.profile, denied_open.name, denied_open.requested_mask,
            denied_open.denied_mask) == ("course-nginx", "/etc/shadow", "r", "r")
    assert log.apparmor[3].capname == "net_raw"
    net = log.apparmor[4]
    assert (net.family, net.sock_type, net.protocol) == ("inet", "raw", 1)
    assert log.apparmor[5].comm == "my tool"      # hex-encoded by the kernel


def test_aarch64_numbers_map_to_aarch64_names(data_dir):
    log = load(data_dir, "aarch64-audit.log")
    assert [r.syscall for r in log.seccomp] == [
        "openat", "read", "write", "clone", "accept4", "mkdirat", "unshare", "syscall_4242"]
    assert {r.arch for r in log.seccomp} == {"aarch64"}
    assert any("syscall_4242 (aarch64)" in w for w in log.warnings)


def test_aarch64_syslog_mixes_seccomp_apparmor_and_losses(data_dir):
    log = load(data_dir, "aarch64-syslog.txt")
    assert [r.syscall for r in log.seccomp] == ["openat", "accept4"]
    assert [r.name for r in log.apparmor] == ["/proc/1/environ"]
    assert log.lost == 61


@pytest.mark.parametrize("line", [
    "",
    "[  248.402001] docker0: port 1(veth1eb035c) entered disabled state",
    'type=SYSCALL msg=audit(1.0:5): arch=c000003e syscall=2 success=no exit=-13',
    'audit: type=1400 audit(1.0:6): avc:  denied  { read } for pid=1 comm="x" tclass=file',
])
def test_lines_that_are_not_our_records(line):
    assert parse_audit_line(line) is None


def test_unknown_arch_keeps_the_number():
    record = parse_audit_line('audit: type=1326 audit(5.5:9): pid=3 comm="a" exe="/a" sig=0 '
                              'arch=40000003 syscall=20 compat=1 ip=0x1 code=0x7ffc0000')
    assert (record.arch, record.syscall_nr, record.syscall) == ("arch=40000003", 20, "syscall_20")


def test_seccomp_action_names():
    assert seccomp_action(0x00050001) == "SCMP_ACT_ERRNO"
    assert seccomp_action(0x80000000) == "SCMP_ACT_KILL_PROCESS"
    assert seccomp_action(0x00000000) == "SCMP_ACT_KILL_THREAD"
    assert seccomp_action(0x7FFC0000) == "SCMP_ACT_LOG"


def test_lost_notice_kinds():
    assert lost_notice("[1.0] kauditd_printk_skb: 7 callbacks suppressed")[:2] == ("suppressed", 7)
    assert lost_notice("audit: audit_lost=42 audit_rate_limit=0 audit_backlog_limit=64")[:2] == ("total", 42)
    assert lost_notice("audit: rate limit exceeded")[:2] == ("event", 1)
    assert lost_notice("audit: type=1326 audit(1.0:1): syscall=1") is None


def test_audit_log_renders_and_serialises(data_dir):
    log = load(data_dir, "aarch64-syslog.txt")
    assert "61</b> lost" in log._repr_html_()
    data = log.to_dict()
    assert data["lost"] == 61 and data["records"][2]["apparmor"] == "DENIED"
    assert isinstance(log.records[2], AppArmorRecord)


def test_collector_client_warns_when_records_were_lost(data_dir):
    audit = AuditCollector()
    audit._take((data_dir / "audit" / "x86_64-collector.jsonl").read_text().splitlines())
    with pytest.warns(RuntimeWarning, match="17 audit records were lost"):
        calls = audit.syscalls(["bdefea21d1a0"])
    assert calls["openat"] == 1 and sum(calls.values()) == 45
    with pytest.warns(RuntimeWarning):
        assert audit.records(["0" * 12]) == []         # other ids match nothing
