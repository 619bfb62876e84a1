"""labs.seccomp.build: least-privilege profiles from observed syscalls."""
import json
from collections import Counter

import pytest

from labs.errors import ProfileError
from labs.seccomp import (
    RUNTIME_STARTUP_REASONS,
    RUNTIME_STARTUP_SYSCALLS,
    allow_only_with_argument,
    allowed_syscalls,
    audit_profile,
    build_profile,
    load_profile,
    runtime_default_syscalls,
    write_profile,
)
from labs.syscalls import is_known

OBSERVED = ["write", "read", "openat", "epoll_wait", "accept4", "read"]


def test_one_sorted_allow_rule_and_deterministic_output():
    a = build_profile(OBSERVED, include_runtime_startup=False)
    b = build_profile(Counter(reversed(OBSERVED)), include_runtime_startup=False)
    assert a == b
    assert a == {"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
                 "syscalls": [{"names": sorted(set(OBSERVED)), "action": "SCMP_ACT_ALLOW"}]}
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def test_runtime_startup_syscalls_are_added():
    names = build_profile(OBSERVED)["syscalls"][0]["names"]
    assert set(OBSERVED) <= set(names)
    assert set(names) >= RUNTIME_STARTUP_SYSCALLS
    assert names == sorted(names)


def test_startup_syscalls_are_documented_and_known():
    assert set(RUNTIME_STARTUP_REASONS) == RUNTIME_STARTUP_SYSCALLS
    assert all(len(reason) > 15 for reason in RUNTIME_STARTUP_REASONS.values())
    assert {"execve", "capset", "prctl", "futex"} <= RUNTIME_STARTUP_SYSCALLS
    assert all(is_known(n, "x86_64") for n in RUNTIME_STARTUP_SYSCALLS)
    # RuntimeDefault containers start, so the default must allow all of them unconditionally.
    assert runtime_default_syscalls(unconditional_only=True) >= RUNTIME_STARTUP_SYSCALLS


def test_aarch64_drops_startup_names_it_does_not_have():
    profile = build_profile(["read"], architectures=["aarch64"])
    names = set(profile["syscalls"][0]["names"])
    assert profile["architectures"] == ["SCMP_ARCH_AARCH64"]
    assert "newfstatat" in names and "execve" in names
    assert all(is_known(n, "aarch64") for n in names)
    load_profile(profile)


def test_multi_arch_keeps_names_of_either_architecture():
    profile = build_profile(["open", "read"], architectures=["x86_64", "aarch64"], include_runtime_startup=False)
    assert profile["architectures"] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64"]
    assert profile["syscalls"][0]["names"] == ["open", "read"]


def test_staging_logs_instead_of_refusing():
    staged = build_profile(OBSERVED, staging=True, default_action="SCMP_ACT_KILL_PROCESS")
    assert staged["defaultAction"] == "SCMP_ACT_LOG"
    assert staged["syscalls"] == build_profile(OBSERVED)["syscalls"]


def test_unknown_names_are_all_reported_with_suggestions():
    with pytest.raises(ProfileError) as err:
        build_profile(["read", "opne", "chown32"])
    assert "chown32, opne" in err.value.message
    assert "'open'" in err.value.fix and "exists only on x86" in err.value.fix


@pytest.mark.parametrize("kwargs, words", [
    ({"default_action": "SCMP_ACT_ALLOW"}, "cannot enforce"),
    ({"default_action": "SCMP_ACT_DENY"}, "cannot enforce"),
    ({"architectures": ["SCMP_ARCH_X86_64"]}, "unsupported architectures"),
    ({"architectures": []}, "unsupported architectures"),
])
def test_bad_arguments(kwargs, words):
    with pytest.raises(ProfileError, match=words):
        build_profile(["read"], **kwargs)


def test_built_and_audit_profiles_validate():
    load_profile(build_profile(OBSERVED))
    assert load_profile(audit_profile()) == {"defaultAction": "SCMP_ACT_LOG"}


def test_write_profile_round_trips(tmp_path):
    profile = build_profile(OBSERVED)
    path = write_profile(profile, tmp_path / "sub" / "nginx.json")
    assert load_profile(path) == profile
    text = path.read_text()
    assert text.endswith("\n") and text == json.dumps(profile, indent=2, sort_keys=True) + "\n"


def test_write_profile_refuses_invalid_profiles(tmp_path):
    with pytest.raises(ProfileError, match="missing defaultAction"):
        write_profile({"syscalls": []}, tmp_path / "bad.json")
    assert not (tmp_path / "bad.json").exists()


def test_allow_only_with_argument_moves_the_syscall_into_a_conditional_rule():
    profile = build_profile(["mkdir", "read"], include_runtime_startup=False)
    narrowed = allow_only_with_argument(profile, "mkdir", index=1, value=0o700)
    unconditional = [r for r in narrowed["syscalls"] if not r.get("args")]
    assert all("mkdir" not in r["names"] for r in unconditional)
    assert {"names": ["mkdir"], "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 1, "value": 448, "op": "SCMP_CMP_EQ"}]} in narrowed["syscalls"]
    assert "read" in allowed_syscalls(narrowed)
    assert "mkdir" in profile["syscalls"][0]["names"], "the input profile is left unchanged"


def test_allow_only_with_argument_rejects_a_bad_index():
    with pytest.raises(ProfileError, match="index"):
        allow_only_with_argument(build_profile(["mkdir"]), "mkdir", index=9, value=0)
