"""Audit first, enforce later, on plain Docker: audit nginx while driving it over 127.0.0.1,
build a least-privilege profile, enforce it, and meet the dependency trap."""
import pytest

from labs.audit import AuditCollector
from labs.docker_lab import LabContainer
from labs.errors import WorkloadFailed
from labs.images import NGINX_IMAGE
from labs.seccomp import (
    allow_only_with_argument,
    audit_profile,
    build_profile,
    compare_with_runtime_default,
    diff_profiles,
)

PAGE = "hello from the course nginx"
CURL = ["curl", "-sS", "http://127.0.0.1/"]
EPERM = "Operation not permitted"
# Syscalls nginx never makes: exec'd inside an enforced container they must be refused
OUTSIDE_NGINX = {"unshare": ["unshare", "--user", "true"], "fchmodat": ["chmod", "700", "/tmp"]}


@pytest.fixture(scope="module")
def nginx_calls(lab_images):
    """Syscalls of one audited nginx run, driven by HTTP requests on the published port."""
    with AuditCollector() as audit, LabContainer.start(NGINX_IMAGE, seccomp=audit_profile(), publish={80: 0}) as nginx:
        for path in ("/", "/", "/index.html"):
            assert PAGE in nginx.http_get(80, path)
        with pytest.raises(WorkloadFailed) as not_found:      # error paths count too
            nginx.http_get(80, "/missing")
        assert not_found.value.reason == "404"
        audit.wait_quiet()
        log = audit.log([nginx.id])
    assert log.lost == 0, log.warnings
    return {r.syscall for r in log.seccomp}


@pytest.fixture(scope="module")
def nginx_profile(nginx_calls):
    return build_profile(nginx_calls)


def test_audit_saw_nginx_serve(nginx_calls):
    assert {"accept4", "epoll_wait", "recvfrom", "openat", "execve"} <= nginx_calls
    assert "sendfile" in nginx_calls or "writev" in nginx_calls


def test_profile_is_a_small_fraction_of_runtime_default(nginx_profile):
    comparison = compare_with_runtime_default(nginx_profile)
    print(f"nginx profile: {comparison}")
    assert comparison.ratio <= 0.25


def test_enforced_nginx_answers_on_loopback(nginx_profile):
    with LabContainer.start(NGINX_IMAGE, seccomp=nginx_profile, publish={80: 0}) as nginx:
        assert PAGE in nginx.http_get(80, "/")
        assert nginx.state()["Running"]


def test_syscalls_outside_the_profile_fail_with_eperm(nginx_profile, nginx_calls):
    assert not set(OUTSIDE_NGINX) & nginx_calls
    with LabContainer.start(NGINX_IMAGE, seccomp=audit_profile()) as control:
        for command in OUTSIDE_NGINX.values():
            result = control.exec(command)
            assert result.ok, f"control run under the audit profile failed: {result}"
    with LabContainer.start(NGINX_IMAGE, seccomp=nginx_profile, publish={80: 0}) as nginx:
        nginx.http_get(80, "/")
        for command in OUTSIDE_NGINX.values():
            result = nginx.exec(command)
            assert result.returncode != 0 and EPERM in result.stderr, result


def test_mkdir_is_refused_once_narrowed_to_nginx_own_mode(nginx_profile, nginx_calls):
    # nginx creates its temp paths (client_body_temp, ...) with mkdir(path, 0700) at start-up,
    # so the audited profile keeps mkdir and an exec'd `mkdir` works ...
    assert "mkdir" in nginx_calls
    with LabContainer.start(NGINX_IMAGE, seccomp=nginx_profile) as nginx:
        assert nginx.exec(["mkdir", "/tmp/made-by-exec"]).ok
    # ... until the rule is narrowed to nginx's own mode: nginx still serves, `mkdir` (0777) fails
    narrowed = allow_only_with_argument(nginx_profile, "mkdir", index=1, value=0o700)
    with LabContainer.start(NGINX_IMAGE, seccomp=narrowed, publish={80: 0}) as nginx:
        assert PAGE in nginx.http_get(80, "/")
        result = nginx.exec(["mkdir", "/tmp/made-by-exec"])
    assert result.returncode != 0 and EPERM in result.stderr, result


def test_dependency_trap_exec_curl_needs_its_own_syscalls(nginx_profile, nginx_calls):
    with LabContainer.start(NGINX_IMAGE, seccomp=nginx_profile) as nginx:
        trapped = nginx.exec(CURL)
    assert trapped.returncode != 0 and PAGE not in trapped.stdout

    with AuditCollector() as audit, LabContainer.start(NGINX_IMAGE, seccomp=audit_profile()) as nginx:
        assert PAGE in nginx.exec(CURL, check=True).stdout
        audit.wait_quiet()
        curl_calls = {r.syscall for r in audit.log([nginx.id]).seccomp}
    rebuilt = build_profile(nginx_calls | curl_calls)
    added = diff_profiles(nginx_profile, rebuilt).added
    assert added, "curl needs syscalls nginx does not"
    print(f"curl added {len(added)} syscalls: {sorted(added)}")

    with LabContainer.start(NGINX_IMAGE, seccomp=rebuilt) as nginx:
        result = nginx.exec(CURL)
    assert result.ok and PAGE in result.stdout, result
