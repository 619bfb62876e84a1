"""A profile must let the container runtime signal the container, or the kubelet cannot stop it."""

import pytest

from labs.apparmor import runtime_signal_problem, shipped_profiles
from labs.paths import REPO_ROOT

EXERCISES = REPO_ROOT / "labs" / "exercises"


def profile(*rules: str, flags: str = "attach_disconnected") -> str:
    return f"profile demo flags=({flags}) {{\n" + "".join(f"  {rule}\n" for rule in rules) + "}\n"


@pytest.mark.parametrize("rules", [
    ("#include <abstractions/base>",),
    ("include if exists <abstractions/base>",),
    ("signal (receive) peer=unconfined,",),
    ("signal,",),
    ("signal receive,",),
    ("signal (send, receive),",),
    ("signal (receive) set=(term, kill) peer=unconfined,",),
    ("signal (r) peer=unconfined,  # r is receive",),
    ("signal (send receive) peer=unconfined,",),
    ("allow signal receive,",),
    ("audit allow signal (receive) peer=\"unconfined\",",),
    ("signal (receive) peer={runc,unconfined},",),
    ("signal (receive)\n      peer=unconfined,",),
    ('#include "abstractions/base"',),
])
def test_rules_that_let_the_runtime_stop_the_container(rules):
    assert runtime_signal_problem(profile("file,", *rules)) == ""


@pytest.mark.parametrize("rules", [
    (),
    ("# #include <abstractions/base> is only a comment here",),
    ("# signal (receive) peer=unconfined,",),
    ("signal (send) peer=unconfined,",),
    ("signal (send, receive) peer=demo,",),
    ("signal (receive) set=(term) peer=unconfined,",),
    ("signal (receive) peer=runc,",),
    ("^hat {\n    #include <abstractions/base>\n  }",),
    ("profile child {\n    signal,\n  }",),
])
def test_profiles_the_kubelet_cannot_stop(rules):
    assert "Terminating" in runtime_signal_problem(profile("file,", *rules))


def test_a_deny_rule_wins_over_the_base_abstraction():
    problem = runtime_signal_problem(profile("#include <abstractions/base>", "deny signal (receive) peer=unconfined,"))
    assert problem.startswith("`deny signal (receive) peer=unconfined,`")


def test_a_multi_line_deny_rule_wins_too():
    rule = "deny signal (send receive)\n    peer=unconfined,"
    problem = runtime_signal_problem(profile("#include <abstractions/base>", rule))
    assert problem.startswith("`deny signal (send receive) peer=unconfined,`"), problem


def test_complain_mode_lets_signals_through():
    assert runtime_signal_problem(profile("file,", flags="complain,attach_disconnected")) == ""


def test_only_the_profiles_own_flags_count():
    child_in_complain = profile("file,", "profile child flags=(complain) {\n    file,\n  }")
    assert "Terminating" in runtime_signal_problem(child_in_complain)


def test_every_shipped_profile_and_reference_can_be_stopped():
    texts = {path.name: path.read_text() for path in shipped_profiles()}
    texts.update({str(p): p.read_text() for p in EXERCISES.glob("*/solution/*.apparmor")})
    assert len(texts) >= 7
    assert {name: runtime_signal_problem(text) for name, text in texts.items()
            if runtime_signal_problem(text)} == {}

