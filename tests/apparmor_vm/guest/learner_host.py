"""Runs INSIDE the AppArmor VM: the guest as a learner's Debian laptop, running the course's code.

The project and its virtualenv come from the host through a read-only 9p share (/mnt/src);
Docker runs on the baked docker disk. Then, with nothing but the course's own Python API:
the default cluster (AppArmor-capable, since this engine enforces AppArmor), lessons 06 and 07
as their cells run them, lesson 07's complain-mode records read live by the netlink collector,
grading of exercises 06, 07 and 09 (reference solutions and wrong answers, live), and the
hostile AppArmor submissions with the host's loaded profiles compared before and after.
Facts go to results.json (steps.py); the host-side tests assert on them.

Only two things differ from a laptop, both emulation: kubeadm's patience (the host's
tests/apparmor_vm/emulation.py wrote default-emulated.yaml and kubeadm-patches into the share)
and the node image, which the host baked into the docker disk because the guest
cannot build one (no network): the default config is registered with that image as its source.
"""
from __future__ import annotations

import json
import os
import site
import sys
import time
from pathlib import Path

SHARE = Path("/mnt/course")
SRC = Path(os.environ["COURSE_ROOT"])
PYTHON = f"python{sys.version_info.major}.{sys.version_info.minor}"
site.addsitedir(str(SRC / ".venv" / "lib" / PYTHON / "site-packages"))
sys.path[:0] = [str(SRC), str(SHARE)]

import yaml  # noqa: E402
from cases import hostile_cases, submissions  # noqa: E402
from steps import partial, run_steps, step, uptime  # noqa: E402

import grader  # noqa: E402
from labs import apparmor, lessons, pods  # noqa: E402
from labs.apparmor.nodes import parse_loaded_profiles  # noqa: E402
from labs.cluster import ensure_cluster, kubectl, node_capabilities, node_names  # noqa: E402
from labs.cluster.apparmor_image import engine_enforces_apparmor  # noqa: E402
from labs.cluster.configs import ClusterConfig, register_config  # noqa: E402
from labs.lessons.drive import NginxDriver, collect_complain_records  # noqa: E402
from labs.namespaces import SERVICE_ACCOUNT_WAIT_ENV, SLOW_CLUSTER_FACTOR_ENV  # noqa: E402
from labs.runner import run  # noqa: E402

LIMITS = json.loads((SHARE / "limits.json").read_text())
# lessons' namespaces wait for their ServiceAccount as long as the cluster step does: the emulated
# controller manager restarts now and then, and its back-off outlasts the course's 60 s
os.environ[SERVICE_ACCOUNT_WAIT_ENV] = str(LIMITS["service_account_wait"])
# and the grader's pods wait longer than its 60-90 s: an emulated node starts a pod in minutes
os.environ[SLOW_CLUSTER_FACTOR_ENV] = str(LIMITS["pod_wait_factor"])
STATE = Path(os.environ["COURSE_STATE_DIR"])
EXERCISES = SRC / "labs" / "exercises"
CASES = SRC / "tests" / "data" / "submissions"
KERNEL_PROFILES = Path("/sys/kernel/security/apparmor/profiles")


def baked_node_image() -> str:
    """The default config's node image source in the guest: the image on the docker disk."""
    return (SHARE / "node-image").read_text().strip()


def kernel_profiles() -> dict[str, str]:
    """name -> mode of every profile the (one, shared) kernel has loaded."""
    return parse_loaded_profiles(KERNEL_PROFILES.read_text())


def label_in(pod: str, namespace: str, container: str | None = None) -> str:
    """The label as lesson 06 reads it: `cat /proc/1/attr/current` inside the container."""
    return pods.exec_in_pod(pod, namespace, ["cat", "/proc/1/attr/current"], container=container).stdout.strip()


def label_from_node(pod: str, namespace: str) -> str:
    """The label of the pod's first container's PID 1, read on its node: a least-privilege
    profile (lesson 07's learned one) need not let `cat` run inside the container."""
    def field(path: str) -> str:
        return kubectl(["get", "pod", pod, "-n", namespace, "-o", f"jsonpath={{{path}}}"]).stdout.strip()
    node, container = field(".spec.nodeName"), field(".status.containerStatuses[0].containerID").split("://")[-1]
    pid = run(["docker", "exec", node, "crictl", "inspect", "--output", "go-template",
               "--template", "{{.info.pid}}", container]).stdout.strip()
    return run(["docker", "exec", node, "cat", f"/proc/{pid}/attr/current"]).stdout.strip()


@step("cluster")
def _cluster():
    register_config(ClusterConfig("default", SHARE / "default-emulated.yaml", node_image=baked_node_image))
    started = time.monotonic()
    info = ensure_cluster("default", timeout=LIMITS["ready_wait"], create_timeout=LIMITS["create_timeout"])
    created = time.monotonic() - started
    # the API refuses pods until the controller-manager has made the namespace's ServiceAccount
    deadline = time.monotonic() + LIMITS["service_account_wait"]
    while not kubectl(["get", "serviceaccount", "default"], check=False).ok and time.monotonic() < deadline:
        time.sleep(2)
    return {"info": info.to_dict(), "create_s": round(created, 1),
            "service_account_s": round(time.monotonic() - started - created, 1)}


@step("capabilities")
def _capabilities():
    return {"nodes": [c.to_dict() for c in node_capabilities("default")],
            "available": sorted(lessons.detect_available()),
            "engine_enforces_apparmor": engine_enforces_apparmor()}


@step("lesson06")
def _lesson06():
    """Lesson 06's cells: load the shipped profile the way the notebook shows, then the pods."""
    timings = {}
    started = time.monotonic()
    ns = lessons.start("06")
    timings["start_s"] = round(time.monotonic() - started, 1)
    source = apparmor.shipped_profile("course-nginx-deny-write")
    loaded = []
    for node in node_names():
        on_node = f"/etc/apparmor.d/{source.name}"
        run(["docker", "cp", str(source), f"{node}:{on_node}"])
        run(["docker", "exec", node, "apparmor_parser", "-r", "-W", on_node])
        loaded.append(run(["docker", "exec", node, "grep", "course-", str(KERNEL_PROFILES)]).stdout)
    field = pods.run_pod(lessons.asset("06", "nginx-apparmor-field.yaml"), ns, timeout=LIMITS["pod_wait"])
    timings["field_pod_s"] = round(time.monotonic() - started, 1)
    write = pods.exec_in_pod("nginx-field", ns, ["sh", "-c", "echo hacked > /var/www/html/index.html"])
    annotation = pods.run_pod(lessons.asset("06", "nginx-apparmor-annotation.yaml"), ns, timeout=LIMITS["pod_wait"])
    annotation_name = annotation.name if annotation.ok else None
    not_loaded = pods.run_pod(lessons.asset("06", "nginx-apparmor-not-loaded.yaml"), ns, timeout=LIMITS["pod_wait"])
    timings["total_s"] = round(time.monotonic() - started, 1)
    result = {
        "loaded_on_nodes": loaded,
        "field_outcome": field.to_dict(), "field_label": label_in("nginx-field", ns) if field.ok else "",
        "write_rc": write.returncode, "write_err": write.stderr.strip(),
        "annotation_outcome": annotation.to_dict(),
        "annotation_label": label_in(annotation_name, ns) if annotation_name else "",
        "not_loaded_outcome": not_loaded.to_dict(), "timings": timings,
    }
    lessons.clean_up()
    return result


@step("lesson07")
def _lesson07():
    """Lesson 07's cells: complain-mode records from the netlink collector, the reviewed
    profile generated from them, loaded, and nginx serving under it with a write refused."""
    started = time.monotonic()
    ns = lessons.start("07")
    records = collect_complain_records(ns)
    collected = time.monotonic() - started
    kept = [r for r in records if r.comm != "sh"]
    learned = apparmor.profile_from_records("course-nginx-learned", kept, base_rules=("#include <abstractions/base>",),
                                            flags=("attach_disconnected",))
    learned_file = STATE / "course-nginx-learned"
    learned_file.write_text(learned)
    syntax = apparmor.check_profile_syntax(learned_file)
    apparmor.load_profile_on_nodes(learned_file)
    pods.delete_pod("nginx", ns)
    outcome = pods.run_pod(lessons.asset("07", "nginx-learned.yaml"), ns, timeout=LIMITS["pod_wait"])
    serves = NginxDriver("client").serves("nginx", ns) if outcome.ok else False
    write = pods.exec_in_pod("nginx", ns, ["sh", "-c", "echo x > /etc/course-evil"]) if outcome.ok else None
    result = {
        "records": len(records), "profiles": sorted({r.profile for r in records}),
        "modes": sorted({r.apparmor for r in records}), "comms": sorted({r.comm for r in records}),
        "with_pid": sum(1 for r in records if r.pid), "sample": [r.to_dict() for r in records[:3]],
        "learned": learned, "syntax": syntax, "outcome": outcome.to_dict(), "serves": serves,
        "label": label_from_node("nginx", ns) if outcome.ok else "",
        "write_rc": write.returncode if write else None, "write_err": write.stderr.strip() if write else "",
        "timings": {"collect_s": round(collected, 1), "total_s": round(time.monotonic() - started, 1)},
    }
    lessons.clean_up()
    return result


@step("hostile")
def _hostile():
    """Every hostile AppArmor case of the submissions corpus, graded live: the kernel's loaded
    profiles (name and mode) are the same before and after, and the runtimes' own profiles
    still confine new containers."""
    cases = hostile_cases(CASES)
    before = kernel_profiles()
    graded = []
    for case in cases:
        report = grader.grade(case["exercise"], CASES / "cases" / case["case"], config="default",
                              token=f"vm-{case['case']}")
        graded.append({**case, "score": report.score, "max": report.max_score, "text": str(report)})
    after = kernel_profiles()
    docker_label = run(["docker", "run", "--rm", "course/tools:latest",
                        "cat", "/proc/self/attr/current"]).stdout.strip()
    ns = lessons.start("hostile")
    pod = STATE / "runtime-default.yaml"
    pod.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "runtime-default"},
        "spec": {"terminationGracePeriodSeconds": 1, "containers": [{
            "name": "main", "image": "course/tools:latest", "imagePullPolicy": "Never",
            "command": ["sleep", "infinity"]}]}}))
    outcome = pods.run_pod(pod, ns, timeout=LIMITS["pod_wait"])
    pod_label = label_in("runtime-default", ns) if outcome.ok else {
        **outcome.to_dict(), "taints": kubectl(["get", "nodes", "-o", "jsonpath={.items[*].spec.taints}"]).stdout}
    lessons.clean_up()
    return {"cases": graded, "before": before, "after": after, "docker_label": docker_label,
            "pod_label": pod_label}


def _grade(case: str, exercise: str, folder: Path) -> dict:
    report = grader.grade(exercise, folder, config="default", token=f"vm-{case}")
    return {"case": case, "exercise": exercise, **report.to_dict(), "score": report.score,
            "max": report.max_score, "not_checked": [c.id for c in report.not_checked]}


@step("grading")
def _grading():
    """Reference solutions and wrong answers of 06, 07 and 09, graded live one after the other:
    with three graded at once the emulated guest stopped answering in both boots of stop 18;
    one at a time, it did so once in the two full boots of stop 19 (in the last case)."""
    started = time.monotonic()
    reports = []
    for case, exercise, folder in submissions(EXERCISES, CASES, STATE / "wrong"):
        case_started = time.monotonic()
        reports.append({**_grade(case, exercise, folder), "seconds": round(time.monotonic() - case_started, 1)})
        partial("grading", {"reports": reports})
        missed = "; ".join(f"{c['id']} {c['status']}: {str(c.get('message', ''))[:160]}"
                           for c in reports[-1]["checks"] if c["status"] != "passed")
        print(f"graded {case}: {reports[-1]['score']}/{reports[-1]['max']} in {reports[-1]['seconds']}s "
              f"(uptime {uptime():.0f}s) {missed}", flush=True)
    return {"reports": reports, "seconds": round(time.monotonic() - started, 1),
            "leftover_profiles": [n for n in kernel_profiles() if n.startswith("grader-")]}


if __name__ == "__main__":
    sys.exit(run_steps(stop_after_failure=("cluster",)))
