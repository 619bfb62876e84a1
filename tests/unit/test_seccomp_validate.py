"""labs.seccomp.validate: every malformed or hostile profile in tests/data/profiles/bad/ fails
with an error that names the JSON path (or line/column) and the problem."""
import json
from pathlib import Path

import pytest

from labs.errors import ProfileError
from labs.seccomp import MAX_PROFILE_BYTES, load_profile, profile_problems

PROFILES = Path(__file__).resolve().parent.parent / "data" / "profiles"
BAD = PROFILES / "bad"
GOOD = PROFILES / "good"

#: file -> (error path, substring of the message, substring of the fix or None)
EXPECTED = {
    "architectures-not-list.json": ("$.architectures", "must be a list, got a string", None),
    "arg-index-boolean.json": ("$.syscalls[0].args[0].index", "index must be an integer 0-5", None),
    "arg-index-out-of-range.json": ("$.syscalls[0].args[0].index", "got 6", None),
    "arg-missing-value.json": ("$.syscalls[0].args[0].value", "missing value", None),
    "arg-negative-value.json": ("$.syscalls[0].args[0].value", "unsigned 64-bit integer, got -1", None),
    "arg-unknown-op.json": ("$.syscalls[0].args[0].op", "unknown operator 'SCMP_CMP_EQUAL'", "'SCMP_CMP_EQ'"),
    "audit-name-alias.json": ("$.syscalls[0].names[1]", "unknown syscall 'pread'", "'pread64'"),
    "conflicting-duplicate.json": ("$.syscalls[1].names[0]", "read has conflicting actions", "one rule per syscall"),
    "deeply-nested.json": ("$", "nested too deeply", None),
    "default-action-not-string.json": ("$.defaultAction", "action must be a string, got an integer", None),
    "duplicate-key.json": ("$", "duplicate key 'defaultAction'", None),
    "empty-file.json": ("line 1, column 1", "invalid JSON", None),
    "empty-name-string.json": ("$.syscalls[0].names[1]", "empty syscall name", None),
    "empty-names.json": ("$.syscalls[0].names", "names is empty", None),
    "errnoret-string.json": ("$.syscalls[0].errnoRet", "errnoRet must be a non-negative integer", None),
    "errnoret-with-allow.json": ("$.syscalls[0].errnoRet", "only applies to SCMP_ACT_ERRNO", None),
    "invalid-json-single-quotes.json": ("line 1, column 2", "invalid JSON", None),
    "invalid-json-trailing-comma.json": ("line 4, column 1", "invalid JSON", "trailing comma"),
    "listener-without-notify.json": ("$.listenerPath", "no rule uses SCMP_ACT_NOTIFY", None),
    "missing-action.json": ("$.syscalls[0].action", "rule has no action", None),
    "missing-default-action.json": ("$.defaultAction", "missing defaultAction", "SCMP_ACT_LOG"),
    "misspelled-key.json": ("$.syscalls[0].nmaes", "unknown key 'nmaes'", "'names'"),
    "name-not-string.json": ("$.syscalls[0].names[1]", "syscall name must be a string", None),
    "names-not-list.json": ("$.syscalls[0].names", "names must be a list of strings", None),
    "nan-value.json": ("$", "NaN is not valid JSON", None),
    "not-an-object.json": ("$", "must be a JSON object, got a list", None),
    "not-utf8.json": ("$", "is not UTF-8 (byte 49 is 0xe9)", None),
    "notify-default.json": ("$.defaultAction", "SCMP_ACT_NOTIFY cannot be the default action", None),
    "notify-without-listener.json": ("$.listenerPath", "listenerPath is missing", None),
    "rule-not-object.json": ("$.syscalls[0]", "a rule must be an object", None),
    "syscall-32bit-only.json": ("$.syscalls[0].names[1]", "unknown syscall 'chown32' for x86_64", "exists only on x86"),
    "syscall-wrong-arch.json": ("$.syscalls[0].names[1]", "unknown syscall 'open' for aarch64", "exists only on x86_64"),
    "unknown-action.json": ("$.syscalls[1].action", "unknown action 'SCMP_ACT_ALLOWED'", "'SCMP_ACT_ALLOW'"),
    "unknown-architecture.json": ("$.architectures[0]", "unknown architecture 'SCMP_ARCH_X86_46'", "'SCMP_ARCH_X86_64'"),
    "unknown-default-action.json": ("$.defaultAction", "unknown action 'ALLOW'", "'SCMP_ACT_ALLOW'"),
    "unknown-flag.json": ("$.flags[0]", "unknown flag", "'SECCOMP_FILTER_FLAG_TSYNC'"),
    "unknown-syscall-typo.json": ("$.syscalls[0].names[2]", "unknown syscall 'opne'", "'open'"),
}


def test_every_bad_profile_has_an_expectation():
    assert sorted(p.name for p in BAD.iterdir()) == sorted(EXPECTED)
    assert len(EXPECTED) >= 20


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_profile_is_rejected_with_a_clear_error(name):
    path, message, fix = EXPECTED[name]
    with pytest.raises(ProfileError) as err:
        load_profile(BAD / name)
    assert err.value.path == path
    assert message in err.value.message
    assert str(err.value).startswith(f"{path}: ")
    if fix:
        assert fix in (err.value.fix or "")


@pytest.mark.parametrize("path", sorted(GOOD.iterdir()), ids=lambda p: p.name)
def test_good_profiles_load_unchanged(path):
    assert load_profile(path) == json.loads(path.read_text())
    assert profile_problems(json.loads(path.read_text())) == []


def test_sources_text_bytes_and_dict():
    text = '{"defaultAction": "SCMP_ACT_LOG"}'
    assert load_profile(text) == load_profile(text.encode()) == load_profile(json.loads(text))
    with pytest.raises(ProfileError, match="no profile file"):
        load_profile("does/not/exist.json")


def test_load_raises_first_problem_and_lists_the_others():
    profile = {"defaultAction": "SCMP_ACT_NOPE",
               "syscalls": [{"names": ["read", "wirte"], "action": "SCMP_ACT_ALLOW"},
                            {"names": ["mount"], "action": "SCMP_ACT_ERRNO", "errnoRet": -1}]}
    problems = profile_problems(profile)
    assert [p.path for p in problems] == ["$.defaultAction", "$.syscalls[0].names[1]", "$.syscalls[1].errnoRet"]
    with pytest.raises(ProfileError) as err:
        load_profile(profile)
    assert err.value.path == "$.defaultAction"
    assert [str(p) for p in err.value.problems] == [str(p) for p in problems]
    assert "also $.syscalls[0].names[1]: unknown syscall 'wirte'" in err.value.message
    assert "also $.syscalls[1].errnoRet" in err.value.message


def test_huge_file_is_refused_before_parsing(tmp_path):
    big = tmp_path / "big.json"
    big.write_text('{"defaultAction": "SCMP_ACT_LOG", "pad": "' + "x" * MAX_PROFILE_BYTES + '"}')
    with pytest.raises(ProfileError, match="over the 1048576-byte limit"):
        load_profile(big)
    with pytest.raises(ProfileError, match="over the"):
        load_profile(big.read_bytes())


def test_names_are_checked_against_the_profiles_architectures():
    multi = {"defaultAction": "SCMP_ACT_ERRNO",
             "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
             "syscalls": [{"names": ["chown32", "open"], "action": "SCMP_ACT_ALLOW"}]}
    assert profile_problems(multi) == []
    foreign = {"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_S390X"],
               "syscalls": [{"names": ["s390_runtime_instr"], "action": "SCMP_ACT_ALLOW"}]}
    assert profile_problems(foreign) == []  # no table for s390x: names are not judged


def test_same_name_same_action_or_conditional_rules_are_not_conflicts():
    profile = {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["read"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["read"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]},
        {"names": ["personality"], "action": "SCMP_ACT_ERRNO"}]}
    assert profile_problems(profile) == []


def test_legacy_single_name_rules_are_accepted():
    assert profile_problems({"defaultAction": "SCMP_ACT_ERRNO",
                             "syscalls": [{"name": "read", "action": "SCMP_ACT_ALLOW"}]}) == []
