"""labs.engine: the argv each verb builds, the engine choice, and the fake that records them."""
from __future__ import annotations

import pytest

from labs import engine
from labs.engine import FakeEngine
from labs.errors import CommandError, EnvironmentProblem


def test_run_puts_flags_then_options_then_image_and_command():
    with FakeEngine() as fake:
        fake.answer("run", stdout="abc123\n")
        result = engine.run("course/nginx", ["sleep", "1"], name="course-x", detach=True,
                            labels=["a=b"], options=["--security-opt", "seccomp=unconfined"])
    assert result.stdout.strip() == "abc123"
    assert fake.argvs == [["docker", "run", "-d", "--name", "course-x", "--label", "a=b",
                           "--security-opt", "seccomp=unconfined", "course/nginx", "sleep", "1"]]


def test_the_engine_binary_comes_from_the_fake_or_the_environment(monkeypatch):
    with FakeEngine("podman") as fake:
        engine.rm("c1")
        assert engine.shown("exec", "n1", "ls") == "podman exec n1 ls"
    assert fake.argvs == [["podman", "rm", "-f", "c1"]]
    monkeypatch.setattr(engine, "_CHOSEN", engine._Chosen())
    monkeypatch.setenv(engine.ENGINE_ENV, "podman")
    assert engine.binary() == "podman"
    monkeypatch.setattr(engine, "_CHOSEN", engine._Chosen())
    monkeypatch.setenv(engine.ENGINE_ENV, "lxc")
    with pytest.raises(EnvironmentProblem, match="COURSE_ENGINE"):
        engine.binary()


def test_exec_with_input_keeps_stdin_open():
    with FakeEngine() as fake:
        engine.exec("node", ["sh", "-c", "cat > /f"], input="data")
        engine.exec("node", ["uname", "-m"])
    assert fake.calls == [(["docker", "exec", "-i", "node", "sh", "-c", "cat > /f"], "data"),
                          (["docker", "exec", "node", "uname", "-m"], None)]


def test_canned_answers_match_the_longest_prefix_and_failures_raise_only_when_checked():
    with FakeEngine() as fake:
        fake.answer("image", stdout="any")
        fake.answer("image", "inspect", returncode=1, stderr="No such image")
        assert engine.image_exists("x") is False
        assert engine.image_id("x") is None
        with pytest.raises(CommandError, match="docker tag a b"):
            fake.answer("tag", returncode=1)
            engine.tag("a", "b")


def test_image_label_and_id_read_the_inspect_format():
    with FakeEngine() as fake:
        fake.answer("image", "inspect", stdout="sha256:1\n")
        assert engine.image_id("img") == "sha256:1"
        fake.answer("image", "inspect", stdout="\n")
        assert engine.image_label("img", "course/recipe") is None
    assert fake.argvs[1] == ["docker", "image", "inspect", "--format",
                             '{{index .Config.Labels "course/recipe"}}', "img"]


def test_docker_build_falls_back_to_the_legacy_builder_without_buildx():
    with FakeEngine() as fake:
        fake.answer("buildx", returncode=1)
        engine.build("ctx", "course/x:1", build_args={"BASE": "b"}, labels=["l=1"], quiet=True)
        engine.build("ctx", "course/x:2")
    assert fake.argvs == [["docker", "buildx", "version"],   # asked once, then remembered
                          ["docker", "build", "-q", "--build-arg", "BASE=b", "--label", "l=1",
                           "-t", "course/x:1", "ctx"],
                          ["docker", "build", "-t", "course/x:2", "ctx"]]


def test_podman_builds_without_asking_for_buildx():
    with FakeEngine("podman") as fake:
        engine.build("ctx", "img")
    assert fake.argvs == [["podman", "build", "-t", "img", "ctx"]]


def test_port_pids_and_ps_parse_the_engine_output():
    with FakeEngine() as fake:
        fake.answer("port", stdout="127.0.0.1:49153\n")
        fake.answer("top", stdout="PID\n101\n102\n")
        fake.answer("ps", stdout="n1 running\nn2 exited\n")
        assert engine.port("c", 80) == 49153
        assert engine.pids("c") == [101, 102]
        assert engine.ps(all=True, filters=["label=k=v"], format="{{.Names}}") == ["n1 running", "n2 exited"]
    assert fake.argvs[0] == ["docker", "port", "c", "80/tcp"]
    assert fake.argvs[2] == ["docker", "ps", "-a", "--filter", "label=k=v", "--format", "{{.Names}}"]


def test_import_save_and_load_name_their_files():
    with FakeEngine() as fake:
        fake.answer("load", stdout="Loaded image: a:1\n")
        engine.import_image("/t/root.tar", "course/base:1", changes=["LABEL a=b", 'CMD ["/bin/bash"]'])
        engine.save("/t/x.tar", ["a:1", "b:2"])
        assert engine.load("/t/x.tar") == "Loaded image: a:1\n"
    assert fake.argvs == [["docker", "import", "--change", "LABEL a=b", "--change", 'CMD ["/bin/bash"]',
                           "/t/root.tar", "course/base:1"],
                          ["docker", "save", "-o", "/t/x.tar", "a:1", "b:2"],
                          ["docker", "load", "-i", "/t/x.tar"]]


def test_the_fake_restores_the_real_runner():
    before = engine._CHOSEN.runner
    with FakeEngine():
        assert engine._CHOSEN.runner is not before
    assert engine._CHOSEN.runner is before
