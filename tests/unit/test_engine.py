"""labs.engine: the argv each verb builds, the engine choice, and the fake that records them."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from labs import engine, host
from labs.audit import collector_command
from labs.cluster import apparmor_image as node_image
from labs.cluster import nodeimage
from labs.docker_lab import LabContainer
from labs.engine import FakeEngine
from labs.errors import CommandError, EnvironmentProblem, WorkloadFailed
from labs.nodeops.kind import KindNodeOps


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


# -- call sites: what each module asks the engine to run -----------------------------------------
def test_a_lab_container_starts_labelled_with_its_profile_and_ports(tmp_path):
    with FakeEngine() as fake:
        fake.answer("run", stdout="c0ffee\n")
        fake.answer("inspect", stdout='{"Status": "running", "ExitCode": 0}')
        fake.answer("port", stdout="127.0.0.1:40001\n")
        box = LabContainer.start("course/nginx", seccomp="unconfined", name="course-t", publish={80: 0})
        assert box.host_port(80) == 40001
        box.stop()
    run = fake.argvs[0]
    assert run[:4] == ["docker", "run", "-d", "--name"] and run[-1] == "course/nginx"
    assert run[run.index("--security-opt"):][:2] == ["--security-opt", "seccomp=unconfined"]
    assert "127.0.0.1::80" in run and "course.seccomp-lab/managed=true" in run
    assert fake.argvs[1:] == [["docker", "inspect", "--format", "{{json .State}}", "c0ffee"],
                              ["docker", "port", "c0ffee", "80/tcp"], ["docker", "rm", "-f", "c0ffee"]]


def test_a_lab_container_that_cannot_start_is_removed_and_explained():
    with FakeEngine("podman") as fake, pytest.raises(WorkloadFailed, match="did not start") as raised:
        fake.answer("run", returncode=125, stderr="Error: No such image: course/x")
        LabContainer.start("course/x", name="course-t")
    assert fake.argvs[-1] == ["podman", "rm", "-f", "course-t"]
    assert raised.value.fix == "build the lab images first: `make images`"


def test_the_collector_runs_on_the_host_network_with_audit_read_only():
    with FakeEngine("podman"):
        argv = collector_command("course-docker-audit-1", "/tmp/out", image="course/collector")
    assert argv[:5] == ["podman", "run", "-d", "--name", "course-docker-audit-1"]
    assert {"--net=host", "--pid=host", "AUDIT_READ", "NET_ADMIN", "/tmp/out:/out"} <= set(argv)
    assert "--privileged" not in argv
    assert argv[argv.index("course/collector"):] == ["course/collector", "python3", "-u",
                                                     "/usr/local/bin/collector", "/out/records.jsonl"]


def test_kind_node_ops_exec_with_stdin_and_show_the_engine_a_learner_has():
    ops = KindNodeOps("default")
    with FakeEngine("podman") as fake:
        ops.run("n1", ["cat", "/f"])
        assert ops.shown("n1", ["apparmor_parser", "-r"], stdin="p.profile") == \
            "podman exec -i n1 apparmor_parser -r < p.profile"
    assert fake.calls == [(["podman", "exec", "-i", "n1", "cat", "/f"], b"")]


def test_tools_are_copied_out_of_a_created_container_that_is_then_removed(tmp_path):
    with FakeEngine() as fake:
        fake.answer("create", stdout="tmp1\n")
        nodeimage._copy_tools_from_image("kindest/node:v1", ["kubectl"], tmp_path)
    assert fake.argvs == [["docker", "create", "--label", "course.seccomp-lab/managed=true", "kindest/node:v1"],
                          ["docker", "cp", f"tmp1:{nodeimage.TOOL_PATHS['kubectl']}", str(tmp_path / "kubectl")],
                          ["docker", "rm", "tmp1"]]


def test_the_apparmor_node_image_is_rebuilt_only_for_a_new_recipe():
    digest = node_image.apparmor_node_recipe_hash("sha256:base")
    with FakeEngine() as fake:
        fake.answer("image", "inspect", "{{.Id}}", "n:v1", stdout="sha256:base\n")
        fake.answer("image", "inspect", "{{.Id}}", "n:v1-apparmor", stdout="sha256:old\n")
        fake.answer("image", "inspect", "n:v1-apparmor", stdout=f"{digest}\n")   # its recipe label: current
        assert node_image.ensure_apparmor_node_image("n:v1", progress=lambda m: None) == "n:v1-apparmor"
        assert not [a for a in fake.argvs if a[1] == "build"]
        fake.answer("image", "inspect", "n:v1-apparmor", stdout="0123456789ab\n")  # another recipe: rebuild
        node_image.ensure_apparmor_node_image("n:v1", progress=lambda m: None)
    build = next(a for a in fake.argvs if a[1] == "build")
    assert build[-3:] == ["-t", "n:v1-apparmor", str(node_image.RECIPE_DIR)]
    assert build[build.index("--build-arg"):][:2] == ["--build-arg", "BASE=n:v1"]
    assert fake.argvs[-1] == ["docker", "rmi", "sha256:old"]


def test_privileged_probe_runs_the_probe_images_own_command(monkeypatch):
    with FakeEngine() as fake:
        fake.answer("image", "inspect", returncode=1)           # no course/base
        fake.answer("image", "inspect", "course/probe:host", stdout="/usr/bin/true\n")
        fake.answer("run", returncode=1, stderr="unable to apply caps")
        assert host.privileged_works() == (False, "unable to apply caps")
    assert fake.argvs[-1] == ["docker", "run", "--rm", "--privileged", "course/probe:host", "/usr/bin/true"]


# -- structure: nobody else spells out the engine ------------------------------------------------
ROOT = Path(__file__).resolve().parents[2]
#: Files still allowed to name the engine binary, each with its reason (shrink this list).
ENGINE_SPELLED_OUT = {
    "labs/engine.py": "the one place that runs the engine",
}


def engine_spellings(tree: ast.AST) -> list[int]:
    """Lines that use "docker" as a command: an argv list starting with it, a PATH lookup of
    it, or a string (an f-string's text too) that starts with ``docker `` (a command shown).
    "docker" as a name (a capability, a recording's platform) is not a command."""
    return sorted({node.lineno for node in ast.walk(tree) if _names_the_engine(node)})


def _names_the_engine(node: ast.AST) -> bool:
    if isinstance(node, ast.List):
        return bool(node.elts) and _is_docker(node.elts[0])
    if isinstance(node, ast.Call):
        called = getattr(node.func, "attr", getattr(node.func, "id", None))
        return called in ("which", "require_tool") and any(_is_docker(a) for a in node.args)
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("docker ")


def _is_docker(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and node.value == "docker"


def test_the_finder_sees_each_way_of_spelling_the_engine():
    code = 'run(["docker", "ps"])\nshutil.which("docker")\nx = f"docker exec {n} ls"\nCAP = {"docker"}\n'
    assert engine_spellings(ast.parse(code)) == [1, 2, 3]


def test_only_labs_engine_runs_the_engine_binary():
    found = {}
    for path in sorted([*ROOT.glob("labs/**/*.py"), *ROOT.glob("grader/**/*.py")]):
        rel = path.relative_to(ROOT).as_posix()
        lines = engine_spellings(ast.parse(path.read_text()))
        if lines and rel not in ENGINE_SPELLED_OUT:
            found[rel] = lines
    assert found == {}, "run the engine through labs.engine (engine.run/exec/inspect/..., engine.shown)"


def test_outside_labs_engine_docker_is_not_even_a_name():
    """Issue 10's grep: a "docker" string (a capability, a tool's install hint) outside
    labs/engine.py is how engine knowledge starts spreading again."""
    sources = [path for path in [*ROOT.glob("labs/**/*.py"), *ROOT.glob("grader/**/*.py")]
               if path.relative_to(ROOT).as_posix() not in ENGINE_SPELLED_OUT]
    found = {path.relative_to(ROOT).as_posix(): line for path in sources
             for line, text in enumerate(path.read_text().splitlines(), 1) if '"docker"' in text}
    assert found == {}


def test_every_tolerated_file_still_spells_out_the_engine():
    stale = [rel for rel in ENGINE_SPELLED_OUT if rel != "labs/engine.py" and (
        not (ROOT / rel).exists() or not engine_spellings(ast.parse((ROOT / rel).read_text())))]
    assert stale == [], "remove these from ENGINE_SPELLED_OUT: they no longer name the engine"


def test_runtime_versions_read_each_engines_own_report():
    with FakeEngine() as fake:
        fake.answer("version", stdout='[{"Name": "Engine", "Version": "20.10.24"}, '
                                      '{"Name": "runc", "Version": "1.1.5"}]')
        assert engine.runtime_versions() == "docker 20.10.24, runc 1.1.5"
        fake.answer("version", returncode=1)
        assert engine.runtime_versions() == "docker (version unknown)"
    with FakeEngine("podman") as fake:
        fake.answer("info", stdout="4.3.1|runc|runc version 1.1.5+ds1\ncommit: x\n")
        assert engine.runtime_versions() == "podman 4.3.1, runc 1.1.5+ds1"


def test_a_collector_the_engine_refused_to_start_leaves_no_container_or_folder():
    from labs.audit import AuditCollector

    collector = AuditCollector()
    with FakeEngine() as fake, pytest.raises(CommandError, match="make images"):
        fake.answer("run", returncode=126, stderr="OCI permission denied")
        collector.start()
    assert fake.argvs[-1] == ["docker", "rm", "-f", collector.name]
    assert collector.folder is None and collector.container_id is None
