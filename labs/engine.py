"""The one module that runs the container engine (``docker``, or ``podman`` where a learner has it).

Every other module asks this one to run, exec into, inspect, build, save or remove containers and
images, so supporting another engine, or changing one flag, happens here. The shape follows kind's
provider interface (one object knows the engine CLI; callers say what they want, not how to type
it), and the commands still go through :func:`labs.runner.run`, so errors keep their pasteable
command and fix.

The engine is chosen once: ``$COURSE_ENGINE`` (``docker`` by default, ``podman`` accepted).
Unit tests swap the runner for :class:`FakeEngine`, which records the argv each verb would run
and answers with canned output (like kind's ``pkg/exec`` fake), so command-building logic is
tested without an engine.
"""
from __future__ import annotations

import json
import os
import shlex
import shutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import runner
from .errors import CommandError, EnvironmentProblem
from .runner import CommandResult

__all__ = [
    "ENGINES", "ENGINE_ENV", "FakeEngine", "binary", "available", "command", "shown", "call",
    "run_args", "run", "create", "exec_args", "exec", "inspect", "wait", "logs", "port", "pids",
    "start", "stop", "rm", "cp", "commit", "ps", "info", "answers", "version", "runtime_versions",
    "image_exists", "image_id", "image_label", "image_inspect", "images", "tag", "rmi", "pull",
    "build", "import_image", "save", "load", "DOCKER_CLI", "private_docker",
]

#: The engines the course knows; the first is the default.
ENGINES = ("docker", "podman")
#: What to install when an engine's CLI is missing (labs.runner's errors say it).
runner.INSTALL_HINTS.update({
    "docker": "install Docker (`make doctor` shows how), then start the engine",
    "podman": "install Podman (Debian/Ubuntu: apt-get install podman), or unset COURSE_ENGINE to use Docker",
})
#: The Docker CLI. The AppArmor VM's docker disk is a Docker data-root by definition (the guest
#: runs dockerd), so its bake drives a private dockerd with this CLI whichever engine the course uses.
DOCKER_CLI = "docker"
#: Environment variable naming the engine binary.
ENGINE_ENV = "COURSE_ENGINE"

Runner = Callable[..., CommandResult]   # the signature of labs.runner.run


@dataclass
class _Chosen:
    binary: str | None = None            # resolved on first use, then kept
    runner: Runner = runner.run
    build_env: dict[str, str] | None = None


_CHOSEN = _Chosen()


# -- the engine itself -------------------------------------------------------------------------
def binary() -> str:
    """The engine binary (``docker`` or ``podman``), read from ``$COURSE_ENGINE`` once."""
    if _CHOSEN.binary is None:
        wanted = os.environ.get(ENGINE_ENV, "").strip() or ENGINES[0]
        if wanted not in ENGINES:
            raise EnvironmentProblem(f"{ENGINE_ENV}={wanted!r} is not an engine the course knows",
                                     fix=f"set {ENGINE_ENV} to one of {', '.join(ENGINES)} (or unset it)")
        _CHOSEN.binary = wanted
    return _CHOSEN.binary


def available() -> bool:
    """True when the engine's CLI is on PATH (its daemon may still be down: see :func:`answers`)."""
    return shutil.which(binary()) is not None


def command(*args: str) -> list[str]:
    """The argv for ``<engine> args...``: what every verb runs, and what a lesson shows."""
    return [binary(), *args]


def shown(*args: str) -> str:
    """``<engine> args...`` as a person would type it (quoted for a shell)."""
    return shlex.join(command(*args))


def call(args: Sequence[str], *, input: str | bytes | None = None, check: bool = True,
         timeout: float | None = 300, fix: str | None = None,
         env: dict[str, str] | None = None) -> CommandResult:
    """Run ``<engine> args...`` through the course runner (or the fake); the verbs below use it,
    and a caller needing a subcommand without a verb uses it too."""
    return _CHOSEN.runner(command(*args), input=input, check=check, timeout=timeout, fix=fix, env=env)


# -- containers --------------------------------------------------------------------------------
def run_args(image: str, cmd: Sequence[str] = (), *, name: str | None = None, detach: bool = False,
             remove: bool = False, labels: Iterable[str] = (), options: Sequence[str] = ()) -> list[str]:
    """The argv of ``run``: flags, then ``options`` (security, ports, mounts, ...), image, command."""
    args = ["run"] + ["-d"] * detach + ["--rm"] * remove + (["--name", name] if name else [])
    for label in labels:
        args += ["--label", label]
    return command(*args, *options, image, *cmd)


def run(image: str, cmd: Sequence[str] = (), *, name: str | None = None, detach: bool = False,
        remove: bool = False, labels: Iterable[str] = (), options: Sequence[str] = (),
        check: bool = True, timeout: float | None = 300, fix: str | None = None) -> CommandResult:
    """Run a container; detached, its stdout is the new container's id."""
    argv = run_args(image, cmd, name=name, detach=detach, remove=remove, labels=labels, options=options)
    return call(argv[1:], check=check, timeout=timeout, fix=fix)


def create(image: str, *, labels: Iterable[str] = ()) -> str:
    """Create (not start) a container from ``image``; returns its id."""
    args = ["create"]
    for label in labels:
        args += ["--label", label]
    return call([*args, image]).stdout.strip()


def exec_args(container: str, cmd: Sequence[str], *, interactive: bool = False) -> list[str]:
    """The argv of ``exec`` (``-i`` keeps stdin open, for commands fed through it)."""
    return command("exec", *(["-i"] if interactive else []), container, *cmd)


def exec(container: str, cmd: Sequence[str], *, input: str | bytes | None = None,
         interactive: bool | None = None, check: bool = True, timeout: float | None = 300,
         fix: str | None = None) -> CommandResult:
    """Run ``cmd`` in a running container; ``input`` is fed to its stdin (``-i`` implied)."""
    interactive = input is not None if interactive is None else interactive
    return call(exec_args(container, cmd, interactive=interactive)[1:], input=input, check=check,
                timeout=timeout, fix=fix)


def inspect(ref: str, format: str, *, check: bool = True, timeout: float | None = 300) -> CommandResult:
    """``inspect --format FORMAT ref`` for a container (or an image, when no container has the name)."""
    return call(["inspect", "--format", format, ref], check=check, timeout=timeout)


def wait(container: str, *, timeout: float | None = 120) -> int:
    """Wait for the container's main process to exit; returns its exit code."""
    return int(call(["wait", container], timeout=timeout).stdout.strip())


def logs(container: str) -> str:
    """The container's stdout and stderr (empty when it is gone)."""
    result = call(["logs", container], check=False)
    return result.stdout + result.stderr


def port(container: str, container_port: int, protocol: str = "tcp") -> int:
    """The host port published for ``container_port`` (the first binding listed)."""
    out = call(["port", container, f"{container_port}/{protocol}"]).stdout.split()
    return int(out[0].rsplit(":", 1)[1])


def pids(container: str) -> list[int]:
    """Host pids of the container's processes (empty when it is gone)."""
    out = call(["top", container, "-eo", "pid"], check=False).stdout.split()
    return [int(p) for p in out[1:] if p.isdigit()]


def start(*containers: str) -> None:
    call(["start", *containers])


def stop(container: str, *, grace: int = 10) -> CommandResult:
    """SIGTERM, then SIGKILL after ``grace`` seconds; never raises (a gone container is stopped)."""
    return call(["stop", "-t", str(grace), container], check=False, timeout=60 + grace)


def rm(*containers: str, force: bool = True, check: bool = False) -> CommandResult:
    """Remove containers (``-f``: running ones too); idempotent unless ``check``."""
    return call(["rm", *(["-f"] if force else []), *containers], check=check)


def cp(source: str, destination: str, *, timeout: float | None = 300) -> None:
    """Copy between the host and a container (``container:path`` on one side)."""
    call(["cp", source, destination], timeout=timeout)


def commit(container: str, ref: str, *, timeout: float | None = 300) -> None:
    call(["commit", container, ref], timeout=timeout)


def ps(*, all: bool = False, filters: Iterable[str] = (), format: str | None = None,
       quiet: bool = False) -> list[str]:
    """One line per container: ``filters`` like ``label=k=v``; ``format`` a Go template."""
    args = ["ps"] + ["-a"] * all + ["-q"] * quiet
    for item in filters:
        args += ["--filter", item]
    args += ["--format", format] if format else []
    return call(args).stdout.splitlines()


def info(format: str | None = None, *, check: bool = False, timeout: float | None = 30) -> CommandResult:
    """``info`` (optionally ``--format``); does not raise by default: a failure means no engine."""
    return call(["info", *(["--format", format] if format else [])], check=check, timeout=timeout)


def answers(timeout: float = 30) -> bool:
    """True when the engine's CLI is installed and its daemon (or service) answers."""
    return available() and info(timeout=timeout).ok


def version(format: str, *, check: bool = True) -> CommandResult:
    return call(["version", "--format", format], check=check)


def runtime_versions() -> str:
    """The engine's and its OCI runtime's versions, e.g. ``docker 20.10.24, runc 1.1.5`` (a
    runtime's own start-up syscalls depend on them); ``<engine> (version unknown)`` otherwise."""
    if binary() == "podman":   # podman's version has no Components; its info names the runtime
        fields = info("{{.Version.Version}}|{{.Host.OCIRuntime.Name}}|{{.Host.OCIRuntime.Version}}").stdout.split("|")
        words = fields[-1].split()
        if len(fields) == 3 and len(words) > 2:
            return f"podman {fields[0]}, {fields[1]} {words[2]}"   # "runc version 1.1.5 ..."
        return "podman (version unknown)"
    try:
        components = json.loads(version("{{json .Server.Components}}", check=False).stdout)
        parts = {c["Name"]: c["Version"] for c in components}
    except (ValueError, TypeError):
        return f"{binary()} (version unknown)"
    runc = next((v for n, v in parts.items() if "runc" in n), "?")
    return f"{binary()} {parts.get('Engine', '?')}, runc {runc}"


# -- images ------------------------------------------------------------------------------------
def image_inspect(ref: str, format: str | None = None, *, check: bool = False) -> CommandResult:
    """``image inspect`` (the image only, never a container of that name)."""
    return call(["image", "inspect", *(["--format", format] if format else []), ref], check=check)


def image_exists(ref: str) -> bool:
    return image_inspect(ref).ok


def image_id(ref: str) -> str | None:
    """The local image's id, or None when it is not there."""
    result = image_inspect(ref, "{{.Id}}")
    return result.stdout.strip() if result.ok else None


def image_label(ref: str, label: str) -> str | None:
    """One label of a local image; None when the image or the label is not there."""
    result = image_inspect(ref, f'{{{{index .Config.Labels "{label}"}}}}')
    return (result.stdout.strip() or None) if result.ok else None


def images(repository: str, format: str) -> list[str]:
    """One formatted line per local image of ``repository``."""
    return call(["images", repository, "--format", format]).stdout.split()


def tag(source: str, target: str) -> None:
    call(["tag", source, target])


def rmi(*refs: str, check: bool = False) -> CommandResult:
    """Untag/remove images; an image a container still uses stays (the engine refuses)."""
    return call(["rmi", *refs], check=check)


def pull(ref: str, *, timeout: float | None = 300) -> CommandResult:
    """Pull ``ref``; returns the result instead of raising (no registry is a normal answer)."""
    return call(["pull", ref], check=False, timeout=timeout)


def _build_env() -> dict[str, str] | None:
    """Docker's legacy builder when its CLI has no buildx plugin (a new docker CLI otherwise
    refuses to build against an old engine); podman needs nothing."""
    if binary() != "docker":
        return None
    if _CHOSEN.build_env is None:
        env = dict(os.environ)
        if not call(["buildx", "version"], check=False).ok:
            env["DOCKER_BUILDKIT"] = "0"
        _CHOSEN.build_env = env
    return _CHOSEN.build_env


def build(context: str | Path, ref: str, *, build_args: dict[str, str] | None = None,
          labels: Iterable[str] = (), quiet: bool = False, timeout: float | None = 300,
          fix: str | None = None) -> CommandResult:
    """Build ``context`` (a folder with a Dockerfile) as ``ref``."""
    args = ["build"] + ["-q"] * quiet
    for key, value in (build_args or {}).items():
        args += ["--build-arg", f"{key}={value}"]
    for label in labels:
        args += ["--label", label]
    return call([*args, "-t", ref, str(context)], env=_build_env(), timeout=timeout, fix=fix)


def import_image(tarball: str | Path, ref: str, *, changes: Iterable[str] = (),
                 timeout: float | None = 600) -> None:
    """Make an image from a root-filesystem tarball; ``changes`` are Dockerfile lines (LABEL, CMD)."""
    args = ["import"]
    for change in changes:
        args += ["--change", change]
    call([*args, str(tarball), ref], timeout=timeout)


def save(path: str | Path, refs: Sequence[str], *, timeout: float | None = 1800,
         fix: str | None = None) -> None:
    """Write ``refs`` to one tar archive at ``path``."""
    call(["save", "-o", str(path), *refs], timeout=timeout, fix=fix)


def load(path: str | Path, *, timeout: float | None = 1800) -> str:
    """Load a tar archive made by :func:`save`; returns the engine's report (``Loaded image: ...``)."""
    return call(["load", "-i", str(path)], timeout=timeout).stdout


# -- a private Docker daemon ---------------------------------------------------------------------
def private_docker(socket: str, *args: str) -> list[str]:
    """The argv for the Docker CLI talking to the private dockerd listening on ``socket``."""
    return [DOCKER_CLI, "-H", socket, *args]


# -- the fake, for unit tests ------------------------------------------------------------------
@dataclass
class FakeEngine:
    """Stands in for the runner: records each argv and answers from canned results.

    ``with FakeEngine() as fake:`` makes every verb above run through it (engine ``binary``);
    ``fake.answer("image", "inspect", "img", stdout=...)`` sets the result for commands whose
    arguments after the binary contain those words in that order (the answer naming the most
    words wins, the later one on a tie; unmatched: success, empty output). ``fake.calls`` holds
    ``(argv, input)`` pairs in order.
    """

    binary: str = "docker"
    calls: list[tuple[list[str], str | bytes | None]] = field(default_factory=list)
    _answers: dict[tuple[str, ...], tuple[int, str, str]] = field(default_factory=dict)
    _saved: _Chosen | None = None

    def answer(self, *words: str, stdout: str = "", stderr: str = "", returncode: int = 0) -> FakeEngine:
        self._answers.pop(words, None)          # re-answering moves it last (it wins ties)
        self._answers[words] = (returncode, stdout, stderr)
        return self

    @property
    def argvs(self) -> list[list[str]]:
        return [argv for argv, _ in self.calls]

    def __call__(self, args: list[str], *, input: str | bytes | None = None, check: bool = True,
                 fix: str | None = None, **_: object) -> CommandResult:
        self.calls.append((list(args), input))
        matches = [words for words in self._answers if _in_order(words, args[1:])]
        best = max(reversed(matches), key=len) if matches else None
        code, out, err = self._answers[best] if best is not None else (0, "", "")
        result = CommandResult(shlex.join(args), code, out, err)
        if check and not result.ok:
            raise CommandError(result.command, code, out + err, fix=fix)
        return result

    def __enter__(self) -> FakeEngine:
        self._saved = _Chosen(_CHOSEN.binary, _CHOSEN.runner, _CHOSEN.build_env)
        _CHOSEN.binary, _CHOSEN.runner, _CHOSEN.build_env = self.binary, self, None
        return self

    def __exit__(self, *exc: object) -> None:
        saved = self._saved
        _CHOSEN.binary, _CHOSEN.runner, _CHOSEN.build_env = saved.binary, saved.runner, saved.build_env


def _in_order(words: tuple[str, ...], args: Sequence[str]) -> bool:
    """True when ``words`` occur in ``args`` in this order (other arguments may come between)."""
    rest = iter(args)
    return all(word in rest for word in words)
