"""The engine set-up and the images it builds, checked on the real engine."""
import json

from labs.docker_lab import LabContainer
from labs.host import privileged_works
from labs.images import BASE_IMAGE, COLLECTOR_IMAGE, LAB_IMAGES, NGINX_IMAGE, RECIPE_LABEL, TOOLS_IMAGE, recipe_hash
from labs.runner import run


def labels(ref):
    return json.loads(run(["docker", "image", "inspect", "-f", "{{json .Config.Labels}}", ref]).stdout) or {}


def test_privileged_containers_work(lab_images):
    works, output = privileged_works()
    assert works, output


def test_images_carry_their_recipe_hash(lab_images):
    assert labels(BASE_IMAGE)[RECIPE_LABEL] == recipe_hash()
    for name in LAB_IMAGES:
        assert lab_images[name] == f"{name}:{recipe_hash(name)}"
        assert labels(name)[RECIPE_LABEL] == recipe_hash(name)
        assert labels(name)["course.seccomp-lab/managed"] == "true"


def test_nginx_serves_and_logs_to_var_log_nginx(lab_images):
    with LabContainer.start(NGINX_IMAGE, publish={80: 0}) as nginx:
        assert "hello from the course nginx" in nginx.http_get(80, "/")
        access = nginx.exec(["cat", "/var/log/nginx/access.log"], check=True).stdout
        assert '"GET / HTTP/1.1" 200' in access
        assert nginx.exec(["pgrep", "-x", "nginx"]).ok          # procps is there


def test_collector_image_is_python_only(lab_images):
    with LabContainer.start(COLLECTOR_IMAGE, command=["sleep", "30"]) as box:
        assert box.exec(["python3", "-c", "import json, socket, struct"]).ok
        for tool in ("curl", "busybox", "nginx"):
            assert not box.exec(["sh", "-c", f"command -v {tool}"]).ok, tool


def test_tools_image_has_busybox_and_python(lab_images):
    with LabContainer.start(TOOLS_IMAGE, command=["sleep", "30"]) as box:
        assert "BusyBox" in box.exec(["busybox"]).stdout
        assert box.exec(["python3", "-c", "import os; os.getppid()"]).ok
