"""The host-safety rules for AppArmor profiles the course did not write (labs.apparmor.policy)."""
import pytest

from labs.apparmor import load_profile_on_nodes, profile_safety_problems, require_safe_profile, shipped_profiles
from labs.apparmor.nodes import foreign_profile_refusal
from labs.errors import ProfileError

GOOD = """#include <tunables/global>
profile course-web flags=(attach_disconnected,mediate_deleted,complain) {
  #include <abstractions/base>
  # a comment that says change_profile or ux is not a rule
  capability net_bind_service, setuid,
  deny capability sys_admin,
  /usr/sbin/nginx ix,
  /bin/** Pix,
  deny /etc/** w,
}
"""


def _only(text: str) -> ProfileError:
    problems = profile_safety_problems(text)
    assert len(problems) == 1, [p.message for p in problems]
    return problems[0]


def test_a_plain_profile_and_every_shipped_profile_are_safe():
    assert profile_safety_problems(GOOD) == []
    for path in shipped_profiles():
        assert profile_safety_problems(path.read_text()) == [], path


@pytest.mark.parametrize("line, words", [
    ("  /bin/sh ux,", "unconfined exec mode"),
    ("  /bin/sh Ux,", "unconfined exec mode"),
    ("  /bin/sh pux,", "unconfined exec mode"),
    ("  /bin/sh PUx,", "unconfined exec mode"),
    ("  /bin/sh cux,", "unconfined exec mode"),
    ("  /bin/sh CUx,", "unconfined exec mode"),
    ("  /bin/sh px -> unconfined,", "transition to unconfined"),
    ("  change_profile -> docker-default,", "change_profile"),
    ("  capability sys_admin,", "sys_admin"),
    ("  capability chown mac_admin,", "mac_admin"),
    ("  audit capability mac_override,", "mac_override"),
    ('  include "/etc/shadow"', "is not accepted"),
    ("  #include <abstractions/../../etc/shadow>", "is not accepted"),
    ("  ^hat { }", "hat"),
    ("  profile child { }", "child profile"),
])
def test_each_refused_rule_is_named_with_its_line(line, words):
    text = f"profile course-x {{\n{line}\n}}\n"
    problem = _only(text)
    assert words in problem.message and problem.path == "line 2", problem.message
    assert problem.fix


@pytest.mark.parametrize("header, words", [
    ("profile docker-default {", "already uses"),
    ("profile cri-containerd.apparmor.d {", "already uses"),
    ("profile course-x flags=(unconfined) {", "unconfined"),
])
def test_system_names_and_unconfined_flags_are_refused(header, words):
    assert words in _only(f"{header}\n  file,\n}}\n").message


def test_a_second_profile_and_a_name_loaded_on_the_host_are_refused():
    two = "profile course-a {\n}\nprofile course-b {\n}\n"
    assert "second profile" in _only(two).message
    assert "already uses" in profile_safety_problems("profile nvidia_modprobe {\n}\n",
                                                     system_profiles=["nvidia_modprobe"])[0].message


def test_require_safe_profile_raises_the_first_and_counts_the_rest():
    with pytest.raises(ProfileError, match=r"line 2: .*and 1 more"):
        require_safe_profile("profile course-x {\n  change_profile,\n  /bin/sh ux,\n}\n")


def test_the_course_replaces_or_removes_only_profiles_it_created():
    loaded = {"docker-default": "enforce", "course-nginx-deny-write": "enforce", "my-app": "complain",
              "/usr/bin/man": "enforce"}
    refusal = foreign_profile_refusal("docker-default", loaded, set(), "node n1", "replace")
    assert refusal and "did not create it" in refusal.message and "course-" in refusal.fix
    assert foreign_profile_refusal("/usr/bin/man", loaded, set(), "node n1", "remove")
    assert foreign_profile_refusal("my-app", loaded, set(), "node n1", "replace")
    assert foreign_profile_refusal("my-app", loaded, {"my-app"}, "node n1", "replace") is None  # ours
    assert foreign_profile_refusal("course-nginx-deny-write", loaded, set(), "node n1", "replace") is None
    assert foreign_profile_refusal("brand-new", loaded, set(), "node n1", "replace") is None  # not loaded


def test_loading_refuses_an_unsafe_profile_before_touching_any_node(tmp_path):
    with pytest.raises(ProfileError, match="change_profile"):
        load_profile_on_nodes("profile course-x {\n  change_profile,\n}\n", nodes=["no-such-node"])
