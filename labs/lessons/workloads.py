"""Lesson 10's programs that are not nginx, and how to drive each one from a client.

Why a client container or pod: a driver running inside the workload's container would run
under the workload's profile and add its own syscalls to the recording (lesson 03). The client
(``course/tools``: busybox wget and nc) shares only the network: on Docker it joins the
workload's network namespace (``--network container:<id>``), on the cluster it is lesson 03's
client pod. Each step is one busybox shell line, the same on both, so the learner can paste it.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass, field

from .. import engine
from ..cluster import ClusterRef
from ..errors import LabError
from ..images import TOOLS_IMAGE
from ..runner import run
from .drive import pod_ip

__all__ = ["Workload", "WORKLOADS", "workload", "docker_steps", "pod_steps", "docker_seccomp_mode",
           "pod_seccomp_mode", "DriveLog", "PodDriver"]


def _redis(*commands: str) -> str:
    """One redis session: inline commands (RESP's telnet form), then QUIT closes it."""
    lines = "".join(f"{c}\\r\\n" for c in (*commands, "QUIT"))
    return f"printf '{lines}' | busybox nc {{host}} {{port}}"


def _wget(path: str, *extra: str) -> str:
    return " ".join(["busybox wget -q -O -", *extra, f"http://{{host}}:{{port}}{path}"])


@dataclass(frozen=True)
class Workload:
    """A lab program: its image, port, the text that shows it serves, the client steps that
    drive it (``(what, shell line)``, the first one alone is the short recording), and a probe
    exec'd inside it that needs a syscall the program never makes."""

    key: str
    kind: str
    image: str
    port: int
    serves_text: str
    steps: tuple[tuple[str, str], ...]
    probe: tuple[str, ...]
    probe_syscall: str

    def line(self, step: str, host: str) -> str:
        return step.format(host=host, port=self.port)


WORKLOADS = {w.key: w for w in (
    Workload("redis", "database server (C, dynamically linked)", "course/redis", 6379, "+PONG",
             (("PING", _redis("PING")),
              ("keys and counters", _redis("SET course lesson10", "GET course", "INCR visits", "EXPIRE visits 60")),
              ("a list", _redis("RPUSH notes a b c", "LRANGE notes 0 -1", "DEL notes")),
              ("INFO", _redis("INFO server")),
              ("snapshot to disk (BGSAVE forks a child)", _redis("BGSAVE") + "; sleep 2")),
             ("unshare", "--user", "true"), "unshare"),
    Workload("pyweb", "interpreted web service (Python http.server)", "course/pyweb", 8000,
             "hello from the course notes service",
             (("GET /", _wget("/")),
              ("POST /notes (writes the notes file)", _wget("/notes", "--post-data=buy-milk")),
              ("GET /notes", _wget("/notes")),
              ("GET a missing page (404)", _wget("/missing") + " || true")),
             ("unshare", "--user", "true"), "unshare"),
    Workload("static-httpd", "static binary (busybox httpd)", "course/static-httpd", 8080,
             "hello from the course static httpd",
             (("GET /", _wget("/")),
              ("GET / twice more (each request is a forked child)", f"{_wget('/')} && {_wget('/')}"),
              ("GET a missing page (404)", _wget("/missing") + " || true"),
              ("HEAD / (busybox wget --spider)", _wget("/", "--spider"))),
             ("busybox", "unshare", "--user", "true"), "unshare"),
)}


def workload(key: str) -> Workload:
    if key not in WORKLOADS:
        raise LabError(f"there is no lab workload {key!r}", fix=f"use one of {sorted(WORKLOADS)}")
    return WORKLOADS[key]


@dataclass
class DriveLog:
    """What a driver did: one ``(step, outcome)`` per step, ``outcome`` "ok" or the error."""

    steps: list[tuple[str, str]]

    @property
    def ok(self) -> bool:
        return all(outcome == "ok" for _, outcome in self.steps)

    def __str__(self) -> str:
        return "\n".join(f"{what}: {outcome}" for what, outcome in self.steps)


def _outcome(result) -> str:
    """"ok", or the last line of the error (a CommandResult or an exec_in_pod result)."""
    return "ok" if result.returncode == 0 else (result.stderr.strip().splitlines() or [f"exit {result.returncode}"])[-1]


def docker_steps(w: Workload, container: str, count: int | None = None) -> DriveLog:
    """Run the first ``count`` steps (all by default) in a client container that shares the
    workload container's network namespace (``127.0.0.1`` is the workload)."""
    log = DriveLog([])
    for what, step in w.steps[:count]:
        result = engine.run(TOOLS_IMAGE, ["sh", "-c", w.line(step, "127.0.0.1")], remove=True,
                            options=["--network", f"container:{container}"], check=False, timeout=120)
        log.steps.append((what, _outcome(result)))
    return log


def pod_steps(w: Workload, client: str, ip: str, namespace: str, config: ClusterRef = "default",
              count: int | None = None) -> DriveLog:
    """The same steps from lesson 03's client pod, to the workload pod's IP."""
    from ..pods import exec_in_pod  # slow import: the kubernetes client

    log = DriveLog([])
    for what, step in w.steps[:count]:
        result = exec_in_pod(client, namespace, ["sh", "-c", w.line(step, ip)], config=config)
        log.steps.append((what, _outcome(result)))
    return log


@dataclass
class PodDriver:
    """``drive(name, namespace)`` for ``audit_pod`` and ``staging_report``: the workload's first
    ``count`` steps (all by default) from the client pod; ``done`` lists each step's outcome."""

    workload: Workload
    client: str = "client"
    config: ClusterRef = "default"
    count: int | None = None
    done: list[tuple[str, str]] = field(default_factory=list)

    def __call__(self, name: str, namespace: str) -> None:
        ip = pod_ip(name, namespace, self.config)
        self.done += pod_steps(self.workload, self.client, ip, namespace, self.config, self.count).steps


def docker_seccomp_mode(container: str) -> str:
    """The ``Seccomp:`` line of the container's main process, read from the host's /proc
    (the value 2 means a filter is active)."""
    pid = engine.inspect(container, "{{.State.Pid}}").stdout.strip()
    status = run(["cat", f"/proc/{pid}/status"]).stdout
    return next((line.split(":", 1)[1].strip() for line in status.splitlines() if line.startswith("Seccomp:")), "")


def pod_seccomp_mode(name: str, namespace: str, config: ClusterRef = "default") -> tuple[str, list[str]]:
    """The ``Seccomp:`` line of the pod's first container's main process, read on its node
    (an exec'd ``grep`` would need syscalls the profile may refuse), and the commands that
    read it, to paste on a real cluster's node."""
    from ..pods import read_pod  # slow import: the kubernetes client

    pod = read_pod(name, namespace, config)
    node = pod["spec"]["nodeName"]
    container = pod["status"]["containerStatuses"][0]["containerID"].split("://", 1)[1][:13]
    inspect = ["crictl", "inspect", container]
    pid = json.loads(engine.exec(node, inspect).stdout)["info"]["pid"]
    grep = ["grep", "^Seccomp:", f"/proc/{pid}/status"]
    shown = [" ".join(engine.exec_args(node, inspect)) + " | grep '\"pid\"'", " ".join(engine.exec_args(node, grep))]
    return engine.exec(node, grep).stdout.split(":", 1)[1].strip(), shown


def main(argv: list[str] | None = None) -> int:
    """Drive commands for ``labs.seccomp`` recordings. ``drive KEY CONTAINER``: from a client
    container in the workload container's network namespace (``record_image``'s
    ``{container}``). ``drive-pod KEY CLIENT_NAMESPACE``: from the client pod in that
    namespace to ``$POD_IP`` (``record_manifest`` sets it; each run gets a fresh namespace)."""
    parser = argparse.ArgumentParser(prog="python -m labs.lessons.workloads", description=main.__doc__)
    parser.add_argument("action", choices=["drive", "drive-pod"])
    parser.add_argument("key", choices=sorted(WORKLOADS))
    parser.add_argument("target", help="drive: the workload's container; drive-pod: the client pod's namespace")
    parser.add_argument("--steps", type=int, default=None, help="only the first N steps")
    args = parser.parse_args(argv)
    w = WORKLOADS[args.key]
    if args.action == "drive":
        log = docker_steps(w, args.target, args.steps)
    elif not os.environ.get("POD_IP"):
        parser.error("drive-pod needs $POD_IP (record_manifest sets it)")
    else:
        log = pod_steps(w, "client", os.environ["POD_IP"], args.target, count=args.steps)
    print(log)
    return 0 if log.ok else 1


if __name__ == "__main__":
    sys.exit(main())
