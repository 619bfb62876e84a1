"""labs.seccomp.explain: advice for a denied syscall."""
from labs.seccomp import explain_denial


def test_dangerous_syscall_advice():
    result = explain_denial("mount")
    text = str(result)
    assert text.startswith("allow mount: add it to the names of the SCMP_ACT_ALLOW rule")
    assert "mount is dangerous because" in text and "CAP_SYS_ADMIN" in text
    assert (result.known, result.number, result.arch) == (True, 165, "x86_64")


def test_ordinary_syscall_advice():
    text = str(explain_denial("read"))
    assert "dangerous" not in text and "RuntimeDefault: allowed unconditionally" in text


def test_numbers_are_resolved_per_architecture():
    assert explain_denial(165).syscall == "mount"
    assert explain_denial(40, "aarch64").syscall == "mount"
    assert explain_denial(56, "aarch64").syscall == "openat"


def test_not_in_runtime_default():
    assert "RuntimeDefault refuses it too" in str(explain_denial("kexec_load"))


def test_unknown_names_get_suggestions():
    result = explain_denial("opne")
    assert not result.known and result.number is None
    assert "open" in result.suggestions
    assert str(result) == "'opne' is not a syscall on x86_64: did you mean 'open' or 'clone' or 'openat'?"
    assert "exists only on x86_64" in str(explain_denial("open", "aarch64"))


def test_html_and_json():
    result = explain_denial("ptrace")
    assert "<b>ptrace</b>" in result._repr_html_()
    assert result.to_dict()["danger"] == result.danger and result.danger
