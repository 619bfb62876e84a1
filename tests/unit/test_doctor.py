"""labs.doctor's report logic: statuses, skipping engine-bound checks, text and HTML."""
from labs import doctor as doctor_module
from labs.doctor import Check, DoctorReport, doctor


def test_report_ok_only_without_failures():
    assert DoctorReport([Check("a", "ok", "fine"), Check("b", "warn", "meh", "do x")]).ok
    assert not DoctorReport([Check("a", "ok", "fine"), Check("b", "fail", "broken", "do y")]).ok


def test_text_shows_fix_only_for_problems():
    text = str(DoctorReport([Check("engine", "ok", "Docker 20.10", "never shown"),
                             Check("kind", "warn", "missing", "make cluster")]))
    assert "never shown" not in text
    assert "[WARN] kind: missing\n       fix: make cluster" in text


def test_html_is_a_checklist_with_escaped_text():
    page = DoctorReport([Check("seccomp", "fail", "<no log>", "sysctl -w a='b'")])._repr_html_()
    assert "❌" in page and "&lt;no log&gt;" in page and "sysctl -w a=&#x27;b&#x27;" in page


def test_no_engine_skips_engine_bound_checks(monkeypatch):
    calls = []

    def fake(name, status):
        def check():
            calls.append(name)
            return Check(name, status, "")
        return check

    monkeypatch.setattr(doctor_module, "CHECKS", [
        ("Docker engine", fake("Docker engine", "fail"), False),
        ("audit capture", fake("audit capture", "ok"), True),
        ("kernel seccomp", fake("kernel seccomp", "ok"), False),
    ])
    report = doctor()
    assert calls == ["Docker engine", "kernel seccomp"]
    assert [(c.name, c.status) for c in report.checks] == [
        ("Docker engine", "fail"), ("audit capture", "fail"), ("kernel seccomp", "ok")]
    assert report.checks[1].fix == "make engine"
    assert report.to_dict()["checks"][1]["detail"] == "skipped: no Docker engine"
