"""labs.seccomp.validate: every malformed or hostile profile in tests/data/profiles/bad/ fails
with an error that names the JSON path (or line/column) and the problem; every profile in
tests/data/profiles/good/ (and Docker's own default, from its Debian package) validates;
warnings and notes name what a valid profile does that its author may not mean."""
import json
import os
import shutil
from pathlib import Path

import pytest

from labs.data.regenerate_libseccomp_names import Resolver, collect
from labs.errors import ProfileError
from labs.seccomp import MAX_PROFILE_BYTES, explain_denial, load_profile, profile_problems
from labs.seccomp.__main__ import main as cli
from labs.seccomp.validate import CONTAINERD_IGNORED_KEYS, profile_warnings
from labs.syscalls import all_syscalls, is_syscall_name, libseccomp_architectures
from tests.data.profiles import make_containerd_default
from tests.data.profiles.packaged import PROFILES as PACKAGED
from tests.data.profiles.packaged import fetch as fetch_packaged

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
    "legacy-singular-name.json": ("$.syscalls[1].name", "containerd ignores the legacy singular \"name\"",
                                  '"names": ["exit_group"]'),
    "unknown-top-level-key.json": ("$.syscallz", "unknown key 'syscallz': containerd and runc ignore it", "'syscalls'"),
    "includes-unknown-key.json": ("$.syscalls[1].includes.capabilities", "unknown key 'capabilities'", "'caps'"),
    "min-kernel-format.json": ("$.syscalls[0].includes.minKernel", "minKernel must be a string", None),
    "archmap-and-architectures.json": ("$.archMap", "both architectures and archMap", "keep architectures"),
    "syscall-typo-other-arch.json": ("$.syscalls[0].names[1]", "unknown syscall 'riscv_hwprob': no architecture",
                                     "'riscv_hwprobe'"),
    "unknown-action.json": ("$.syscalls[1].action", "unknown action 'SCMP_ACT_ALLOWED'", "'SCMP_ACT_ALLOW'"),
    "unknown-architecture.json": ("$.architectures[0]", "unknown architecture 'SCMP_ARCH_X86_46'",
                                  "'SCMP_ARCH_X86_64'"),
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


@pytest.mark.parametrize("path", sorted(GOOD.glob("*.json")), ids=lambda p: p.name)
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


def test_legacy_single_name_is_an_error_containerd_drops_it():
    for rule in ({"name": "read", "action": "SCMP_ACT_ALLOW"},
                 {"name": "read", "names": ["write"], "action": "SCMP_ACT_ALLOW"}):
        problems = profile_problems({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [rule]})
        assert [p.path for p in problems] == ["$.syscalls[0].name"]
        assert "matches no syscall" in problems[0].message and '"names": ["read"]' in problems[0].fix


# ------------------------------------------------------------------ names of any architecture

def test_names_of_any_libseccomp_architecture_are_valid_typos_are_not():
    assert libseccomp_architectures("riscv_hwprobe") == ("riscv64",)
    assert "ppc64le" in libseccomp_architectures("sync_file_range2")
    assert "ppc64le" in libseccomp_architectures("swapcontext")
    assert libseccomp_architectures("riscv_hwprob") is None
    profile = {"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"], "syscalls": [
        {"names": ["read", "riscv_hwprobe", "sync_file_range2", "swapcontext"], "action": "SCMP_ACT_ALLOW"}]}
    assert profile_problems(profile) == []
    [note] = profile_warnings(profile, "x86_64")
    assert (note.level, note.kind, note.path) == ("note", "other-architecture", "$.syscalls[0].names")
    assert "riscv_hwprobe, sync_file_range2, swapcontext" in note.message and "runc skips them" in note.message


def test_the_course_tables_and_libseccomps_agree_on_x86_64_and_aarch64():
    for arch in ("x86_64", "aarch64"):
        newer = set(json.loads((Path(__file__).resolve().parents[2] / "labs" / "data" /
                                f"syscalls-{arch}.json").read_text())["newer_than_sources"])
        for name in all_syscalls(arch):
            assert is_syscall_name(name)
            if name not in newer and libseccomp_architectures(name) is not None:
                assert arch in libseccomp_architectures(name), (arch, name)


def test_this_machines_libseccomp_knows_no_name_the_committed_table_lacks():
    """The committed table (libseccomp 2.6.0) holds every name the machine's own libseccomp knows."""
    try:
        resolver = Resolver()
    except Exception as exc:  # noqa: BLE001 - no libseccomp here: nothing to compare with
        pytest.skip(f"libseccomp2 is not loadable here: {exc}")
    table, arches = collect(resolver)
    assert set(table) <= {n for n in table if is_syscall_name(n)}
    for name, where in table.items():
        assert set(where) <= set(libseccomp_architectures(name) or ()), (resolver.version, name)


def test_libseccomp_table_says_where_it_comes_from():
    data = json.loads((Path(__file__).resolve().parents[2] / "labs" / "data" / "libseccomp-syscalls.json").read_text())
    assert data["generated_by"].startswith("python -m labs.data.regenerate_libseccomp_names")
    assert "scmp_sys_resolver" in data["source"] and data["libseccomp_version"]
    assert {"x86_64", "aarch64", "riscv64", "ppc64le", "s390x"} <= set(data["architectures"])
    assert len(data["syscalls"]) > 450


# ------------------------------------------------------------------ real-world corpus

@pytest.mark.parametrize("packaged", PACKAGED, ids=lambda p: p.package)
def test_packaged_real_world_profile_validates(packaged):
    path = packaged.find()
    if path is None and os.environ.get("CI") and shutil.which("apt-get"):
        try:  # CI machines reach Debian's archive: unpack the one file (about 1 MB download)
            path = fetch_packaged(packaged)
        except Exception as exc:  # noqa: BLE001 - no archive here: same as not installed
            pytest.skip(f"{packaged.missing_reason} (fetching it failed: {exc})")
    if path is None:
        pytest.skip(packaged.missing_reason)
    profile = load_profile(path)
    assert profile_problems(profile) == []
    warnings = profile_warnings(profile, "x86_64")
    kinds = {w.kind for w in warnings}
    # Docker's format: archMap and capability conditions, which containerd drops
    assert "ignored-by-containerd" in kinds
    assert any(w.path == "$.archMap" for w in warnings)


def test_containerd_default_profile_is_generated_from_the_course_data():
    assert make_containerd_default.main(["--check"]) == 0
    profile = load_profile(make_containerd_default.OUTPUT)
    allowed = profile["syscalls"][0]["names"]
    assert {"read", "chroot", "arch_prctl"} <= set(allowed) and "mount" not in allowed
    assert profile["architectures"] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]


def test_good_corpus_has_the_real_world_shapes():
    names = {p.name for p in GOOD.glob("*.json")}
    assert {"k8s-tutorial-audit-shape.json", "k8s-tutorial-violation-shape.json",
            "k8s-tutorial-fine-grained-shape.json", "spo-base-profile-shape.json",
            "containerd-runtime-default-amd64.json", "docker-format-features.json"} <= names
    assert "golang-github-docker-docker-dev" in (PROFILES / "README.md").read_text()


# ------------------------------------------------------------------ warnings

def _kinds(profile, arch="x86_64"):
    return [(w.path, w.kind, w.level) for w in profile_warnings(profile, arch)]


def test_default_allow_or_log_allows_everything():
    for action in ("SCMP_ACT_ALLOW", "SCMP_ACT_LOG"):
        [warning] = profile_warnings({"defaultAction": action})
        assert (warning.path, warning.kind) == ("$.defaultAction", "allows-everything")
        assert "allows everything" in warning.message and action in warning.message
    deny = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mount"], "action": "SCMP_ACT_ERRNO"}]}
    assert _kinds(deny) == [("$.defaultAction", "deny-list", "warning")]
    assert profile_warnings({"defaultAction": "SCMP_ACT_ERRNO"}) == []


def test_dangerous_syscalls_allowed_are_named_unless_argument_conditioned():
    profile = {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["read", "mount", "bpf"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]},
        {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "comment": "debugger sidecar"}]}
    warnings = profile_warnings(profile)
    assert [(w.path, w.kind) for w in warnings] == [("$.syscalls[0].names", "dangerous"),
                                                     ("$.syscalls[2].names", "dangerous")]
    assert "mount (" in warnings[0].message and "bpf (" in warnings[0].message and "read" not in warnings[0].message
    assert 'comment says: "debugger sidecar"' in warnings[1].message


def test_errno_ret_zero_is_a_silent_success():
    profile = {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 0, "syscalls": [
        {"names": ["read"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 0}]}
    assert profile_problems(profile) == []
    warnings = [w for w in profile_warnings(profile) if w.kind == "silent-success"]
    assert [w.path for w in warnings] == ["$.defaultErrnoRet", "$.syscalls[1].errnoRet"]
    assert "believes it succeeded" in warnings[0].message
    assert "mkdir, mkdirat will be refused but report success" in warnings[1].message


def test_docker_only_keys_containerd_ignores():
    profile = json.loads((GOOD / "docker-format-features.json").read_text())
    kinds = _kinds(profile)
    ignored = [path for path, kind, _ in kinds if kind == "ignored-by-containerd"]
    # capability and kernel conditions always matter; arch_prctl for amd64 applies on x86_64 anyway
    assert ignored == ["$.archMap", "$.syscalls[1].includes", "$.syscalls[3].excludes", "$.syscalls[4].includes"]
    assert "applies to every container" in CONTAINERD_IGNORED_KEYS["includes"]
    # a rule Docker applies only on arm: containerd applies it on x86_64 too, where breakpoint does not exist
    arm_only = {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["breakpoint"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["arm", "arm64"]}},
        {"names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["s390x"]}}]}
    assert _kinds(arm_only) == [("$.syscalls[1].includes", "ignored-by-containerd", "warning")]


def test_notify_needs_an_agent():
    profile = json.loads((GOOD / "notify.json").read_text())
    [agent] = [w for w in profile_warnings(profile) if w.kind == "needs-agent"]
    assert agent.path == "$.listenerPath" and "failed to connect with seccomp agent" in agent.message


def test_names_other_architectures_lack_are_notes_for_the_listed_or_node_architecture():
    chown32 = json.loads((GOOD / "other-arch-32bit-name.json").read_text())
    assert _kinds(chown32, "x86_64") == [("$.syscalls[0].names", "other-architecture", "note")]
    listed = dict(chown32, architectures=["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"])
    assert _kinds(listed, "x86_64") == []
    open_arm = json.loads((GOOD / "other-arch-open-on-aarch64.json").read_text())
    [note] = profile_warnings(open_arm, "aarch64")
    assert "not syscalls on aarch64: open;" in note.message


# ------------------------------------------------------------------ CLI

def test_cli_prints_warnings_and_exits_zero(capsys):
    assert cli(["validate", "--arch", "x86_64", str(GOOD / "docker-format-features.json"),
                str(GOOD / "audit.json")]) == 0
    out = capsys.readouterr().out
    assert "ok      " in out and "valid, but read them" in out
    assert "  warning: $.archMap: containerd ignores archMap" in out
    assert "  warning: $.defaultAction: this profile allows everything" in out
    assert "  note: $.syscalls[0].names: not syscalls on" in out


def test_cli_invalid_exits_one(capsys):
    assert cli(["validate", str(BAD / "legacy-singular-name.json")]) == 1
    assert "INVALID" in capsys.readouterr().out


def test_explain_knows_names_of_every_architecture():
    assert str(explain_denial("riscv_hwprobe")) == ("'riscv_hwprobe' is not a syscall on x86_64: riscv_hwprobe "
                                                    "exists only on riscv64, not on x86_64")
    assert explain_denial("riscv_hwprob").suggestions == ["riscv_hwprobe"]


def test_keys_in_another_case_are_named_accurately():
    [problem] = profile_problems({"defaultAction": "SCMP_ACT_ERRNO",
                                  "syscalls": [{"Names": ["read"], "action": "SCMP_ACT_ALLOW"}]})[:1]
    assert problem.path == "$.syscalls[0].Names"
    assert "Go's JSON decoder (containerd, Docker) accepts the other case" in problem.message
    assert problem.fix == "write 'names'"
