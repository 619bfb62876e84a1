"""Runs INSIDE the AppArmor VM (Debian's python3, as root): every step the lane verifies.

It records facts (exit codes, outputs, audit records, timings) in results.json; the host-side
tests assert on them. It uses the course's own ``labs`` package, copied into the share, so the
code under test is the code learners run.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

SHARE = Path("/mnt/course")
sys.path.insert(0, str(SHARE / "src"))
sys.path.insert(0, str(SHARE))

from steps import run_steps, step  # noqa: E402

from labs.apparmor import (  # noqa: E402
    AppArmorRecording,
    AppArmorRun,
    apparmor_support,
    check_profile_syntax,
    explain_apparmor_denial,
    load_profile_here,
    loaded_profiles,
    profile_from_records,
    shipped_profiles,
)
from labs.audit import parse_audit_text  # noqa: E402
from labs.runner import run  # noqa: E402

AUDIT_LOG = Path("/var/log/audit/audit.log")


def audit_mark() -> int:
    return AUDIT_LOG.stat().st_size if AUDIT_LOG.exists() else 0


def audit_since(mark: int) -> str:
    time.sleep(0.5)   # auditd writes asynchronously
    with AUDIT_LOG.open() as f:
        f.seek(mark)
        return f.read()


def cmd(args: list[str], profile: str | None = None, timeout: float = 120):
    """Run ``args``; with ``profile``, confined the way a container runtime does it
    (aa-exec sets the profile for the next exec, like runc's change_onexec)."""
    if profile:
        args = ["aa-exec", "-p", profile, "--", *args]
    result = run(args, check=False, timeout=timeout)
    return {"rc": result.returncode, "out": result.stdout, "err": result.stderr}


def sh(command: str, profile: str | None = None):
    return cmd(["sh", "-c", command], profile)


def records_of(text: str, profile: str) -> list[dict]:
    return [r.to_dict() for r in parse_audit_text(text).apparmor if r.profile.startswith(profile)]


@step("support")
def _support():
    return apparmor_support().to_dict()


@step("shipped_profiles")
def _shipped():
    out = {}
    for path in shipped_profiles():
        name = check_profile_syntax(path)
        load_profile_here(path)
        out[path.name] = {"name": name, "mode": loaded_profiles().get(name)}
    return out


@step("nginx_deny_write")
def _nginx():
    profile = "course-nginx-deny-write"
    mark = audit_mark()
    start = cmd(["nginx"], profile)
    time.sleep(1)
    pid = Path("/run/nginx.pid").read_text().split()[0] if Path("/run/nginx.pid").exists() else ""
    label = Path(f"/proc/{pid}/attr/current").read_text().strip() if pid else ""
    curl = sh("curl -sS -o /dev/null -w '%{http_code}' http://127.0.0.1/")
    access_log = Path("/var/log/nginx/access.log")
    logged = access_log.exists() and "GET / " in access_log.read_text()
    write_etc = sh("echo x > /etc/course-evil", profile)
    hostname = Path("/etc/hostname").read_text()
    append_etc = sh("echo x >> /etc/hostname", profile)
    write_log = sh("echo ok > /var/log/nginx/course-ok && cat /var/log/nginx/course-ok", profile)
    nginx_bad_log = cmd(["nginx", "-t", "-g", "error_log /srv/course-evil.log;"], profile)
    sh("nginx -s stop")
    audit = audit_since(mark)
    return {
        "start": start, "label": label, "curl": curl, "access_logged": logged,
        "write_etc": write_etc, "etc_file_exists": Path("/etc/course-evil").exists(),
        "append_etc": append_etc, "hostname_unchanged": Path("/etc/hostname").read_text() == hostname,
        "write_log": write_log, "nginx_bad_log": nginx_bad_log,
        "srv_file_exists": Path("/srv/course-evil.log").exists(),
        "denied": [r for r in records_of(audit, profile) if r["apparmor"] == "DENIED"],
    }


@step("runc_container")
def _runc():
    """A container started by runc (what containerd drives) gets the profile from its OCI spec."""
    run(["sh", "-c", "mountpoint -q /sys/fs/cgroup || mount -t cgroup2 none /sys/fs/cgroup"])
    bundle = Path("/tmp/course-bundle")
    rootfs = bundle / "rootfs"
    rootfs.mkdir(parents=True, exist_ok=True)
    run(["mount", "--bind", "/", str(rootfs)])
    run(["mount", "-o", "remount,bind,ro", str(rootfs)])
    run(["runc", "spec", "--bundle", str(bundle)])
    spec = json.loads((bundle / "config.json").read_text())
    spec["process"]["terminal"] = False
    spec["process"]["apparmorProfile"] = "course-nginx-deny-write"
    spec["process"]["args"] = ["sh", "-c", "cat /proc/self/attr/current;"
                               " echo x > /tmp/evil || echo tmp-denied;"
                               " echo ok > /var/log/nginx/ok && echo log-allowed"]
    for target in ("/tmp", "/var/log/nginx"):   # writable tmpfs over the read-only root
        spec["mounts"].append({"destination": target, "type": "tmpfs", "source": "tmpfs",
                               "options": ["nosuid", "nodev"]})
    (bundle / "config.json").write_text(json.dumps(spec))
    mark = audit_mark()
    result = run(["runc", "run", "--bundle", str(bundle), "course-apparmor-probe"], check=False, timeout=120)
    run(["umount", str(rootfs)])
    denied = [r for r in records_of(audit_since(mark), "course-nginx-deny-write") if r["apparmor"] == "DENIED"]
    return {"rc": result.returncode, "out": result.stdout, "err": result.stderr, "denied": denied}


WORKLOAD = """#!/bin/sh
# A small batch job: reads its config, writes a result, lists a directory.
set -e
cat /etc/os-release > /dev/null
mkdir -p /tmp/course-work
echo ok > /tmp/course-work/result.txt
ls /usr/share/doc > /dev/null
cat /tmp/course-work/result.txt
"""


@step("complain_to_enforce")
def _complain():
    Path("/opt/course").mkdir(parents=True, exist_ok=True)
    workload = Path("/opt/course/workload.sh")
    workload.write_text(WORKLOAD)
    workload.chmod(0o755)
    mark = audit_mark()
    audited = sh(str(workload), "course-audit-complain")
    text = audit_since(mark)
    log = parse_audit_text(text)
    records = [r for r in log.apparmor if r.profile.startswith("course-audit-complain")]
    generated = profile_from_records("course-generated", records, from_profile="course-audit-complain",
                                     base_rules=("#include <abstractions/base>",))
    check_profile_syntax(generated)
    load_profile_here(generated)
    mark = audit_mark()
    rerun = sh(str(workload), "course-generated")
    forbidden = sh("echo x > /etc/course-generated-evil", "course-generated")
    shadow = sh("cat /etc/shadow", "course-generated")
    after = audit_since(mark)
    denied = [r for r in parse_audit_text(after).apparmor
              if r.profile.startswith("course-generated") and r.apparmor == "DENIED"]
    return {
        "audited": audited, "allowed_records": len([r for r in records if r.apparmor == "ALLOWED"]),
        "raw_audit": "\n".join(line for line in text.splitlines() if "apparmor=" in line),
        "lost": log.lost, "generated": generated, "mode": loaded_profiles().get("course-generated"),
        "rerun": rerun, "forbidden": forbidden, "shadow": shadow,
        "denied": [r.to_dict() for r in denied],
        "explained": [str(explain_apparmor_denial(r)) for r in denied],
    }


MERGE_JOB = """#!/bin/sh
# One small job, two drives: 'report' lists a directory, 'export' copies the hostname.
set -e
cat /etc/os-release > /dev/null
read request < /tmp/course-merge/go
case "$1" in
  report) ls /usr/share/doc > /tmp/course-merge/report.txt ;;
  export) cat /etc/hostname > /tmp/course-merge/export.txt ;;
esac
echo "$1 $request"
"""
#: Start the job confined, wait until it blocks opening its FIFO (start-up done), note the time,
#: write the request. The audit clock is the wall clock, so that time splits the run's phases.
MERGE_DRIVE = """rm -rf /tmp/course-merge && mkdir /tmp/course-merge && mkfifo /tmp/course-merge/go
aa-exec -p "$1" -- /opt/course/merge-job.sh "$2" & job=$!
for i in $(seq 100); do grep -qE 'fifo|partner' /proc/$job/wchan 2>/dev/null && break; sleep 0.1; done
date +%s.%N > /tmp/course-merge-drive
timeout 20 sh -c 'echo request-1 > /tmp/course-merge/go'
wait $job
"""


def drive_merge_job(profile: str, mode: str) -> tuple[dict, float]:
    result = cmd(["sh", "-c", MERGE_DRIVE, "drive", profile, mode], timeout=45)   # a hang fails the step, not the boot
    return result, float(Path("/tmp/course-merge-drive").read_text())


@step("merge_complain_runs")
def _merge():
    """Two complain-mode runs of one job with different drives, merged into one enforced profile."""
    job = Path("/opt/course/merge-job.sh")
    job.parent.mkdir(parents=True, exist_ok=True)
    job.write_text(MERGE_JOB)
    job.chmod(0o755)
    runs, complain = [], {}
    for mode in ("report", "export"):
        mark = audit_mark()
        complain[mode], drive = drive_merge_job("course-audit-complain", mode)
        runs.append(AppArmorRun.from_audit_text(mode, audit_since(mark), drive_started=drive))
    recording = AppArmorRecording("course-merged", runs, from_profile="course-audit-complain")
    profile = recording.profile_text()
    check_profile_syntax(profile)
    load_profile_here(profile)
    mark = audit_mark()
    enforced = {mode: drive_merge_job("course-merged", mode)[0] for mode in ("report", "export")}
    outside = {"shadow": sh("cat /etc/shadow", "course-merged"),
               "write_etc": sh("echo x > /etc/course-merged-evil", "course-merged")}
    denied = [r.to_dict() for r in parse_audit_text(audit_since(mark)).apparmor
              if r.profile.startswith("course-merged") and r.apparmor == "DENIED"]
    return {"complain": complain, "recording": recording.to_dict(), "profile": profile,
            "mode": loaded_profiles().get("course-merged"), "enforced": enforced, "outside": outside,
            "denied": denied}


if __name__ == "__main__":
    sys.exit(run_steps())
