"""The engine set-up and the images it builds, checked on the real engine."""
import json
import time
from concurrent.futures import ThreadPoolExecutor

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


def test_the_graders_request_waits_until_the_server_listens(lab_images, monkeypatch):
    """grader.checks.live.once_listening: a Ready pod's server may not listen yet on a slow
    machine; the grader's first request waits for the listen (read from /proc/net/tcp by the
    lab image's own sh and grep), then runs once."""
    from grader.checks import live

    late = ["sh", "-c", 'until [ -e /tmp/go ]; do sleep 0.2; done; exec nginx -g "daemon off;"']
    request = live.once_listening(80, ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1/"])
    with LabContainer.start(NGINX_IMAGE, command=late) as box, ThreadPoolExecutor(1) as pool:
        pending = pool.submit(box.exec, request)
        time.sleep(3)
        assert not pending.done(), pending.result()          # nothing listens: it waits
        box.exec(["touch", "/tmp/go"], check=True)
        answered = pending.result()
        assert (answered.returncode, answered.stdout) == (0, "200"), answered.stderr
        monkeypatch.setattr(live, "LISTEN_WAIT", 2)
        assert box.exec(live.once_listening(81, ["true"])).ok     # nothing ever on 81: runs anyway after the wait
