"""Record any image's syscalls on Docker and turn them into a profile: :func:`record_image`.

Why a recorder: lesson 03's audit works for nginx because the course knows how to drive it.
For a learner's own workload the steps are the same (run under the audit profile, drive,
settle, stop, read) but "done" must be defined for a server that never goes quiet, several
runs must merge, and a run that failed or was interrupted must say so instead of producing
a profile that silently misses syscalls. Per run:

1. start the image under :func:`audit_profile` (everything allowed and logged);
2. wait until it listens on ``publish`` (read from its network namespace, so the wait itself
   adds no syscalls);
3. run the ``drive`` commands ON THE HOST with ``$PORT``, ``$URL`` and ``$CONTAINER`` set:
   ``curl $URL`` is not recorded (curl runs outside the container), while
   ``docker exec $CONTAINER nginx -s reload`` IS recorded (an exec'd process runs inside the
   container under its profile, which is what an operator action needs);
4. wait until no NEW syscall name appeared for ``settle`` seconds (a timer keeps logging the
   same names), then stop the container (SIGTERM) so its shutdown is recorded too.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .. import engine
from ..audit import AuditCollector, exited_driven_records
from ..docker_lab import LabContainer
from ..errors import LabError, LabTimeout, WorkloadFailed
from ..images import TOOLS_IMAGE
from ..paths import state_dir
from ..runner import run
from ..syscalls import node_arch
from .build import audit_profile
from .provenance import RunRecord, split_phases
from .recording import Recording

__all__ = ["record_image", "runtime_baseline", "docker_runtime", "listening_ports", "socket_families",
           "run_drive", "drive_argv", "read_run", "BASELINE_COMMAND"]

log = logging.getLogger("labs.seccomp.record")
BASELINE_COMMAND = ["true"]
#: /proc/<pid>/net table -> the address family its rows are sockets of
_FAMILY_TABLES = {"unix": socket.AF_UNIX, "tcp": socket.AF_INET, "udp": socket.AF_INET,
                  "raw": socket.AF_INET, "tcp6": socket.AF_INET6, "udp6": socket.AF_INET6,
                  "raw6": socket.AF_INET6, "netlink": socket.AF_NETLINK, "packet": socket.AF_PACKET}


def listening_ports(tcp_table: str) -> set[int]:
    """Ports in LISTEN state (st 0A) in a /proc/net/tcp or tcp6 text."""
    ports = set()
    for line in tcp_table.splitlines()[1:]:
        parts = line.split()
        if len(parts) > 3 and parts[3] == "0A":
            ports.add(int(parts[1].rsplit(":", 1)[1], 16))
    return ports


def socket_families(tables: dict[str, str], inodes: set[str]) -> set[int]:
    """Address families of the sockets whose inode is in ``inodes`` (the workload's open
    descriptors), from /proc/<pid>/net/<table> texts keyed by table name. The tables hold
    every socket of the network namespace (dockerd's own netlink socket too), hence the filter."""
    found = set()
    for name, text in tables.items():
        if name in _FAMILY_TABLES and any(inodes & set(line.split()) for line in text.splitlines()[1:]):
            found.add(int(_FAMILY_TABLES[name]))
    return found


def _net_tables(pid: int, names: Sequence[str]) -> dict[str, str]:
    out = {}
    for name in names:
        with contextlib.suppress(OSError):
            out[name] = Path(f"/proc/{pid}/net/{name}").read_text()
    return out


def _socket_inodes(pids: Sequence[int]) -> set[str]:
    inodes = set()
    for pid in pids:
        try:
            links = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
        except OSError:
            continue        # exited, or not ours to read (then no suggestion, not a wrong one)
        inodes |= {link[8:-1] for link in links if link.startswith("socket:[")}
    return inodes


def _container_families(container) -> set[int]:
    pids = engine.pids(container.id)
    if not pids:
        return set()
    return socket_families(_net_tables(pids[0], tuple(_FAMILY_TABLES)), _socket_inodes(pids))


def docker_runtime() -> str:
    """The engine and OCI runtime versions, e.g. ``docker 20.10.24, runc 1.1.5``: the runtime's
    own start-up syscalls depend on them."""
    return engine.runtime_versions()


@dataclass
class _Spec:
    image: str
    publish: int | None
    drive: list[list[str]]
    settle: float
    timeout: float
    command: list[str] | None


def drive_argv(command: str | Sequence[str]) -> list[str]:
    """A drive command as argv: a string runs in ``sh -c`` (so ``$PORT`` expands)."""
    return ["sh", "-c", command] if isinstance(command, str) else list(command)


def _wait_listening(container, port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = container.state()
        if not state["Running"]:
            raise WorkloadFailed(f"{container.name} exited ({state['ExitCode']}) before it listened on {port}",
                                 reason="ExitedAtStart", details=container.logs()[-2000:],
                                 fix="read the logs above; a server must keep running to be driven")
        tables = _net_tables(state["Pid"], ("tcp", "tcp6"))
        if port in set().union(*(listening_ports(t) for t in tables.values())):
            return
        time.sleep(0.2)
    raise LabTimeout(f"{container.name} never listened on port {port} within {timeout:.0f}s",
                     fix=f"check the port the program serves on ({engine.shown('logs', container.name)}) "
                         "or raise timeout")


def run_drive(commands: Sequence[Sequence[str]], values: dict[str, str], timeout: float,
              say: Callable[[str], None]) -> None:
    """Run each drive command on the host with ``values`` as upper-case environment variables
    and as ``{name}`` placeholders in argv; the first failure raises WorkloadFailed."""
    env = dict(os.environ, **{k.upper(): v for k, v in values.items()})
    for argv in commands:
        for key, value in values.items():
            argv = [a.replace(f"{{{key}}}", value) for a in argv]
        say(f"drive: {' '.join(argv)}")
        result = run(argv, check=False, timeout=timeout, env=env)
        if not result.ok:
            raise WorkloadFailed(f"drive command failed ({result.returncode}): {' '.join(argv)}",
                                 reason="DriveFailed", details=(result.stdout + result.stderr)[-2000:],
                                 fix="run the command by hand against the workload; fix it or the workload")


def _stop(container, index: int, record: RunRecord, say: Callable[[str], None], grace: int = 10) -> None:
    """The image's stop signal (SIGTERM unless STOPSIGNAL says otherwise), then docker's SIGKILL
    after ``grace`` s. A pid 1 without a SIGTERM handler ignores SIGTERM (the kernel's rule for
    init): the wait and the shutdown it could not record are said, not silent."""
    say(f"run {index}: stopping {container.name} (stop signal, SIGKILL after {grace}s)")
    began = time.monotonic()
    engine.stop(container.id, grace=grace)
    if container.state()["ExitCode"] != 137:
        return
    note = ("was killed (SIGKILL) after ignoring its stop signal for {grace}s (a pid 1 needs a SIGTERM "
            "handler, or run it under an init)" if time.monotonic() - began >= grace - 0.5
            else "was stopped by SIGKILL (the image's STOPSIGNAL)").format(grace=grace)
    record.notes.append(f"{container.name} {note}: no shutdown path ran, so none was recorded")
    say(f"run {index}: warning: {record.notes[-1]}")


def read_run(audit: AuditCollector, ids: list[str], started: float, record: RunRecord,
             times: dict[str, float | None]) -> None:
    """Fill ``record`` with the run's seccomp records since ``started`` (wall clock): those of
    ``ids``, plus records with no container made meanwhile by a program the container ran. A
    short-lived child (a server forking per request) is often gone before the collector reads
    its cgroup; those are matched by name and time, not proof, so the run counts them."""
    own = audit.log(ids).seccomp
    exited = exited_driven_records(audit.records(), {r.comm for r in own}, started, time.time())
    record.phases = split_phases(own + exited, times["drive"], times["stop"])
    record.records, record.unattributed = len(own) + len(exited), len(exited)


def _drive_values(container, spec: _Spec) -> dict[str, str]:
    values = {"container": container.name}
    if spec.publish:
        port = container.host_port(spec.publish)
        values.update(port=str(port), url=f"http://127.0.0.1:{port}/")
    return values


def _one_run(audit: AuditCollector, spec: _Spec, index: int, say: Callable[[str], None],
             into: list[RunRecord]) -> RunRecord:
    """Start, drive, settle, stop; the run is added to ``into`` first, so its records are kept
    (labelled partial) even when a step fails or Ctrl-C arrives."""
    times: dict[str, float | None] = {"drive": None, "stop": None}
    started, wall, container, families, done = time.monotonic(), time.time(), None, set(), False
    record = RunRecord(index, "")
    into.append(record)
    try:
        container = LabContainer.start(spec.image, seccomp=audit_profile(), command=spec.command,
                                       publish={spec.publish: 0} if spec.publish else None,
                                       name=f"course-record-{uuid.uuid4().hex[:8]}")
        record.container = container.name
        say(f"run {index}: started {container.name}")
        if spec.publish:
            _wait_listening(container, spec.publish, spec.timeout)
            say(f"run {index}: listening on {spec.publish} (host port {container.host_port(spec.publish)})")
        if spec.drive:                                # no drive: all of it is start-up
            times["drive"] = time.time()
            run_drive(spec.drive, _drive_values(container, spec), spec.timeout, say)
        if container.state()["Running"]:
            names = audit.wait_settled(spec.settle, spec.timeout, [container.id])
            say(f"run {index}: settled at {len(names)} syscalls (none new for {spec.settle:g}s)")
            families = _container_families(container)
            times["stop"] = time.time()
            _stop(container, index, record, say)
        done = True
    finally:
        if container is not None:
            container.stop()
            try:
                audit.wait_quiet(1.0, spec.timeout, [container.id])
            except LabTimeout:
                record.notes.append("records were still arriving when the run was read")
            read_run(audit, [container.id], wall, record, times)
        record.seconds = round(time.monotonic() - started, 2)
        record.partial = not done
        record.socket_families = sorted(families)
    say(f"run {index}: {len(record.syscalls())} syscalls, {record.records} records"
        + (f" ({record.unattributed} from exited children, matched by name and time)" if record.unattributed else ""))
    return record


def _check_image(image: str) -> None:
    if not engine.image_exists(image):
        raise WorkloadFailed(f"image {image} is not on this machine", reason="NoSuchImage",
                             fix=f"build or load it first (`{engine.shown('images')}` lists what is here; "
                                 f"`{engine.shown('pull', image)}` where a registry answers)")


def _baseline(audit: AuditCollector, runtime: str, say: Callable[[str], None]) -> list[str]:
    """Syscalls of a trivial program's whole run under this runtime, cached per runtime string."""
    cache = state_dir() / "runtime-baseline.json"
    known = json.loads(cache.read_text()) if cache.exists() else {}
    if runtime not in known and engine.image_exists(TOOLS_IMAGE):
        say(f"baseline: recording `{' '.join(BASELINE_COMMAND)}` under {runtime} (once per runtime version)")
        spec = _Spec(TOOLS_IMAGE, None, [], 1.0, 60.0, BASELINE_COMMAND)
        known[runtime] = sorted(_one_run(audit, spec, 0, lambda _m: None, []).syscalls())
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(known, indent=2, sort_keys=True) + "\n")
    return known.get(runtime, [])


def runtime_baseline(*, progress: Callable[[str], None] | None = None) -> list[str]:
    """What the container runtime plus a trivial program (``true``) need on this engine."""
    with AuditCollector() as audit:
        return _baseline(audit, docker_runtime(), progress or log.info)


def _record_runs(recording: Recording, spec: _Spec, runs: int, baseline: bool, say) -> None:
    with AuditCollector() as audit:
        say(f"collector {audit.name} subscribed")
        try:
            if baseline:
                recording.baseline = _baseline(audit, recording.runtime, say)
            for index in range(1, runs + 1):
                _one_run(audit, spec, index, say, recording.runs)
        finally:
            recording.note_lost(audit.lost, audit.kernel_lost())


def record_image(image: str, *, publish: int | None = None, drive: Sequence[str | Sequence[str]] = (),
                 runs: int = 1, out: str | Path | None = None, progress: Callable[[str], None] | None = None,
                 settle: float = 3.0, timeout: float = 60.0, command: list[str] | None = None,
                 baseline: bool = True) -> Recording:
    """Record ``image`` ``runs`` times on Docker and return the merged :class:`Recording`;
    with ``out``, write profile.json, profile-staged.json, report.json and report.md there.

    ``publish``: the container port the program serves on (published on 127.0.0.1).
    ``drive``: commands run on the host after the program listens; a string runs in ``sh -c``
    with ``$PORT``, ``$URL``, ``$CONTAINER`` set, a list is an argv where ``{port}``, ``{url}``,
    ``{container}`` are replaced. Done means: no new syscall name for ``settle`` seconds, or
    the program exited (a batch job; raise ``settle`` for one that computes quietly for long).
    A failure or Ctrl-C removes the container and the collector, writes the runs seen so far
    labelled partial, and re-raises; the exception carries them as ``.recording``.
    """
    say = progress or log.info
    if runs < 1:
        raise ValueError("runs must be at least 1")
    spec = _Spec(image, publish, [drive_argv(d) for d in drive], settle, timeout, command)
    recording = Recording(image, engine.binary(), docker_runtime(), [node_arch()])
    try:
        _check_image(image)
        _record_runs(recording, spec, runs, baseline, say)
    except (LabError, KeyboardInterrupt) as exc:
        recording.keep_partial(exc, out)
        raise
    if out is not None:
        say(f"wrote {recording.write(out)}")
    return recording
