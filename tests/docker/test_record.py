"""Recording a workload on real Docker: the nginx lab image recorded in two runs serves under
the profile it produced, a probe outside its needs is refused, a periodic-timer program
settles, and every kind of bad input leaves nothing behind and says what happened."""
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from labs.audit import AuditCollector
from labs.docker_lab import LabContainer
from labs.errors import LabTimeout, WorkloadFailed
from labs.images import NGINX_IMAGE, TOOLS_IMAGE
from labs.runner import run
from labs.seccomp import apply_suggestions, audit_profile, load_profile, load_recording
from labs.seccomp.record import record_image

PAGE = "hello from the course nginx"
REPO = Path(__file__).resolve().parents[2]
# one syscall every 100 ms, forever: the record stream never stops, the set of names does;
# as pid 1 it must handle SIGTERM itself to stop cleanly (else docker stop kills it after 10 s)
TICKER = ["python3", "-c", "import os, signal, sys, time\n"
          "signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))\n"
          "while True:\n    os.getppid()\n    time.sleep(0.1)"]


def leftovers(*names: str) -> list[str]:
    """Containers with these names that still exist (running or not)."""
    out = run(["docker", "ps", "-a", "--format", "{{.Names}}"]).stdout.split()
    return [n for n in names if n in out]


@pytest.fixture(scope="module")
def nginx_recording(lab_images, tmp_path_factory):
    out = tmp_path_factory.mktemp("nginx-recording")
    lines: list[str] = []
    recording = record_image(NGINX_IMAGE, publish=80, runs=2, out=out, progress=lines.append,
                             drive=["curl -fsS $URL", ["curl", "-sS", "{url}missing"],
                                    "docker exec $CONTAINER nginx -s reload"])
    return recording, out, lines


def test_two_runs_merge_with_phases_and_provenance(nginx_recording):
    recording, out, lines = nginx_recording
    assert recording.status == "complete", recording.problems
    assert recording.lost == 0 and recording.kernel_lost in (0, None)
    assert [r.index for r in recording.runs] == [1, 2] and not any(r.partial for r in recording.runs)
    rows = {p.syscall: p for p in recording.provenance()}
    assert rows["accept4"].runs == [1, 2] and set(rows["accept4"].phases) == {"requests"}
    assert "runtime" in rows["capset"].phases and rows["bind"].phases.get("startup")
    assert "kill" in rows and "requests" in rows["kill"].phases     # the exec'd reload is recorded
    assert any(r.phases["shutdown"] for r in recording.runs)        # the stop signal was recorded
    assert recording.coverage()[0][1] == len(recording.syscalls()) >= 50
    assert any("settled" in line for line in lines) and any("drive: sh -c curl" in line for line in lines)
    assert recording.baseline and {"execve", "exit_group"} <= set(recording.baseline)
    assert "accept4" in recording.beyond_baseline()
    assert load_recording(out).syscalls() == recording.syscalls()
    assert "## Why each syscall is there" in (out / "report.md").read_text()


def test_recorded_profile_serves_with_seccomp_2_and_refuses_a_probe(nginx_recording):
    recording, out, _ = nginx_recording
    profile = load_profile(out / "profile.json")
    assert "unshare" not in recording.syscalls()
    with LabContainer.start(NGINX_IMAGE, seccomp=profile, publish={80: 0}) as nginx:
        assert PAGE in nginx.http_get(80, "/")
        pid = nginx.state()["Pid"]
        assert "Seccomp:\t2" in Path(f"/proc/{pid}/status").read_text()
        probe = nginx.exec(["unshare", "--user", "true"])
        assert probe.returncode != 0 and "Operation not permitted" in probe.stderr, probe
        assert nginx.exec(["nginx", "-s", "reload"]).ok      # the recorded operator action works
    staged = load_profile(out / "profile-staged.json")
    assert staged["defaultAction"] == "SCMP_ACT_LOG" and staged["syscalls"] == profile["syscalls"]


def test_a_periodic_timer_never_goes_quiet_but_settles(lab_images):
    with AuditCollector() as audit, \
            LabContainer.start(TOOLS_IMAGE, seccomp=audit_profile(), command=TICKER) as ticker:
        with pytest.raises(LabTimeout):
            audit.wait_quiet(quiet=1.0, timeout=4.0, container_ids=[ticker.id])
        names = audit.wait_settled(window=2.0, timeout=60.0, container_ids=[ticker.id])
        assert {"getppid", "clock_nanosleep"} <= names or {"getppid", "select"} <= names, names


def test_recording_a_timer_program_ends_and_keeps_its_shutdown(lab_images, tmp_path):
    recording = record_image(TOOLS_IMAGE, command=TICKER, settle=2.0, out=tmp_path)
    run1 = recording.runs[0]
    assert recording.status == "complete" and run1.phases["startup"]["getppid"] >= 1
    assert "exit_group" in run1.phases["shutdown"] and "exit_group" not in run1.phases["startup"]
    assert leftovers(run1.container) == []


def test_a_pid_1_that_ignores_sigterm_is_killed_and_the_report_says_so(lab_images, tmp_path):
    lines: list[str] = []
    recording = record_image(TOOLS_IMAGE, command=["sleep", "600"], settle=1.0, baseline=False,
                             progress=lines.append, out=tmp_path)
    assert any("warning:" in line and "ignoring its stop signal for 10s" in line for line in lines), lines
    assert "ignoring its stop signal" in (tmp_path / "report.md").read_text()
    assert leftovers(recording.runs[0].container) == []


def test_an_image_that_does_not_exist(lab_images, tmp_path):
    with pytest.raises(WorkloadFailed) as failed:
        record_image("course/no-such-image:never", out=tmp_path)
    assert failed.value.reason == "NoSuchImage" and "docker images" in failed.value.fix
    assert failed.value.recording.partial and failed.value.recording.runs == []


def test_a_workload_that_exits_at_once(lab_images, tmp_path):
    with pytest.raises(WorkloadFailed) as failed:
        record_image(TOOLS_IMAGE, command=["sh", "-c", "echo bad config >&2; exit 3"], publish=8080, out=tmp_path)
    assert failed.value.reason == "ExitedAtStart" and "bad config" in failed.value.details
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["partial"] and "exited" in report["problems"][0]


def test_a_workload_that_never_answers_its_port(lab_images, tmp_path):
    with pytest.raises(LabTimeout) as failed:
        record_image(TOOLS_IMAGE, command=["sleep", "600"], publish=8080, timeout=4, out=tmp_path)
    recording = failed.value.recording
    assert "never listened on port 8080" in str(failed.value)
    assert recording.partial and recording.runs[0].partial and "execve" in recording.runs[0].syscalls()
    assert leftovers(recording.runs[0].container) == []


def test_a_drive_command_that_fails(lab_images, tmp_path):
    with pytest.raises(WorkloadFailed) as failed:
        record_image(TOOLS_IMAGE, command=["sleep", "600"], drive=["echo refused >&2; exit 7"], out=tmp_path)
    assert failed.value.reason == "DriveFailed" and "refused" in failed.value.details
    run1 = failed.value.recording.runs[0]
    assert run1.partial and run1.syscalls() and leftovers(run1.container) == []
    assert "PARTIAL" in (tmp_path / "report.md").read_text()


def test_ctrl_c_leaves_no_container_or_collector_and_keeps_partial_results(lab_images, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    # SIGINT at its default in the recorder, as at a terminal: a shell that starts `make test` in the
    # background (`make test &`, nohup) ignores SIGINT, the recorder would inherit that, and
    # Python then installs no Ctrl-C handler at all
    cli = subprocess.Popen([sys.executable, "-m", "labs.seccomp", "record", TOOLS_IMAGE, "--out", str(tmp_path),
                            "--drive", "sleep 120"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, env=env, cwd=REPO,
                           preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    lines = []
    for line in cli.stdout:
        lines.append(line)
        if "drive: sh -c sleep 120" in line:
            cli.send_signal(signal.SIGINT)
            break
    try:
        rest, _ = cli.communicate(timeout=120)
    except subprocess.TimeoutExpired:   # say where it hung
        cli.kill()
        rest, _ = cli.communicate()
        pytest.fail("the recorder did not exit within 120 s of Ctrl-C; its output:\n" + "".join(lines) + rest)
    assert cli.returncode == 130, "".join(lines) + rest
    names = [w for line in lines for w in line.split() if w.startswith(("course-record-", "course-docker-audit-"))]
    assert len(names) == 2 and leftovers(*names) == [], names
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["partial"] and report["problems"][0] == "interrupted (Ctrl-C)"
    assert report["runs"][0]["partial"] and report["runs"][0]["records"] > 0


def test_nginx_serves_under_the_argument_suggestions(nginx_recording):
    recording, out, _ = nginx_recording
    suggestions = recording.suggestions()
    assert {"clone", "socket"} <= {s.syscall for s in suggestions if s.automatic}
    narrowed = apply_suggestions(load_profile(out / "profile.json"), suggestions)
    with LabContainer.start(NGINX_IMAGE, seccomp=narrowed, publish={80: 0}) as nginx:
        assert PAGE in nginx.http_get(80, "/")
        assert nginx.exec(["nginx", "-s", "reload"]).ok       # forks a process: clone without namespace flags
