"""Re-record the pod statuses the unit tests classify: run each case on the kind cluster and
save the pod as the API returns it (managedFields dropped).

    PYTHONPATH=. .venv/bin/python tests/data/manifests/pod-status/record.py
"""
import json
import time
import uuid
from pathlib import Path

from labs.manifests import load_manifests, set_seccomp
from labs.namespaces import lab_namespace
from labs.pods import apply_manifest, read_pod, run_pod

HERE = Path(__file__).parent
MANIFESTS = HERE.parent


def pod(name: str, command: list[str], **spec) -> dict:
    doc = load_manifests(MANIFESTS / "logger-pod.yaml")[0]
    doc["metadata"]["name"] = name
    doc["spec"]["containers"][0]["command"] = command
    doc["spec"].update(spec)
    return doc


def save(name: str, namespace: str, pod_name: str) -> None:
    data = read_pod(pod_name, namespace, "default")
    data["metadata"].pop("managedFields", None)
    (HERE / f"{name}.json").write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print("recorded", name)


def main() -> None:
    forever = ["sleep", "infinity"]
    cases = {
        "running": pod("running", forever),
        "succeeded": pod("succeeded", ["sh", "-c", "exit 0"], restartPolicy="Never"),
        "failed-exit-3": pod("failed", ["sh", "-c", "exit 3"], restartPolicy="Never"),
        "crashloop": load_manifests(MANIFESTS / "crash-pod.yaml")[0],
        "missing-seccomp-profile": set_seccomp(pod("missing", forever), "Localhost",
                                               f"profiles/course-missing-{uuid.uuid4().hex[:6]}.json"),
        "image-never-pull": pod("noimage", forever),
        "unschedulable": pod("nowhere", forever, nodeSelector={"course.seccomp-lab/no-such-node": "true"}),
    }
    cases["image-never-pull"]["spec"]["containers"][0]["image"] = "course/not-built:latest"
    # restartPolicy Never, one container failed while its sibling keeps the pod Running
    cases["never-one-failed"] = pod("onefailed", ["sh", "-c", "exit 3"], restartPolicy="Never")
    cases["never-one-failed"]["spec"]["containers"].append(
        {**cases["never-one-failed"]["spec"]["containers"][0], "name": "keeps-running", "command": forever})
    with lab_namespace("record-status") as ns:
        for name, doc in cases.items():
            run_once = doc["spec"].get("restartPolicy") == "Never"
            outcome = run_pod(doc, ns, timeout=120, until="completed" if run_once else "ready")
            if name == "crashloop":   # wait for the second crash, so lastState holds the first run
                while outcome.reason != "CrashLoopBackOff" or read_pod(
                        doc["metadata"]["name"], ns, "default")["status"]["containerStatuses"][0]["restartCount"] < 2:
                    time.sleep(1)
                    outcome = run_pod(doc, ns)
            save(name, ns, doc["metadata"]["name"])
        slow = pod("initializing", forever, initContainers=[{
            "name": "slow", "image": "course/tools:latest", "imagePullPolicy": "Never", "command": ["sleep", "60"]}])
        apply_manifest(slow, ns)
        while "running" not in json.dumps(read_pod("initializing", ns, "default")["status"].get(
                "initContainerStatuses", [{}])[0].get("state", {})):
            time.sleep(0.5)
        save("initializing", ns, "initializing")


if __name__ == "__main__":
    main()
