"""labs.seccomp.profile_summary: the compact view lessons print before using a profile, and the
"equivalent command" lines node helpers show (no Docker, no cluster)."""
from __future__ import annotations

import json

import pytest

from labs import seccomp
from labs.apparmor import nodes as aa
from labs.apparmor.nodes import apparmor_load_commands
from labs.cluster import nodes as cn
from labs.cluster.nodes import PROFILES_DIR, seccomp_install_commands
from labs.errors import LabError


def test_summary_shows_default_architectures_and_names():
    profile = seccomp.allow_only_with_argument(seccomp.build_profile(["openat", "mkdir"]), "mkdir",
                                               index=1, value=0o700)
    summary = seccomp.profile_summary(profile, title="nginx")
    text, markup = str(summary), summary._repr_html_()
    assert summary.default_action == "SCMP_ACT_ERRNO" and summary.architectures == ["SCMP_ARCH_X86_64"]
    assert "openat" in summary.allowed and "mkdir" in summary.allowed
    assert "arg1 == 0o700" in text and "arg1 == 0o700" in markup
    assert "is refused" in text and "nginx" in markup and "openat" in markup
    assert "*" in markup   # runtime start-up syscalls are marked
    assert json.loads(summary.json_text) == profile


def test_summary_of_the_audit_profile_and_of_a_file(tmp_path):
    summary = seccomp.profile_summary(seccomp.audit_profile())
    assert summary.rules == [] and "runs and is logged" in str(summary) and "no rules" in str(summary)
    path = seccomp.write_profile(seccomp.build_profile(["read"]), tmp_path / "p.json")
    assert seccomp.profile_summary(path).title == "p.json"
    assert "profile_summary" in seccomp.__all__


def test_summary_refuses_an_invalid_profile():
    with pytest.raises(LabError):
        seccomp.profile_summary({"defaultAction": "SCMP_ACT_NOPE"})


def test_node_helpers_name_the_commands_a_learner_types():
    assert seccomp_install_commands("a.json", ["n1"]) == [
        f"docker exec n1 mkdir -p {PROFILES_DIR}", f"docker cp a.json n1:{PROFILES_DIR}/a.json"]
    assert PROFILES_DIR == "/var/lib/kubelet/seccomp/profiles"
    assert apparmor_load_commands("p.profile", ["n1"], "complain") == [
        "docker exec -i n1 apparmor_parser --replace --skip-cache --Complain < p.profile"]


def test_load_and_install_return_the_nodes_and_show_what_they_did(monkeypatch, tmp_path):
    monkeypatch.setattr(aa, "_checked", lambda source, mode, node: ("profile course-x {\n}\n", "course-x"))
    monkeypatch.setattr(aa, "_load", lambda node, text, name, mode: None)
    source = tmp_path / "course-x"
    loaded = aa.load_profile_on_nodes(source, nodes=["n1", "n2"], mode="complain")
    assert loaded == ["n1", "n2"]
    assert "profile course-x" in loaded._repr_html_() and "--Complain" in loaded.explain()
    assert "apparmor_parser -r -W -C /etc/apparmor.d/course-x" in loaded.note

    written = []
    monkeypatch.setattr(cn, "write_node_file", lambda node, path, text: written.append((node, path, text)))
    monkeypatch.setenv("COURSE_WORKSPACE", str(tmp_path / "workspace"))
    monkeypatch.chdir(tmp_path)
    installed = cn.install_seccomp_profile("a.json", seccomp.audit_profile(), nodes=["n1"])
    assert installed == ["n1"] and written[0][1] == f"{PROFILES_DIR}/a.json"
    assert json.loads(installed.content) == seccomp.audit_profile()
    # the command names the copy kept in the workspace, a file the learner has
    assert f"docker cp workspace/profiles/a.json n1:{PROFILES_DIR}/a.json" in installed.explain()
    assert (tmp_path / "workspace" / "profiles" / "a.json").read_text() == installed.content


def test_a_read_only_workspace_shows_the_bare_file_name(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_WORKSPACE", str(tmp_path / "no-such-parent-file" / "workspace"))
    (tmp_path / "no-such-parent-file").write_text("a file where the folder would be")
    assert cn.keep_local_copy("a.json", "{}") == "a.json"
