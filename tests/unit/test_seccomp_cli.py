"""python -m labs.seccomp: the instructor CLI."""
import json
from pathlib import Path

from labs.seccomp.__main__ import main

PROFILES = Path(__file__).resolve().parent.parent / "data" / "profiles"


def test_validate(capsys):
    good = sorted(str(p) for p in (PROFILES / "good").iterdir())
    assert main(["validate", *good]) == 0
    assert main(["validate", good[0], str(PROFILES / "bad" / "unknown-syscall-typo.json")]) == 1
    out = capsys.readouterr().out
    assert "INVALID" in out and "unknown syscall 'opne'" in out


def test_build_diff_compare_explain(tmp_path, capsys):
    names = tmp_path / "seen.txt"
    names.write_text("# observed\nread\nwrite\n\nopenat\n")
    out = tmp_path / "p.json"
    assert main(["build", str(names), "--no-runtime-startup", "--out", str(out)]) == 0
    assert json.loads(out.read_text())["syscalls"][0]["names"] == ["openat", "read", "write"]
    capsys.readouterr()
    counts = tmp_path / "counts.json"
    counts.write_text('{"read": 10, "mount": 1}')
    assert main(["build", str(counts), "--no-runtime-startup", "--staging"]) == 0
    printed = capsys.readouterr().out
    assert json.loads(printed)["defaultAction"] == "SCMP_ACT_LOG"
    assert main(["diff", str(out), str(PROFILES / "good" / "allowlist-x86_64.json")]) == 0
    assert "+ execve" in capsys.readouterr().out
    assert main(["compare", str(out)]) == 0
    assert "RuntimeDefault" in capsys.readouterr().out
    assert main(["explain", "165"]) == 0
    assert "allow mount" in capsys.readouterr().out


def test_errors_exit_1(tmp_path, capsys):
    names = tmp_path / "seen.txt"
    names.write_text("opne\n")
    assert main(["build", str(names)]) == 1
    assert "did you mean" in capsys.readouterr().err
