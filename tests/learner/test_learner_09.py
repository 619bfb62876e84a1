"""Exercise 09 on the learner's path: lesson 09's own cells, then only what it showed.

The learner builds one profile per container from lesson 09's audit (the very app the grader
runs), narrows nginx's ``mkdir`` with lesson 04's argument filter, saves both with
``seccomp.write_profile``, writes the AppArmor profile the way lessons 06-07 teach, and builds
``app.yaml`` from the lesson's app with ``manifests.set_seccomp`` / ``set_apparmor``: the
calls the exercise section shows. Typical mistakes (instructor notes): the web profile reused
for the fetcher, one profile for the whole pod instead of one per container, and web's profile
straight from the audit (nginx's own mkdir at start leaves every mkdir allowed).
"""
from __future__ import annotations

import json

import pytest
import yaml

from grader.exercises.ex09_capstone import grading_pod
from labs import lessons
from labs.seccomp import allowed_syscalls, load_profile, write_profile

from .learner import assert_full_marks, assert_partial_with_hint, copy_submission, grade_one, learner_run

EXERCISE = "09-capstone"

#: what lessons 06-07 teach a learner to write for nginx (the base abstraction, file, network,
#: the capabilities nginx's master uses, writes under /etc denied)
APPARMOR = """#include <tunables/global>

profile course-capstone flags=(attach_disconnected,mediate_deleted) {
  #include <abstractions/base>
  file,
  network inet stream,
  network inet6 stream,
  network unix,
  capability chown,
  capability setuid,
  capability setgid,
  capability net_bind_service,
  capability dac_override,
  deny /etc/** w,
  deny mount,
}
"""

ANSWER = f'''
import yaml
web_profile = seccomp.build_profile(audit.syscalls["web"])
web_profile = seccomp.allow_only_with_argument(web_profile, "mkdir", index=1, value=0o700)
fetcher_profile = seccomp.build_profile(audit.syscalls["fetcher"])
seccomp.write_profile(web_profile, workspace / "web.json")
seccomp.write_profile(fetcher_profile, workspace / "fetcher.json")
(workspace / "capstone.apparmor").write_text({APPARMOR!r})
pod = manifests.load_manifests(lessons.asset("09", "app.yaml"))[0]
for c in ("web", "fetcher"):
    pod = manifests.set_seccomp(pod, "Localhost", f"profiles/{{c}}.json", container=c)
pod = manifests.set_apparmor(pod, "Localhost", "course-capstone")
(workspace / "app.yaml").write_text(yaml.safe_dump(pod, sort_keys=False))
'''


@pytest.fixture(scope="module")
def learner(tmp_path_factory, available):
    """One learner run shared by the tests below (the lesson takes minutes)."""
    return learner_run("09", ANSWER, tmp_path_factory, available)


def test_the_graded_app_is_the_lessons_app():
    """Fact 10: the pod the lesson audits is the pod the grader runs, container by container
    (the grader only adds its probe and shareProcessNamespace)."""
    (lesson_pod,) = yaml.safe_load_all(lessons.asset("09", "app.yaml").read_text())
    graded = {c["name"]: c for c in grading_pod()["spec"]["containers"]}
    assert set(graded) == {"web", "fetcher", "probe"}
    for container in lesson_pod["spec"]["containers"]:
        assert graded[container["name"]] == container
    assert "ln " not in json.dumps(grading_pod())


@pytest.mark.slow
def test_learner_following_lesson_09_earns_full_marks(learner):
    assert_full_marks(grade_one(EXERCISE, learner.submission(EXERCISE)))


@pytest.mark.slow
def test_web_profile_reused_for_the_fetcher_gets_partial_credit_and_the_per_container_hint(learner, tmp_path):
    mistake = copy_submission(learner.submission(EXERCISE), tmp_path / EXERCISE)
    (mistake / "fetcher.json").write_text((mistake / "web.json").read_text())
    assert_partial_with_hint(grade_one(EXERCISE, mistake), "runs", "audit.syscalls['fetcher']")


@pytest.mark.slow
def test_one_pod_level_profile_gets_partial_credit_and_the_own_profile_hint(learner, tmp_path):
    mistake = copy_submission(learner.submission(EXERCISE), tmp_path / EXERCISE)
    pod = yaml.safe_load((mistake / "app.yaml").read_text())
    for c in pod["spec"]["containers"]:
        c["securityContext"].pop("seccompProfile")
    pod["spec"]["securityContext"]["seccompProfile"] = {"type": "Localhost", "localhostProfile": "profiles/web.json"}
    (mistake / "app.yaml").write_text(yaml.safe_dump(pod))
    assert_partial_with_hint(grade_one(EXERCISE, mistake), "seccomp-per-container", "own securityContext")


@pytest.mark.slow
def test_mkdir_left_open_gets_partial_credit_and_the_argument_filter_hint(learner, tmp_path):
    mistake = copy_submission(learner.submission(EXERCISE), tmp_path / EXERCISE)
    web = load_profile(mistake / "web.json")
    names = sorted(allowed_syscalls(web) | {"mkdir"})   # what build_profile(audit.syscalls["web"]) gives
    write_profile(dict(web, syscalls=[{"names": names, "action": "SCMP_ACT_ALLOW"}]), mistake / "web.json")
    assert_partial_with_hint(grade_one(EXERCISE, mistake), "attack-denied", "argument filter")
