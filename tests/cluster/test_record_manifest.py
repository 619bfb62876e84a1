"""record_manifest on the kind cluster: lesson 03's nginx pod recorded (driven from the host
through kubectl port-forward, so the client is not recorded), then run under the profile it
produced: it serves with Seccomp: 2 and an exec'd probe outside its needs is refused."""
from labs.cluster import install_seccomp_profile, remove_seccomp_profile
from labs.lessons import asset
from labs.manifests import load_manifests, set_seccomp
from labs.paths import tools_dir
from labs.pods import exec_in_pod, run_pod
from labs.seccomp.record_cluster import record_manifest

PROFILE = "course-test-record-nginx.json"
# port-forward runs in the node's containerd, outside the pod's seccomp filter
DRIVE = (f"{tools_dir() / 'kubectl'} port-forward -n $NAMESPACE pod/$POD 18093:80 >/dev/null 2>&1 & pf=$!; "
         "for i in $(seq 50); do curl -fsS http://127.0.0.1:18093/ && break; sleep 0.2; done; r=$?; "
         "kill $pf; exit $r")


def test_record_manifest_produces_a_profile_the_pod_runs_under(default_cluster, namespace, tmp_path):
    lines: list[str] = []
    recording = record_manifest(asset("03", "nginx-audit.yaml"), drive=[DRIVE], out=tmp_path,
                                progress=lines.append)
    assert recording.status == "complete", recording.problems
    assert recording.platform == "cluster" and recording.runtime.startswith("containerd://")
    rows = {p.syscall: p for p in recording.provenance()}
    assert "requests" in rows["accept4"].phases and "runtime" in rows["capset"].phases
    assert any(p.phases.get("shutdown") for p in rows.values())
    assert "unshare" not in rows and (tmp_path / "profile.json").is_file()
    assert any("settled" in line for line in lines)

    install_seccomp_profile(PROFILE, recording.profile())
    try:
        pod = set_seccomp(load_manifests(asset("03", "nginx-audit.yaml"))[0], "Localhost", f"profiles/{PROFILE}")
        pod = set_seccomp(pod, "Localhost", f"profiles/{PROFILE}", container="nginx")
        outcome = run_pod(pod, namespace)
        assert outcome.ok, outcome
        status = exec_in_pod("nginx", namespace, ["cat", "/proc/1/status"])
        assert "Seccomp:\t2" in status.stdout, status
        probe = exec_in_pod("nginx", namespace, ["unshare", "--user", "true"])
        assert probe.returncode != 0 and "Operation not permitted" in probe.stderr, probe
    finally:
        remove_seccomp_profile(PROFILE)
