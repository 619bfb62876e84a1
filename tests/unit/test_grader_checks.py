"""Pure check logic: seccomp rule evaluation, AppArmor rule reading, manifest policy, engine outcomes."""
import pytest

from grader.checks import live
from grader.checks.apparmor import deny_write_rules, glob_matches, is_complain, uncovered_records
from grader.checks.seccomp import (
    effective_action,
    require_blocked_with_eperm,
    require_denies_by_default,
    require_honoured_by_containerd,
    require_size_within,
    silent_success,
    silent_success_in,
)
from grader.context import Exercise
from grader.engine import grade_folder
from grader.model import Check, NotChecked
from grader.policy import apply_graded_fields, graded_pod_fields, manifest_violations
from labs.errors import LabError, ProfileError

MKDIR_FILTERED = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
    {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 1, "value": 448, "op": "SCMP_CMP_NE"}]},
    {"names": ["mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}


def test_argument_conditions_decide_the_action():
    assert effective_action(MKDIR_FILTERED, "mkdir", (0, 0o777))[0] == "SCMP_ACT_ERRNO"
    assert effective_action(MKDIR_FILTERED, "mkdir", (0, 0o700))[0] == "SCMP_ACT_ALLOW"
    assert effective_action(MKDIR_FILTERED, "read")[0] == "SCMP_ACT_ALLOW"
    require_blocked_with_eperm(MKDIR_FILTERED, ("mkdir", "mkdirat"))


def test_wrong_errno_or_kill_is_not_eperm():
    profile = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
        {"names": ["mkdirat"], "action": "SCMP_ACT_KILL"}]}
    with pytest.raises(ProfileError, match="mkdir -> SCMP_ACT_ERRNO errno 13.*mkdirat -> SCMP_ACT_KILL"):
        require_blocked_with_eperm(profile, ("mkdir", "mkdirat"))


def test_rules_for_other_architectures_do_not_apply():
    profile = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "includes": {"arches": ["aarch64"]}}]}
    assert effective_action(profile, "mkdir", (0, 0o777), arch="x86_64")[0] == "SCMP_ACT_ALLOW"


def test_size_tolerance():
    reference = {f"s{i}" for i in range(50)}
    require_size_within(reference | {"x"}, reference, ratio=1.3, slack=8)
    with pytest.raises(ProfileError, match="allows 80 syscalls"):
        require_size_within(reference | {f"x{i}" for i in range(30)}, reference, ratio=1.3, slack=8)


def test_apparmor_globs_and_rules():
    assert glob_matches("/etc/**", "/etc/a/b") and not glob_matches("/etc/*", "/etc/a/b")
    assert glob_matches("/{usr/,}bin/sh", "/bin/sh") and glob_matches("/proc/@{pid}/status", "/proc/12/status")
    text = "profile p flags=(attach_disconnected, complain) {\n  audit deny /etc/** wl,\n  /var/** r,\n}\n"
    assert deny_write_rules(text) == ["deny /etc/** wl"]
    assert is_complain(text) and not is_complain(text.replace(", complain", ""))


def test_records_coverage_respects_permissions_and_denies():
    class R:
        def __init__(self, name, mask):
            self.name, self.requested_mask = name, mask
    text = "profile p {\n  /var/** r,\n  /tmp/** rw,\n  deny /tmp/secret w,\n}\n"
    missing = uncovered_records(text, [R("/var/x", "r"), R("/var/x", "w"), R("/tmp/a", "c"), R("/tmp/secret", "w")])
    assert missing == ["/tmp/secret (w)", "/var/x (w)"]


def _pod(spec, **meta):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", **meta}, "spec": spec}


def test_policy_names_every_violation():
    pod = _pod({"hostPID": True, "volumes": [{"name": "v", "hostPath": {"path": "/var/lib/kubelet/seccomp/x"}}],
                "containers": [{"name": "c", "securityContext": {
                    "privileged": True, "capabilities": {"add": ["CAP_SYS_ADMIN", "NET_BIND_SERVICE"]}}}]},
               namespace="kube-system")
    problems = " | ".join(manifest_violations([pod]))
    for phrase in ("namespace 'kube-system'", "hostPID", "hostPath", "privileged", "SYS_ADMIN"):
        assert phrase in problems
    assert "NET_BIND_SERVICE" not in problems.split("adds capabilities")[1].split("(")[0]
    assert manifest_violations([pod], allowed_host_paths=("/var/lib/kubelet/seccomp",)) != []
    safe = _pod({"volumes": [{"name": "v", "hostPath": {"path": "/var/lib/kubelet/seccomp/x"}}], "containers": []})
    assert manifest_violations([safe], allowed_host_paths=("/var/lib/kubelet/seccomp",)) == []
    sneaky = _pod({"volumes": [{"name": "v", "hostPath": {"path": "/var/lib/kubelet/seccomp/../../../etc"}}]})
    assert manifest_violations([sneaky], allowed_host_paths=("/var/lib/kubelet/seccomp",))


@pytest.mark.parametrize("value, words", [
    ("../../../etc/seccomp.json", "contains '..': the API server refuses it"),
    ("/var/lib/kubelet/seccomp/profiles/a.json", "must be a relative path"),
    ("a.json", "is not a file under profiles/"),
])
def test_policy_refuses_localhost_profiles_the_api_server_or_kubelet_would_not_take(value, words):
    container = _pod({"containers": [{"name": "c", "securityContext": {
        "seccompProfile": {"type": "Localhost", "localhostProfile": value}}}]})
    [problem] = manifest_violations([container])
    assert problem.startswith("Pod p: spec.containers[0].securityContext.seccompProfile.localhostProfile ")
    assert words in problem and "localhostProfile: profiles/audit.json" in problem
    pod_level = _pod({"securityContext": {"seccompProfile": {"type": "Localhost", "localhostProfile": value}},
                      "containers": [{"name": "c"}]})
    assert "spec.securityContext.seccompProfile.localhostProfile" in manifest_violations([pod_level])[0]
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                  "spec": {"template": {"spec": {"containers": [{"name": "c", "securityContext": {
                      "seccompProfile": {"type": "Localhost", "localhostProfile": value}}}]}}}}
    assert "spec.template.spec.containers[0].securityContext" in manifest_violations([deployment])[0]


def test_policy_accepts_profiles_under_profiles():
    ok = _pod({"containers": [{"name": "c", "securityContext": {
        "seccompProfile": {"type": "Localhost", "localhostProfile": "profiles/web.json"}}}]})
    assert manifest_violations([ok]) == []


def test_errno_ret_zero_is_flagged_as_silent_success():
    rule = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["read"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 0}]}
    with pytest.raises(ProfileError) as err:
        require_blocked_with_eperm(rule, ("mkdir", "mkdirat"))
    assert err.value.path == "$.syscalls[1].errnoRet"
    assert "report success" in err.value.message and "$.syscalls[1].errnoRet is 0 (mkdir, mkdirat)" in err.value.message
    default = {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 0,
               "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}
    with pytest.raises(ProfileError) as err:
        require_denies_by_default(default)
    assert err.value.path == "$.defaultErrnoRet" and "reports success" in err.value.message
    assert silent_success(default, ("mkdir", "read")) == ["$.defaultErrnoRet is 0 (mkdir)"]
    # a rule's SCMP_ACT_ERRNO without errnoRet is EPERM: defaultErrnoRet is for the default only
    ruled = dict(default, syscalls=[{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}])
    assert effective_action(ruled, "mkdir") == ("SCMP_ACT_ERRNO", None)
    require_blocked_with_eperm(ruled, ("mkdir", "mkdirat"))
    assert silent_success({"defaultAction": "SCMP_ACT_ERRNO"}) == []


def test_docker_only_conditions_are_named_for_kubernetes_grading():
    docker = {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["read"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}}]}
    with pytest.raises(ProfileError) as err:
        require_honoured_by_containerd(docker)
    assert err.value.path == "$.syscalls[1].includes" and "applies to every container" in err.value.message
    assert require_honoured_by_containerd({"defaultAction": "SCMP_ACT_ERRNO"})


class _Ctx:
    def __init__(self, profile):
        # the engine also memoises other things, e.g. why later checks were skipped (a dict)
        self.cache = {"profile:profile": (True, profile), "namespace": (True, "ns"), "not-checked-because": {}}

    def filename(self, role):
        return f"{role}.json"


def test_live_feedback_names_errno_ret_zero_instead_of_plain_success(monkeypatch):
    class Done:
        returncode, stdout, stderr = 0, "", ""

    monkeypatch.setattr(live, "exec_ok", lambda ctx, pod, container, command: Done())
    silent = {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 0,
              "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}
    with pytest.raises(LabError) as err:
        live.attack_denied(_Ctx(silent), "app", "app", ["mkdir", "/tmp/grader-probe"])
    assert "reported success, but your profile did refuse it with errno 0" in err.value.message
    assert "profile.json: $.defaultErrnoRet is 0 (mkdir, mkdirat)" in err.value.message
    unshare = silent_success_in(_Ctx(silent), ["unshare", "-U", "true"])
    assert unshare == "profile.json: $.defaultErrnoRet is 0 (unshare)"
    allowing = {"defaultAction": "SCMP_ACT_ALLOW"}
    with pytest.raises(LabError, match="succeeded under your profile"):
        live.attack_denied(_Ctx(allowing), "app", "app", ["mkdir", "/tmp/grader-probe"])


def test_only_graded_fields_reach_the_grader_template():
    submitted = _pod({"securityContext": {"runAsNonRoot": True, "sysctls": [{"name": "x", "value": "1"}]},
                      "containers": [{"name": "mine", "image": "evil:latest", "command": ["rm", "-rf", "/"],
                                      "securityContext": {"runAsUser": 1000, "procMount": "Unmasked"}}]},
                     annotations={"container.apparmor.security.beta.kubernetes.io/mine": "localhost/p", "other": "x"})
    template = {"metadata": {"name": "t"},
                "spec": {"containers": [{"name": "main", "image": "ours", "command": ["sleep"]}]}}
    pod = apply_graded_fields(template, graded_pod_fields(submitted), container_map={"main": "mine"})
    container = pod["spec"]["containers"][0]
    assert container["image"] == "ours" and container["command"] == ["sleep"]
    assert container["securityContext"] == {"runAsUser": 1000}
    assert pod["spec"]["securityContext"] == {"runAsNonRoot": True}
    assert pod["metadata"]["annotations"] == {"container.apparmor.security.beta.kubernetes.io/main": "localhost/p"}
    assert template["spec"]["containers"][0].get("securityContext") is None  # template untouched


def _exercise(*checks):
    return Exercise("t", "t", {"f": "f.txt"}, checks)


def test_engine_outcomes_and_points(tmp_path):
    def boom(ctx):
        raise RuntimeError("bug")

    def fails(ctx):
        raise LabError("nope", fix="do it")

    def skip(ctx):
        raise NotChecked("no cluster")
    exercise = _exercise(
        Check("a", "A", 2, lambda ctx: "fine"),
        Check("b", "B", 1, fails, hint="extra"),
        Check("c", "C", 1, lambda ctx: "x", needs=("b",)),
        Check("d", "D", 3, skip, live=True),
        Check("e", "E", 1, lambda ctx: "x", needs=("d",)),
        Check("f", "F", 1, boom),
        Check("g", "G", 1, lambda ctx: "x", live=True),
    )
    report = grade_folder(exercise, tmp_path, live=True)
    status = {c.id: c.status for c in report.checks}
    assert status == {"a": "passed", "b": "failed", "c": "failed", "d": "not_checked", "e": "not_checked",
                      "f": "error", "g": "passed"}
    assert report.score == 3 and report.max_score == 6 and report.possible == 10
    b = next(c for c in report.checks if c.id == "b")
    assert b.hint == "do it; extra"   # the fix and the check's pointer stay two sentences
    assert "not checked" in report._repr_html_() and "(2 checks worth 4 not checked here)" in report.summary()
    off = grade_folder(exercise, tmp_path, live=False)
    assert {c.id for c in off.checks if c.status == "not_checked"} == {"d", "e", "g"}
