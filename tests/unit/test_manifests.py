"""labs.manifests: loading, seccomp/AppArmor setters and readers, the Pod Security checker."""
import copy

import pytest

from labs.errors import ManifestError
from labs.manifests import (
    MANAGED_LABEL,
    apparmor_settings,
    apparmor_style,
    check_pod_security,
    containers,
    load_manifests,
    localhost_profile_problem,
    seccomp_settings,
    set_apparmor,
    set_seccomp,
    with_managed_label,
)


@pytest.fixture
def manifests(data_dir):
    return data_dir / "manifests"


@pytest.fixture
def pod(manifests):
    return load_manifests(manifests / "nginx-pod.yaml")[0]


# ------------------------------------------------------------------ loading

def test_loads_file_string_dict_and_multidoc(manifests, pod):
    assert pod["kind"] == "Pod" and pod["metadata"]["name"] == "web"
    as_text = load_manifests((manifests / "nginx-pod.yaml").read_text())
    assert as_text == [pod]
    assert load_manifests(str(manifests / "web-stack.yaml")) == load_manifests(manifests / "web-stack.yaml")
    assert [d["kind"] for d in load_manifests(manifests / "web-stack.yaml")] == ["ConfigMap", "Deployment", "Service"]
    assert load_manifests(pod) == [pod] and load_manifests(pod) [0] is not pod


def test_list_kind_is_expanded_and_empty_documents_skipped(pod):
    assert load_manifests({"apiVersion": "v1", "kind": "List", "items": [pod, pod]}) == [pod, pod]
    text = "---\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\n"
    assert [d["kind"] for d in load_manifests(text)] == ["ConfigMap"]


def test_broken_yaml_names_the_line(manifests):
    with pytest.raises(ManifestError) as err:
        load_manifests(manifests / "broken-indent.yaml")
    assert "line 8" in err.value.message and "broken-indent.yaml" in err.value.message
    assert "indentation" in err.value.fix


@pytest.mark.parametrize("doc, words, fix_words", [
    ({"apiVersion": "v1", "metadata": {"name": "x"}}, "no `kind`", "kind:"),
    ({"apiVersion": "v1", "kind": "Pod", "metadata": {}}, "no `metadata.name`", "name:"),
    ({"apiVersion": "v1", "kind": "Pdo", "metadata": {"name": "x"}}, "unsupported kind 'Pdo'", "kind: Pod"),
    ({"apiVersion": "v1", "kind": "Deployment", "metadata": {"name": "x"}}, "served as 'apps/v1'", "apps/v1"),
    ({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "Web_1"}}, "not a valid object name", "lowercase"),
    ({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}, "spec": {}}, "spec.containers", "at least one"),
    ({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"},
      "spec": {"containers": [{"name": "c"}]}}, "containers[0]", "image"),
])
def test_invalid_documents_say_what_to_fix(doc, words, fix_words):
    with pytest.raises(ManifestError) as err:
        load_manifests(doc)
    assert words in err.value.message
    assert fix_words in err.value.fix


def test_missing_file_and_non_mapping():
    with pytest.raises(ManifestError, match="does not exist"):
        load_manifests("no/such/pod.yaml")
    with pytest.raises(ManifestError, match="not a Kubernetes object"):
        load_manifests("- just\n- a list\n")
    with pytest.raises(ManifestError, match="no Kubernetes objects"):
        load_manifests("---\n")


def test_managed_label_reaches_pod_template(manifests):
    deployment = load_manifests(manifests / "web-stack.yaml")[1]
    labelled = with_managed_label(deployment)
    key, value = MANAGED_LABEL
    assert labelled["metadata"]["labels"][key] == value
    assert labelled["spec"]["template"]["metadata"]["labels"] == {"app": "web", key: value}
    assert "labels" not in deployment["metadata"]


# ------------------------------------------------------------------ seccomp

def test_seccomp_pod_level_then_container_override(pod):
    original = copy.deepcopy(pod)
    audited = set_seccomp(pod, "Localhost", "profiles/audit.json")
    assert pod == original, "setters must not modify their input"
    assert audited["spec"]["securityContext"]["seccompProfile"] == {
        "type": "Localhost", "localhostProfile": "profiles/audit.json"}
    assert [s.to_dict() for s in seccomp_settings(audited)] == [
        {"container": "nginx", "type": "Localhost", "localhost_profile": "profiles/audit.json", "source": "pod"}]
    both = set_seccomp(audited, "RuntimeDefault", container="nginx")
    setting = seccomp_settings(both)[0]
    assert (setting.type, setting.source, setting.localhost_profile) == ("RuntimeDefault", "container", None)


def test_seccomp_unset_means_node_default(pod):
    assert seccomp_settings(pod)[0].source == "none"


def test_seccomp_setter_rejects_bad_input(pod):
    with pytest.raises(ManifestError, match="RuntimeDefault"):
        set_seccomp(pod, "runtimedefault")
    with pytest.raises(ManifestError, match="needs localhost_profile"):
        set_seccomp(pod, "Localhost")
    with pytest.raises(ManifestError, match="relative"):
        set_seccomp(pod, "Localhost", "/var/lib/kubelet/seccomp/profiles/a.json")
    with pytest.raises(ManifestError, match="only used with type Localhost"):
        set_seccomp(pod, "RuntimeDefault", "profiles/a.json")
    with pytest.raises(ManifestError) as err:
        set_seccomp(pod, "RuntimeDefault", container="web")
    assert "'nginx'" in err.value.fix


@pytest.mark.parametrize("value, words", [
    ("../../etc/passwd", "contains '..': the API server refuses it (\"must not contain '..'\")"),
    ("profiles/../audit.json", "must not contain '..'"),
    ("/var/lib/kubelet/seccomp/profiles/audit.json", "must be a relative path"),
    ("audit.json", "is not a file under profiles/"),
    ("profiles/", "is not a file under profiles/"),
    ("", "is missing"),
])
def test_localhost_profile_must_descend_under_profiles(value, words):
    problem, fix = localhost_profile_problem(value)
    assert words in problem and "profiles/audit.json" in fix
    assert localhost_profile_problem("profiles/audit.json") is None
    assert localhost_profile_problem("profiles/grader-abc/web.json") is None


def test_loading_refuses_a_localhost_profile_the_api_server_would_refuse(pod):
    bad = copy.deepcopy(pod)
    bad["spec"]["containers"][0]["securityContext"] = {
        "seccompProfile": {"type": "Localhost", "localhostProfile": "../profiles/audit.json"}}
    with pytest.raises(ManifestError) as err:
        load_manifests(bad)
    assert "spec.containers[0].securityContext.seccompProfile.localhostProfile '../profiles/audit.json' " \
           "contains '..'" in err.value.message
    assert "localhostProfile: profiles/audit.json" in err.value.fix
    pod_level = copy.deepcopy(pod)
    pod_level["spec"]["securityContext"] = {"seccompProfile": {"type": "Localhost"}}
    with pytest.raises(ManifestError, match=r"spec.securityContext.seccompProfile.localhostProfile is missing"):
        load_manifests(pod_level)
    wrong_type = copy.deepcopy(pod)
    wrong_type["spec"]["securityContext"] = {
        "seccompProfile": {"type": "RuntimeDefault", "localhostProfile": "profiles/a.json"}}
    with pytest.raises(ManifestError, match="can only be set when seccomp type is Localhost"):
        load_manifests(wrong_type)
    with pytest.raises(ManifestError, match="must not contain"):
        set_seccomp(pod, "Localhost", "profiles/../../x.json")


def test_loading_refuses_a_bad_localhost_profile_in_a_workload_template(manifests):
    deployment = load_manifests(manifests / "web-stack.yaml")[1]
    deployment["spec"]["template"]["spec"]["securityContext"] = {
        "seccompProfile": {"type": "Localhost", "localhostProfile": "/etc/audit.json"}}
    with pytest.raises(ManifestError, match=r"spec\.template\.spec\.securityContext\.seccompProfile\.localhostProfile "
                                            r"'/etc/audit.json' is absolute"):
        load_manifests(deployment)


def test_seccomp_on_deployment_template(manifests):
    deployment = load_manifests(manifests / "web-stack.yaml")[1]
    out = set_seccomp(deployment, "RuntimeDefault")
    assert out["spec"]["template"]["spec"]["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    with pytest.raises(ManifestError, match="has no pods"):
        set_seccomp(load_manifests(manifests / "web-stack.yaml")[0], "RuntimeDefault")


# ------------------------------------------------------------------ AppArmor

def test_apparmor_field_pod_and_container(pod):
    assert apparmor_style(pod) == "none"
    out = set_apparmor(pod, "RuntimeDefault")
    assert out["spec"]["securityContext"]["appArmorProfile"] == {"type": "RuntimeDefault"}
    assert apparmor_style(out) == "field"
    out = set_apparmor(out, "Localhost", "course-nginx", container="nginx")
    setting = apparmor_settings(out)[0]
    assert (setting.type, setting.localhost_profile, setting.source) == ("Localhost", "course-nginx", "container-field")


def test_apparmor_annotation_style_and_switching(pod, manifests):
    out = set_apparmor(pod, "Localhost", "course-nginx", style="annotation")
    assert out["metadata"]["annotations"] == {
        "container.apparmor.security.beta.kubernetes.io/nginx": "localhost/course-nginx"}
    assert apparmor_style(out) == "annotation"
    assert apparmor_settings(out)[0].to_dict() == {
        "container": "nginx", "type": "Localhost", "localhost_profile": "course-nginx",
        "source": "annotation", "conflict": None}
    assert load_manifests(manifests / "apparmor-annotation-pod.yaml")[0]["metadata"]["annotations"] == \
        out["metadata"]["annotations"]
    back = set_apparmor(out, "RuntimeDefault", style="field")
    assert apparmor_style(back) == "field" and "annotations" not in back["metadata"]


def test_apparmor_conflict_between_field_and_annotation(pod):
    out = set_apparmor(pod, "Unconfined", style="annotation")
    out["spec"]["containers"][0]["securityContext"] = {"appArmorProfile": {"type": "RuntimeDefault"}}
    assert apparmor_style(out) == "both"
    setting = apparmor_settings(out)[0]
    assert setting.source == "container-field"
    assert "'unconfined'" in setting.conflict and "RuntimeDefault" in setting.conflict


def test_apparmor_setter_errors(pod):
    with pytest.raises(ManifestError, match="style"):
        set_apparmor(pod, "RuntimeDefault", style="annotations")
    with pytest.raises(ManifestError, match="needs localhost_profile"):
        set_apparmor(pod, "Localhost")


# ------------------------------------------------------------------ Pod Security

def checks(report):
    return sorted({(v.check, v.path) for v in report.violations})


def test_restricted_pod_passes_both_levels(manifests):
    doc = load_manifests(manifests / "restricted-pod.yaml")[0]
    assert check_pod_security(doc, "restricted").allowed
    assert check_pod_security(doc, "baseline").allowed


def test_default_pod_passes_baseline_and_lists_restricted_fixes(pod):
    assert check_pod_security(pod, "baseline").allowed
    report = check_pod_security(pod, "restricted")
    c = "spec.containers[0].securityContext"
    assert checks(report) == [
        ("allowPrivilegeEscalation", f"{c}.allowPrivilegeEscalation"),
        ("capabilities_restricted", f"{c}.capabilities.drop"),
        ("runAsNonRoot", f"{c}.runAsNonRoot"),
        ("seccompProfile", f"{c}.seccompProfile"),
    ]
    fixes = {v.check: v.fix for v in report.violations}
    assert fixes["allowPrivilegeEscalation"] == "set allowPrivilegeEscalation: false"
    assert "RuntimeDefault" in fixes["seccompProfile"] and '"ALL"' in fixes["capabilities_restricted"]
    assert "violates Pod Security 'restricted'" in str(report)


def test_privileged_pod_fails_baseline_with_every_reason(manifests):
    doc = load_manifests(manifests / "privileged-pod.yaml")[0]
    report = check_pod_security(doc, "baseline")
    assert checks(report) == [
        ("capabilities_baseline", "spec.containers[0].securityContext.capabilities.add"),
        ("hostNamespaces", "spec.hostNetwork"),
        ("hostNamespaces", "spec.hostPID"),
        ("hostPathVolumes", "spec.volumes[0].hostPath"),
        ("privileged", "spec.containers[0].securityContext.privileged"),
    ]
    restricted = {v.check for v in check_pod_security(doc, "restricted").violations}
    assert "restrictedVolumes" in restricted and "hostPathVolumes" not in restricted
    assert "capabilities_baseline" not in restricted and "capabilities_restricted" in restricted


def test_unconfined_profiles_and_annotations_break_baseline(pod):
    doc = set_seccomp(set_apparmor(pod, "Unconfined", style="annotation"), "Unconfined")
    report = check_pod_security(doc, "baseline")
    assert checks(report) == [
        ("appArmorProfile", "metadata.annotations[container.apparmor.security.beta.kubernetes.io/nginx]"),
        ("seccompProfile", "spec.securityContext.seccompProfile.type"),
    ]


def test_localhost_profiles_meet_restricted_on_a_deployment(manifests):
    deployment = load_manifests(manifests / "web-stack.yaml")[1]
    spec = deployment["spec"]["template"]["spec"]
    spec["securityContext"] = {"runAsNonRoot": True, "runAsUser": 101}
    spec["containers"][0]["securityContext"] = {"allowPrivilegeEscalation": False,
                                                "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}}
    doc = set_apparmor(set_seccomp(deployment, "Localhost", "profiles/nginx.json"), "Localhost", "course-nginx")
    assert check_pod_security(doc, "restricted").allowed
    spec = doc["spec"]["template"]["spec"]
    spec["containers"][0]["securityContext"]["runAsUser"] = 0
    spec["securityContext"]["sysctls"] = [{"name": "kernel.msgmax", "value": "1"}]
    assert checks(check_pod_security(doc, "restricted")) == [
        ("runAsUser", "spec.template.spec.containers[0].securityContext.runAsUser"),
        ("sysctls", "spec.template.spec.securityContext.sysctls[0]"),
    ]


def test_init_containers_are_checked_too(manifests):
    doc = load_manifests(manifests / "restricted-pod.yaml")[0]
    doc["spec"]["initContainers"] = [{"name": "setup", "image": "course/tools:latest"}]
    assert [c["name"] for c in containers(doc)] == ["setup", "tools"]
    paths = {v.path for v in check_pod_security(doc, "restricted").violations}
    assert paths == {"spec.initContainers[0].securityContext.allowPrivilegeEscalation",
                     "spec.initContainers[0].securityContext.capabilities.drop"}


def test_unknown_level():
    with pytest.raises(ManifestError, match="baseline"):
        check_pod_security({"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "x"}}, "strict")
