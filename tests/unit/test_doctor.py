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


def _report(**statuses) -> DoctorReport:
    names = {"engine": "Docker engine", "privileged": "privileged containers", "apparmor": "AppArmor LSM"}
    return DoctorReport([Check(names[key], status, "") for key, status in statuses.items()])


def test_expected_capabilities_follow_the_checks_an_instructor_reads():
    assert doctor_module.expected_capabilities(_report(engine="ok", privileged="ok", apparmor="ok")) == {
        "engine", "cluster", "apparmor"}
    assert doctor_module.expected_capabilities(_report(engine="ok", privileged="ok", apparmor="warn")) == {
        "engine", "cluster"}
    assert doctor_module.expected_capabilities(_report(engine="ok", privileged="fail", apparmor="ok")) == {"engine"}
    assert doctor_module.expected_capabilities(_report(engine="fail", privileged="fail", apparmor="fail")) == set()


def test_report_ends_with_how_each_lesson_will_run(monkeypatch):
    monkeypatch.setattr(doctor_module, "CHECKS", [
        ("Docker engine", lambda: Check("Docker engine", "ok", ""), False),
        ("privileged containers", lambda: Check("privileged containers", "ok", ""), True),
        ("AppArmor LSM", lambda: Check("AppArmor LSM", "warn", "no LSM"), True),
    ])
    text = str(doctor())
    assert "Lessons on this machine" in text
    assert "04 Enforce a least-privilege profile: fully" in text
    assert "06 AppArmor basics: partly (missing: the AppArmor LSM" in text
