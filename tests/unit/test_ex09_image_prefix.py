"""Exercise 09's grading pod on a cluster that pulls from a registry: with COURSE_IMAGE_PREFIX
set, every container (the learner's app containers and the grader's probe) names the prefixed
image and pulls IfNotPresent; without it, the kind-loaded images and Never (no registry asked)."""
from grader.exercises.ex09_capstone import app_pod, grading_pod
from labs.nodeops import IMAGE_PREFIX_ENV


def test_grading_pod_follows_the_image_prefix(monkeypatch):
    monkeypatch.setenv(IMAGE_PREFIX_ENV, "registry.example:5000/course")     # no trailing slash
    plain = {c["name"]: c["image"] for c in app_pod()["spec"]["containers"]}
    pod = grading_pod()
    containers = pod["spec"]["containers"]
    assert [c["name"] for c in containers] == [*plain, "probe"]
    for c in containers:
        assert c["image"].startswith("registry.example:5000/course/"), c
        assert c["imagePullPolicy"] == "IfNotPresent", c
    assert all(c["image"] == "registry.example:5000/course/" + plain[c["name"]]
               for c in containers if c["name"] in plain)


def test_grading_pod_without_a_prefix_uses_kind_loaded_images(monkeypatch):
    monkeypatch.delenv(IMAGE_PREFIX_ENV, raising=False)
    plain = {c["name"]: c["image"] for c in app_pod()["spec"]["containers"]}
    for c in grading_pod()["spec"]["containers"]:
        assert c["imagePullPolicy"] == "Never", c
        if c["name"] in plain:
            assert c["image"] == plain[c["name"]]
