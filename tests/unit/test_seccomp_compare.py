"""labs.seccomp.compare: allowed sets, profile diffs, containerd's RuntimeDefault data."""
import pytest

from labs.seccomp import (
    allowed_syscalls,
    build_profile,
    compare_with_runtime_default,
    diff_profiles,
    runtime_default,
    runtime_default_syscalls,
)
from labs.syscalls import all_syscalls, architectures_knowing

X86 = ["SCMP_ARCH_X86_64"]


def test_allow_list_counts_allow_and_log_rules_only():
    profile = {"defaultAction": "SCMP_ACT_ERRNO", "architectures": X86, "syscalls": [
        {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["openat"], "action": "SCMP_ACT_LOG"},
        {"names": ["mount"], "action": "SCMP_ACT_ERRNO"},
        {"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 40, "op": "SCMP_CMP_NE"}]},
        {"names": ["close"], "action": "SCMP_ACT_ALLOW"}]}
    assert allowed_syscalls(profile) == {"read", "write", "openat", "socket", "close"}


def test_deny_list_allows_everything_but_unconditional_refusals():
    profile = {"defaultAction": "SCMP_ACT_ALLOW", "architectures": X86, "syscalls": [
        {"names": ["mount", "unshare"], "action": "SCMP_ACT_ERRNO"},
        {"names": ["personality"], "action": "SCMP_ACT_ERRNO",
         "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_NE"}]}]}
    allowed = allowed_syscalls(profile)
    assert allowed == set(all_syscalls("x86_64")) - {"mount", "unshare"}
    assert "personality" in allowed


def test_diff_profiles():
    old = build_profile(["read", "write", "mount"], include_runtime_startup=False)
    new = build_profile(["read", "write", "openat"], include_runtime_startup=False,
                        default_action="SCMP_ACT_KILL_PROCESS")
    diff = diff_profiles(old, new)
    assert (diff.added, diff.removed, diff.unchanged) == (["openat"], ["mount"], 2)
    assert diff.changed
    assert str(diff).splitlines() == ["defaultAction: SCMP_ACT_ERRNO -> SCMP_ACT_KILL_PROCESS", "+ openat", "- mount"]
    assert diff.to_dict()["added"] == ["openat"]
    assert not diff_profiles(old, old).changed and str(diff_profiles(old, old)) == "no change"


def test_staging_profile_runs_everything():
    staged = build_profile(["read"], staging=True)
    assert allowed_syscalls(staged) == set(all_syscalls("x86_64"))


def test_diff_html_is_coloured_escaped_and_flags_danger():
    old = build_profile(["read"], include_runtime_startup=False)
    new = build_profile(["read", "mount"], include_runtime_startup=False)
    page = diff_profiles(new, old)._repr_html_()
    assert "#ffebe9" in page and "- mount" in page and "dangerous" not in page
    page = diff_profiles(old, new)._repr_html_()
    assert "#e6ffec" in page and "+ mount" in page and "dangerous" in page and "host&#x27;s" in page


def test_runtime_default_data_is_consistent():
    data = runtime_default()
    names = data["syscalls"]
    unconditional = runtime_default_syscalls(unconditional_only=True)
    assert data["counts"] == {"names": len(names), "unconditional": len(unconditional),
                              "conditional": len(names) - len(unconditional)}
    assert len(names) == 426  # the count DESIGN.md measured for containerd's RuntimeDefault
    assert runtime_default_syscalls() == set(names)
    assert all(v["when"] for v in names.values() if v["allowed"] == "conditional")
    assert "containerd" in data["source"]["version"]
    assert names["read"]["allowed"] == "unconditional"
    assert any("CAP_SYS_ADMIN" in w for w in names["mount"]["when"])
    # names no table of ours knows belong to architectures we do not cover (s390, ppc, riscv, arm private)
    for name in (n for n in names if not architectures_knowing(n)):
        assert all(w.startswith("architecture ") for w in names[name]["when"]), name


def test_compare_with_runtime_default():
    profile = build_profile(["read", "mount", "kexec_load"], include_runtime_startup=False)
    result = compare_with_runtime_default(profile)
    baseline = {n for n in runtime_default_syscalls() if n in set(all_syscalls("x86_64"))}
    assert result.allowed == 3 and result.runtime_default == len(baseline)
    assert result.ratio == pytest.approx(3 / len(baseline), abs=1e-3)
    assert result.beyond_runtime_default == ["kexec_load"]
    assert set(result.dangerous_allowed) == {"mount", "kexec_load"}
    assert list(result.conditional_in_runtime_default) == ["mount"]
    assert "ratio 0.01" in str(result) and "kexec_load" in str(result)
    assert "ratio" in result._repr_html_()


def test_unconfined_style_profile_is_looser_than_runtime_default():
    result = compare_with_runtime_default({"defaultAction": "SCMP_ACT_ALLOW", "architectures": X86})
    assert result.ratio > 1
    assert "kexec_load" in result.beyond_runtime_default and "kexec_load" in result.dangerous_allowed
