"""The AppArmor half of the course, run by the course's own code on a kernel WITH AppArmor.

One boot of the QEMU guest (Debian's kernel, ``apparmor=1``, software emulation) makes it a
learner's Debian laptop: Docker on a docker disk the host baked (the AppArmor kind node and the
lab images already in it, cached by image ids), the project and its virtualenv through a
read-only 9p share. guest/learner_host.py then creates the default cluster with
``labs.cluster.ensure_cluster``, runs lessons 06 and 07 as their cells do (lesson 07's
complain-mode records read live by the netlink collector), grades exercises 06, 07 and 09
(reference solutions and wrong answers, live) and the hostile AppArmor corpus, comparing the
kernel's loaded profiles before and after. Each test below asserts one part of its facts.
Progress (each guest step, kind's and the node's lines, with the guest's uptime) is announced
live; the timings of every part are announced at the end.
"""
from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import pytest
import yaml

from labs.cluster.configs import get_config
from labs.errors import CommandError
from labs.paths import REPO_ROOT, tools_dir

from .budget import GUEST_LIMITS, LEARNER_BOOT, LEARNER_SILENCE, LEARNER_TEST
from .emulation import write_emulated_config
from .guest.cases import PROMISED

# cold, this module's fixture builds the VM image, the AppArmor node image and the docker disk.
# Not in `make test` (the learner_host marker is deselected there; `make test-apparmor-vm` runs
# it): one boot takes 44 minutes on a quiet 2-core machine, and on one as slow as CI's the
# emulated control plane does not start (clusters/apparmor-vm/README.md).
pytestmark = [pytest.mark.timeout(LEARNER_TEST), pytest.mark.learner_host]

GUEST = Path(__file__).resolve().parent / "guest"
@pytest.fixture(scope="module")
def host(vm_image, node_disk, tmp_path_factory, announce, boot):
    """Boot the learner host once; return its results.json with the host's timings added."""
    missing = [tool for tool in ("kind", "kubectl") if not (tools_dir() / tool).exists()]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed in {tools_dir()} (make cluster installs them)")
    node_image, disk, built = node_disk
    timings = dict(built)
    share = tmp_path_factory.mktemp("apparmor-learner-host")
    (share / "node-image").write_text(node_image)
    (share / "limits.json").write_text(json.dumps(GUEST_LIMITS))
    write_emulated_config(share, yaml.safe_load(get_config("default").file.read_text()), "default-emulated.yaml")
    shutil.copy(GUEST / "learner_host.sh", share / "guest.sh")
    for name in ("docker_up.sh", "learner_host.py", "steps.py", "cases.py", "node_watch.py", "node_watch.sh"):
        shutil.copy(GUEST / name, share / name)
    announce(f"booting the learner host (timeout {LEARNER_BOOT}s; guest waits {GUEST_LIMITS})")
    started = time.monotonic()
    try:
        boot(vm_image, share, disks=(disk.path,), memory_mb=6144, timeout=LEARNER_BOOT, attempts=1,
             silent_after=LEARNER_SILENCE, follow=("guest.log", "node-watch.log"), read_only={"src": REPO_ROOT})
        stopped = ""
    except CommandError as exc:   # VmHung too: the facts saved before the hang still count
        stopped = f"the guest was stopped: {exc.fix}\nconsole tail:\n{exc.output[-2500:]}"
        announce(stopped.splitlines()[0])
    timings["boot_to_done_s"] = round(time.monotonic() - started, 1)
    guest_log, diag = (share / "guest.log").read_text(errors="replace"), "".join(
        (share / name).read_text(errors="replace")[-4000:] for name in ("node-watch.log", "node-diag.log")
        if (share / name).exists())
    results_file = share / "results.json"
    assert results_file.exists(), f"the guest wrote no results:\n{stopped}\n{guest_log[-4000:]}\n{diag}"
    results = json.loads(results_file.read_text())
    shell_steps = {m[0]: float(m[1]) for m in re.findall(r"^STEP (\S+) ([\d.]+)$", guest_log, re.M)}
    results["timings"] = {**timings, "guest_uptime_at": shell_steps, "python_steps_s": results["seconds"]}
    announce(f"learner host timings: {json.dumps(results['timings'])}")
    results["guest_log"] = f"{stopped}\n{guest_log}" if stopped else guest_log
    results["node_diag"] = diag
    return results


@pytest.fixture
def facts(host):
    """One guest step's facts; fails with the guest's traceback if that step crashed. A step the
    guest stopped in gives what it saved so far, marked ``unfinished``."""
    def get(name: str) -> dict:
        if name not in host["steps"] and name in host.get("partial", {}):
            return {**host["partial"][name], "unfinished": True}   # the guest stopped in this step
        if name not in host["steps"]:
            pytest.fail(f"guest step {name} did not run (an earlier step it needs failed):\n"
                        f"{host['guest_log'][-3000:]}\n{host['node_diag']}")
        value = host["steps"][name]
        if isinstance(value, dict) and "error" in value:
            pytest.fail(f"guest step {name} crashed:\n{value['error']}\n{host['guest_log'][-2000:]}")
        return value
    return get


@pytest.mark.slow
def test_ensure_cluster_makes_the_default_cluster_apparmor_capable(facts):
    cluster, capabilities = facts("cluster"), facts("capabilities")
    assert cluster["info"]["created"] and cluster["info"]["cluster_name"] == "seccomp-course"
    assert capabilities["engine_enforces_apparmor"] is True
    assert capabilities["nodes"] and all(n["apparmor_lsm"] and n["containerd_apparmor"]
                                         for n in capabilities["nodes"]), capabilities["nodes"]
    assert "apparmor" in capabilities["available"]


@pytest.mark.slow
def test_lesson06_profile_confines_nginx_by_field_and_by_annotation(facts):
    lesson = facts("lesson06")
    assert any("course-nginx-deny-write (enforce)" in line for line in lesson["loaded_on_nodes"])
    assert lesson["field_outcome"]["ok"], lesson["field_outcome"]
    assert lesson["field_label"] == "course-nginx-deny-write (enforce)"
    assert lesson["write_rc"] != 0 and "Permission denied" in lesson["write_err"], lesson
    assert lesson["annotation_label"] == "course-nginx-deny-write (enforce)", lesson["annotation_outcome"]


@pytest.mark.slow
def test_lesson06_pod_asking_for_a_profile_no_node_loaded_does_not_start(facts):
    """What lesson 06 teaches: the kubelet accepts the pod, the runtime cannot start it."""
    outcome = facts("lesson06")["not_loaded_outcome"]
    assert not outcome["ok"] and outcome["reason"] == "CreateContainerError", outcome
    assert "apparmor profile not found course-not-loaded" in outcome["message"], outcome


@pytest.mark.slow
def test_lesson07_complain_records_come_live_from_the_collector_and_the_learned_profile_enforces(facts):
    lesson = facts("lesson07")
    assert lesson["records"] > 0 and lesson["with_pid"] == lesson["records"], lesson["sample"]
    assert lesson["profiles"] == ["course-audit-complain"] and lesson["modes"] == ["ALLOWED"]
    assert "nginx" in lesson["comms"]
    assert lesson["syntax"] == "course-nginx-learned"
    assert lesson["outcome"]["ok"], lesson["outcome"]
    assert lesson["serves"] is True
    assert lesson["label"] == "course-nginx-learned (enforce)"
    assert lesson["write_rc"] != 0 and "Permission denied" in lesson["write_err"], lesson


def _report(facts, case: str) -> dict:
    """One submission's report; fails naming the last graded case if the guest never got to it."""
    reports = {report["case"]: report for report in facts("grading")["reports"]}
    if case not in reports:
        pytest.fail(f"{case} was not graded: the guest's grading step stopped after {list(reports)}")
    return reports[case]


@pytest.mark.slow
@pytest.mark.parametrize("exercise", ["06", "07", "09"])
def test_reference_solution_earns_full_marks_with_every_check_run(facts, exercise):
    report = _report(facts, f"{exercise}-reference")
    assert report["not_checked"] == [], report["checks"]
    assert report["score"] == report["max"], [c for c in report["checks"] if c["status"] != "passed"]
    assert any(c["live"] for c in report["checks"])


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(PROMISED))
def test_wrong_answer_gets_partial_credit_and_the_promised_message(facts, case):
    report = _report(facts, case)
    assert report["not_checked"] == [], report["checks"]
    assert 0 < report["score"] < report["max"], report["checks"]
    assert PROMISED[case] in json.dumps(report["checks"]), report["checks"]


@pytest.mark.slow
def test_grading_leaves_no_profile_loaded(facts):
    grading = facts("grading")
    assert not grading.get("unfinished"), f"the guest stopped while grading, after {len(grading['reports'])} cases"
    assert grading["leftover_profiles"] == []


@pytest.mark.slow
def test_hostile_apparmor_submissions_leave_the_kernels_profiles_as_they_were(facts):
    hostile = facts("hostile")
    assert len(hostile["cases"]) >= 15
    for case in hostile["cases"]:
        assert case["score"] < case["max"] and case["expect"] in case["text"], case
    assert hostile["after"] == hostile["before"]
    assert not [name for name in hostile["after"] if name.startswith("grader-")]


@pytest.mark.slow
def test_runtime_profiles_still_confine_new_containers_after_grading(facts):
    hostile = facts("hostile")
    assert hostile["docker_label"] == "docker-default (enforce)"
    assert hostile["pod_label"] == "cri-containerd.apparmor.d (enforce)"
