"""labs.syscalls: tables, arch mapping, descriptions, danger notes; the regeneration logic."""
import ctypes.util
import shutil

import pytest

import labs.syscalls as sc
from labs.data import regenerate_syscalls as regen
from labs.errors import ProfileError

# Kernel ABI anchors (from the kernel's syscall tables), independent of our generated files.
ANCHORS = {
    "x86_64": {"read": 0, "write": 1, "open": 2, "mount": 165, "execve": 59, "openat": 257, "clone3": 435},
    "aarch64": {"io_setup": 0, "openat": 56, "read": 63, "mount": 40, "execve": 221, "clone3": 435},
}
#: The syscalls the course calls dangerous (task brief), each must carry a reason.
MUST_BE_DANGEROUS = """mount umount2 unshare setns ptrace bpf keyctl add_key request_key kexec_load
kexec_file_load init_module finit_module delete_module open_by_handle_at name_to_handle_at pivot_root
chroot swapon swapoff reboot process_vm_readv process_vm_writev userfaultfd perf_event_open clone3 clone
iopl ioperm acct settimeofday clock_settime quotactl lookup_dcookie fanotify_init mount_setattr fsopen
fsmount move_mount open_tree personality vhangup syslog""".split()


@pytest.mark.parametrize("arch", sc.ARCHITECTURES)
def test_tables_round_trip(arch):
    names = sc.all_syscalls(arch)
    assert len(names) == len(set(names)) > 300
    numbers = [sc.syscall_number(n, arch) for n in names]
    assert len(set(numbers)) == len(numbers), "two names share a number"
    assert all(sc.syscall_name(sc.syscall_number(n, arch), arch) == n for n in names)


@pytest.mark.parametrize("arch", sc.ARCHITECTURES)
def test_kernel_abi_anchors(arch):
    for name, number in ANCHORS[arch].items():
        assert sc.syscall_number(name, arch) == number
        assert sc.syscall_name(number, arch) == name


def test_arch_maps_agree():
    assert set(sc.SCMP_ARCH) == set(sc.ARCHITECTURES)
    assert set(sc.AUDIT_ARCH.values()) == set(sc.ARCHITECTURES)
    assert set(sc.SCMP_ARCH.values()) <= sc.SCMP_ARCH_NAMES
    assert set(sc.COMPAT_ARCHITECTURES.values()) <= sc.SCMP_ARCH_NAMES


def test_unified_numbers_match_across_architectures():
    """Since Linux 5.1 new syscalls (>= 424) get one number on every architecture."""
    x86, arm = ({n: sc.syscall_number(n, a) for n in sc.all_syscalls(a)} for a in sc.ARCHITECTURES)
    shared = [n for n in x86 if n in arm and x86[n] >= 424]
    assert len(shared) > 40
    assert all(x86[n] == arm[n] for n in shared)


def test_arch_specific_names():
    assert sc.is_known("open", "x86_64") and not sc.is_known("open", "aarch64")
    assert sc.is_known("arch_prctl", "x86_64")
    assert "x86" in sc.architectures_knowing("chown32")
    assert sc.architectures_knowing("no_such_call") == []


def test_audit_spellings_are_aliases_not_names():
    assert sc.alias_of("pread", "x86_64") == "pread64"
    assert sc.alias_of("newfstat", "aarch64") == "fstat"
    assert not sc.is_known("pread", "x86_64")
    assert sc.suggest("pread", ["x86_64"])[0] == "pread64"


def test_unknown_number_and_name_raise_profile_errors():
    with pytest.raises(ProfileError, match="9999"):
        sc.syscall_name(9999, "x86_64")
    with pytest.raises(ProfileError) as err:
        sc.syscall_number("opne", "x86_64")
    assert "'open'" in err.value.fix
    with pytest.raises(ProfileError, match="exists only on x86_64"):
        sc.syscall_number("open", "aarch64")
    with pytest.raises(ProfileError, match="no syscall table"):
        sc.all_syscalls("mips")


@pytest.mark.parametrize("arch", sc.ARCHITECTURES)
def test_every_syscall_has_its_own_description(arch):
    generic = [n for n in sc.all_syscalls(arch)
               if sc.describe(n).startswith(("not a known", "architecture-specific", "32-bit ABI"))]
    assert generic == []
    assert all("\n" not in sc.describe(n) and len(sc.describe(n)) < 120 for n in sc.all_syscalls(arch))


def test_describe_variants_and_unknown():
    assert "chown" in sc.describe("chown32")
    assert sc.describe("clock_gettime64").startswith("32-bit ABI variant of clock_gettime")
    assert sc.describe("definitely_not") == "not a known syscall"


@pytest.mark.parametrize("name", MUST_BE_DANGEROUS)
def test_dangerous_syscalls_have_reasons(name):
    reason = sc.danger(name)
    assert reason and len(reason) > 20
    assert name in sc.dangerous_syscalls()


def test_ordinary_syscalls_are_not_dangerous():
    assert all(sc.danger(n) is None for n in ("read", "write", "openat", "futex", "exit_group"))
    assert sc.danger("clock_settime64") == sc.danger("clock_settime")


def test_unknown_syscall_hint():
    assert "'open'" in sc.unknown_syscall_hint("opne", ["x86_64"])
    assert "exists only on" in sc.unknown_syscall_hint("chown32", ["x86_64"])
    assert sc.unknown_syscall_hint("zzzzzz", ["x86_64"]).startswith("check the spelling")


def test_build_tables_merges_and_reports():
    audit = {0: "read", 17: "pread", 40: "only_audit"}
    seccomp = {0: "read", 17: "pread64", 41: "only_seccomp", 457: "statmount"}
    table, report = regen.build_tables(audit, seccomp, "x86_64")
    syscalls = table["syscalls"]
    assert syscalls["pread64"] == 17 and "pread" not in syscalls
    assert table["aliases"] == {"pread": "pread64"}
    assert syscalls["only_audit"] == 40 and syscalls["only_seccomp"] == 41
    assert syscalls["uretprobe"] == 335 and syscalls["mseal"] == 462
    assert "statmount" not in table["newer_than_sources"]  # libseccomp knew it here
    assert any("pread64" in line for line in report)
    assert list(syscalls.values()) == sorted(syscalls.values())


def test_build_tables_reports_conflicting_newer_number():
    _, report = regen.build_tables({}, {500: "mseal"}, "aarch64")
    assert any("NEWER_SYSCALLS says 462" in line for line in report)


@pytest.mark.skipif(shutil.which("ausyscall") is None, reason="auditd's ausyscall is not installed")
@pytest.mark.skipif(ctypes.util.find_library("seccomp") is None, reason="libseccomp2 is not installed")
def test_committed_tables_match_this_machines_sources(capsys):
    """ausyscall and libseccomp here still produce exactly the committed JSON."""
    code = regen.main(["--check"])
    assert code == 0, capsys.readouterr().out
