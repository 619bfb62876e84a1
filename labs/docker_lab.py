"""Run a lab image on plain Docker under a chosen seccomp profile: :class:`LabContainer`.

Why Docker before Kubernetes: a profile is easiest to understand one container at a time, and
`docker run --security-opt seccomp=...` applies the same kernel filter a kubelet would. Ports
are published on 127.0.0.1 only, every container is labelled and named `course-...`, and
leaving the ``with`` block removes it.
"""
from __future__ import annotations

import json
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from . import engine
from .errors import LabTimeout, WorkloadFailed
from .names import MANAGED_LABEL_ARG
from .runner import CommandResult
from .seccomp import load_profile

__all__ = ["LabContainer", "seccomp_option"]


def seccomp_option(seccomp: dict | str | Path | None, folder: str) -> list[str]:
    """`docker run` arguments for a profile: none (Docker's default), ``"unconfined"``, or a
    validated profile (dict or file) written to ``folder``."""
    if seccomp is None:
        return []
    if seccomp == "unconfined":
        return ["--security-opt", "seccomp=unconfined"]
    path = Path(folder) / "seccomp.json"
    path.write_text(json.dumps(load_profile(seccomp)))
    return ["--security-opt", f"seccomp={path}"]


@dataclass
class LabContainer:
    """A running lab container. Use :meth:`start` (or as a context manager)."""

    id: str
    name: str
    image: str
    _ports: dict[int, int] = field(default_factory=dict, repr=False)

    @classmethod
    def start(cls, image: str, *, seccomp: dict | str | Path | None = None,
              name: str | None = None, publish: dict[int, int] | None = None,
              command: list[str] | None = None) -> LabContainer:
        """Start ``image`` detached. ``publish`` maps container port -> host port on 127.0.0.1
        (0 = any free port). Raises WorkloadFailed when the container could not start or
        exited with an error at once (a profile that blocks start-up does that)."""
        name = name or f"course-docker-{image.split('/')[-1].split(':')[0]}-{uuid.uuid4().hex[:8]}"
        ports = []
        for container_port, host_port in (publish or {}).items():
            ports += ["-p", f"127.0.0.1:{host_port or ''}:{container_port}"]
        with tempfile.TemporaryDirectory(prefix="course-seccomp-") as folder:
            result = engine.run(image, command or [], name=name, detach=True, labels=[MANAGED_LABEL_ARG],
                                options=[*seccomp_option(seccomp, folder), *ports], check=False, timeout=120)
        if not result.ok:
            engine.rm(name)
            raise WorkloadFailed(f"container {name} from {image} did not start",
                                 reason="StartError", details=result.stderr.strip(),
                                 fix=_start_fix(result.stderr))
        container = cls(result.stdout.strip(), name, image)
        state = container.state()
        if state["Status"] == "exited" and state["ExitCode"] != 0:
            logs = container.logs()
            container.stop()
            raise WorkloadFailed(f"container {name} exited with {state['ExitCode']} at start",
                                 reason="ExitedAtStart", details=logs,
                                 fix="read the logs above; under a seccomp profile a denied "
                                     "start-up syscall often shows as 'Operation not permitted'")
        return container

    def __enter__(self) -> LabContainer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def state(self) -> dict:
        return json.loads(engine.inspect(self.id, "{{json .State}}").stdout)

    def wait(self, timeout: float = 120) -> int:
        """Wait until the container's main process exits; returns its exit code."""
        return engine.wait(self.id, timeout=timeout)

    def logs(self) -> str:
        return engine.logs(self.id)

    def exec(self, command: list[str], check: bool = False) -> CommandResult:
        """Run ``command`` inside the container; it inherits the container's seccomp profile."""
        return engine.exec(self.id, command, check=check, timeout=120)

    def host_port(self, container_port: int) -> int:
        """The 127.0.0.1 port that forwards to ``container_port``."""
        if container_port not in self._ports:
            self._ports[container_port] = engine.port(self.id, container_port)
        return self._ports[container_port]

    def http_get(self, container_port: int = 80, path: str = "/", *, timeout: float = 30.0) -> str:
        """GET http://127.0.0.1:<published port><path>, retrying until the server answers;
        an HTTP error status raises WorkloadFailed with ``reason`` set to the status code."""
        url = f"http://127.0.0.1:{self.host_port(container_port)}{path}"
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    return response.read().decode(errors="replace")
            except urllib.error.HTTPError as exc:      # the server answered: do not retry
                raise WorkloadFailed(f"{url} answered HTTP {exc.code}", reason=str(exc.code),
                                     fix=f"check the path; {engine.shown('logs', self.name)}") from None
            except (urllib.error.URLError, ConnectionError, OSError) as exc:
                if time.monotonic() > deadline:
                    raise LabTimeout(f"{url} did not answer within {timeout}s: {exc}",
                                     fix=f"check the container: {engine.shown('logs', self.name)}") from None
                time.sleep(0.2)

    def stop(self) -> None:
        """Remove the container (idempotent)."""
        engine.rm(self.id)


def _start_fix(stderr: str) -> str:
    if "seccomp" in stderr:
        return "the engine rejected the seccomp profile: validate it with labs.seccomp.load_profile"
    if "No such image" in stderr or "pull access denied" in stderr:
        return "build the lab images first: `make images`"
    return "read the error above"
