"""Run the audit collector container and gather its records: :class:`AuditCollector`.

Why a container and not dmesg: the kernel log drops most seccomp records (see
``labs.audit.parse``); the collector reads the audit netlink multicast group, which gets them
all, with only CAP_AUDIT_READ (plus CAP_NET_ADMIN for a moment: a socket buffer large enough
for a burst, see ``collector_command``). It appends JSON lines to a file in a bind-mounted folder (far
cheaper than Docker's log driver at 20,000 records/s); a thread here tails that file.
"""
from __future__ import annotations

import collections
import json
import shutil
import socket
import struct
import tempfile
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path

from .. import engine
from ..errors import CapabilityMissing, CommandError, LabTimeout
from ..images import COLLECTOR_IMAGE
from ..names import MANAGED_LABEL_ARG
from .parse import AppArmorRecord, AuditLog, SeccompRecord, parse_audit_text

__all__ = ["AuditCollector", "collector_command", "kernel_audit_status"]

OUTPUT = "records.jsonl"
FRAMES = "frames.bin"          # the reader's raw batches, formatted into OUTPUT by a second process
#: 8x a container's default CPU weight: in a burst the audited workload and the collector's
#: reader compete for CPU, and a reader that falls behind for ~150 ms loses records (its 16 MiB
#: socket buffer holds ~20,000 at 832 bytes each). No capability needed.
CPU_SHARES = 8192
AUDIT_GET = 1000
_STATUS_FIELDS = ("mask", "enabled", "failure", "pid", "rate_limit", "backlog_limit", "lost", "backlog")


def kernel_audit_status() -> dict[str, int] | None:
    """The kernel's audit status (AUDIT_GET): ``lost`` counts records the kernel itself
    dropped since boot (its queue held more than ``backlog_limit`` for longer than the
    backlog wait time; until then the process making syscalls waits). None where it cannot be
    read: it needs CAP_AUDIT_CONTROL (root) in the initial namespaces, which the collector
    container deliberately does not get."""
    try:
        with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 9) as sock:    # NETLINK_AUDIT
            sock.settimeout(2)
            sock.bind((0, 0))
            sock.send(struct.pack("=IHHII", 16, AUDIT_GET, 1, 1, 0))        # NLM_F_REQUEST
            reply = sock.recv(8192)
    except (OSError, AttributeError):
        return None
    if len(reply) < 16 + 4 * len(_STATUS_FIELDS) or struct.unpack_from("=H", reply, 4)[0] != AUDIT_GET:
        return None
    return dict(zip(_STATUS_FIELDS, struct.unpack_from(f"={len(_STATUS_FIELDS)}I", reply, 16), strict=True))


def _collector_run(name: str, folder: str, image: str) -> dict:
    """The engine `run` that starts the collector: host network namespace (the audit
    multicast group exists only there), host pids (to map a pid to its container), AUDIT_READ,
    and a larger CPU weight than the workloads it records. Not privileged. NET_ADMIN is used
    once, for a socket buffer beyond net.core.rmem_max (bursts), and dropped by the program
    before it reads a record (the ready event says so; AuditCollector checks)."""
    return {"image": image, "cmd": ["python3", "-u", "/usr/local/bin/collector", f"/out/{OUTPUT}"],
            "name": name, "detach": True, "labels": [MANAGED_LABEL_ARG],
            "options": ["--net=host", "--pid=host", "--cap-add", "AUDIT_READ", "--cap-add", "NET_ADMIN",
                        "--cpu-shares", str(CPU_SHARES), "-v", f"{folder}:/out"]}


def collector_command(name: str, folder: str, image: str = COLLECTOR_IMAGE) -> list[str]:
    """The command line that starts the collector (see ``_collector_run`` for why each flag)."""
    return engine.run_args(**_collector_run(name, folder, image))


def _kind(record: SeccompRecord | AppArmorRecord) -> str:
    if isinstance(record, SeccompRecord):
        return record.syscall
    return f"apparmor:{record.operation}:{record.name or record.capname or ''}"


def _matches(container_id: str | None, wanted: list[str]) -> bool:
    return container_id is not None and any(container_id.startswith(w) for w in wanted)


class AuditCollector:
    """Context manager: the collector runs (and is subscribed) inside the ``with`` block.

    >>> with AuditCollector() as audit:          # doctest: +SKIP
    ...     container = start_workload()
    ...     drive(container)
    ...     audit.wait_settled(container_ids=[container.id])   # no new names for 3 s
    ...     container.stop()                     # a live server never goes quiet by itself
    ...     audit.wait_quiet(container_ids=[container.id])
    ...     audit.syscalls([container.id])
    Counter({'read': 12, ...})

    For a program that exits by itself, ``wait_quiet()`` after it exited is enough.
    ``labs.seccomp.record.record_image`` does all of this (and more runs, phases, reports).
    """

    def __init__(self, image: str = COLLECTOR_IMAGE, *, ready_timeout: float = 60.0):
        self.image = image
        self.ready_timeout = ready_timeout
        self.name = f"course-docker-audit-{uuid.uuid4().hex[:8]}"
        self.folder: Path | None = None
        self.container_id: str | None = None
        self.rcvbuf: int | None = None
        self._kernel_lost_at_start: int | None = None
        self._formatted = 0
        self._lines: list[str] = []
        self._parsed = AuditLog()
        self._parsed_upto = 0
        self._error: str | None = None
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> AuditCollector:
        self._kernel_lost_at_start = (kernel_audit_status() or {}).get("lost")
        self.folder = Path(tempfile.mkdtemp(prefix="course-audit-"))
        self.folder.chmod(0o755)
        try:
            self.container_id = engine.run(**_collector_run(self.name, str(self.folder), self.image),
                                           fix="build the images first: `make images`").stdout.strip()
        except CommandError:     # a run refused after its create leaves the container behind
            engine.rm(self.name)
            self.stop()
            raise
        self._thread = threading.Thread(target=self._tail, name=self.name, daemon=True)
        self._thread.start()
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop and remove the container; records already read stay available."""
        if self.container_id:
            engine.rm(self.name)
            self.container_id = None
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)
            self._thread = None
        if self.folder:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

    def __enter__(self) -> AuditCollector:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _tail(self) -> None:
        path = self.folder / OUTPUT
        while not path.exists() and not self._stop.wait(0.05):
            pass
        if not path.exists():
            return
        with open(path, encoding="utf-8", errors="replace") as f:
            pending = ""
            while True:
                chunk = f.read(1 << 20)
                if chunk:
                    pending += chunk
                    *complete, pending = pending.split("\n")
                    self._take(complete)
                elif self._stop.is_set():
                    return
                else:
                    time.sleep(0.02)

    def _take(self, lines: list[str]) -> None:
        formatted = None
        for line in lines:
            if line.startswith('{"event": "ready"'):
                event = json.loads(line)
                self.rcvbuf = event["rcvbuf"]
                self._check_actions_logged(event.get("actions_logged", ""))
                if event.get("net_admin_dropped") is False:
                    self._error = "the collector could not drop CAP_NET_ADMIN after sizing its buffer"
                self._ready.set()
            elif line.startswith('{"event": "caught_up"'):
                formatted = json.loads(line)["offset"]
            elif line.startswith('{"event": "error"'):
                self._error = json.loads(line)["message"]
                self._ready.set()
        with self._lock:
            self._lines.extend(lines)
        if formatted is not None:    # only now: the lines it covers are readable first
            self._formatted = formatted

    def _check_actions_logged(self, value: str) -> None:
        self._error = None if "log" in value.split() else (
            f"the kernel does not log SCMP_ACT_LOG decisions (actions_logged: {value!r})")

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.ready_timeout
        while not self._ready.wait(0.5):
            state = engine.inspect(self.name, "{{.State.Running}}", check=False)
            if state.stdout.strip() != "true" or time.monotonic() > deadline:
                raise LabTimeout(f"the audit collector did not subscribe: {engine.logs(self.name)}".strip(),
                                 fix="run `python -m labs.doctor` (audit capture needs Linux with "
                                     "audit support, --net=host and CAP_AUDIT_READ)")
        if self._error:
            fix = ("sudo sysctl -w kernel.seccomp.actions_logged='kill_process kill_thread trap "
                   "errno user_notif trace log'" if "actions_logged" in self._error else
                   "run `python -m labs.doctor`")
            raise CapabilityMissing(self._error, fix=fix)

    # -- results -----------------------------------------------------------------------------
    def _received(self) -> int:
        """Bytes of raw batches the collector's reader has written so far."""
        try:
            return (self.folder / FRAMES).stat().st_size
        except (OSError, TypeError):
            return 0

    def _lag_note(self) -> str:
        """Why a wait may have ended without its quiet window: records not formatted yet."""
        lag = self._received() - self._formatted
        return f"; {lag} bytes of records were still waiting to be formatted (a busy machine)" if lag > 0 else ""

    @property
    def line_count(self) -> int:
        with self._lock:
            return len(self._lines)

    def wait_quiet(self, quiet: float = 1.0, timeout: float = 60.0,
                   container_ids: Iterable[str] | None = None) -> int:
        """Wait until no new record arrived for ``quiet`` seconds (the kernel queue is drained);
        returns the number of lines read (or of the given containers' records).

        Only for workloads that stopped: a server with timers (an event loop's tick, a
        database's background jobs) logs forever and this times out. For a live server use
        :meth:`wait_settled`, or stop it first and then wait quiet for its ``container_ids``
        (other containers on the machine may keep logging).
        """
        count = 0

        def counted(new: list) -> bool:
            nonlocal count
            count += len(new)
            return bool(new)

        if self._quiet_for(quiet, timeout, container_ids, counted):
            return count if container_ids is not None else self.line_count
        raise LabTimeout(f"audit records kept arriving for {timeout}s{self._lag_note()}",
                         fix="stop the workload before reading the records, or use "
                             "wait_settled() while it runs")

    def wait_settled(self, window: float = 3.0, timeout: float = 60.0,
                     container_ids: Iterable[str] | None = None) -> set[str]:
        """Wait until no NEW syscall name (or AppArmor operation) arrived for ``window``
        seconds; returns the names seen so far. "Done" for a live server: its timer keeps
        repeating the same few syscalls, so the record stream never stops but the set of
        names does. Recipe: drive, ``wait_settled()``, stop the workload,
        ``wait_quiet(container_ids=...)``, read (the stop adds shutdown syscalls)."""
        names: set[str] = set()

        def fresh_names(new: list) -> bool:
            fresh = {_kind(r) for r in new} - names
            names.update(fresh)
            return bool(fresh)

        if self._quiet_for(window, timeout, container_ids, fresh_names):
            return names
        raise LabTimeout(f"new syscalls kept appearing for {timeout}s ({len(names)} so far){self._lag_note()}",
                         fix="the workload is still exploring: drive it longer or raise timeout")

    def _quiet_for(self, window: float, timeout: float, container_ids: Iterable[str] | None,
                   news: Callable[[list], bool]) -> bool:
        """True once ``window`` seconds passed in which ``news`` found nothing in the new records
        (of ``container_ids``), counting every record the reader had received when the window
        closed: those must be formatted and read too. Not "nothing unformatted right now":
        under a steady trickle (a server's timer) a batch is nearly always in flight, and on a
        slow machine a wait that demanded an empty backlog never ended. False at ``timeout``."""
        wanted = None if container_ids is None else [c for c in container_ids if c]
        deadline = time.monotonic() + timeout
        upto, since, received_at_close = 0, time.monotonic(), None
        while time.monotonic() < deadline:
            formatted = self._formatted        # read first: the lines it covers are already kept
            new, upto = self._scan(wanted, upto)
            if news(new):
                since, received_at_close = time.monotonic(), None
            elif time.monotonic() - since >= window:
                if received_at_close is None:
                    received_at_close = self._received()
                if formatted >= received_at_close:
                    return True
            time.sleep(0.1)
        return False

    def _scan(self, wanted: list[str] | None, start: int) -> tuple[list, int]:
        """Records parsed since index ``start`` (of the ``wanted`` containers) and the index to
        continue from: waits poll this, so each poll costs only what arrived since the last."""
        self._parse_new()
        records = self._parsed.records
        new = records[start:]
        if wanted is not None:
            new = [r for r in new if _matches(r.container_id, wanted)]
        return new, len(records)

    def wait_for(self, predicate: Callable[[AuditLog], bool], timeout: float = 30.0) -> AuditLog:
        """Poll the parsed log until ``predicate(log)`` holds."""
        deadline = time.monotonic() + timeout
        while True:
            log = self.log()
            if predicate(log):
                return log
            if time.monotonic() > deadline:
                raise LabTimeout(f"the expected audit records did not arrive within {timeout}s")
            time.sleep(0.2)

    def log(self, container_ids: Iterable[str] | None = None) -> AuditLog:
        """Everything read so far as an :class:`AuditLog` (records, lost count, warnings),
        optionally only records from the given containers (full or short ids)."""
        self._parse_new()
        records = self._parsed.records
        if container_ids is not None:
            wanted = [c for c in container_ids if c]
            records = [r for r in records if _matches(r.container_id, wanted)]
        return AuditLog(list(records), self._parsed.lost, list(self._parsed.warnings))

    def _parse_new(self) -> None:
        with self._lock:
            new = self._lines[self._parsed_upto:]
            self._parsed_upto += len(new)
        chunk = parse_audit_text("\n".join(new))
        self._parsed.records += chunk.records
        self._parsed.lost += chunk.lost
        self._parsed.warnings += [w for w in chunk.warnings if w not in self._parsed.warnings]

    def records(self, container_ids: Iterable[str] | None = None) -> list[SeccompRecord | AppArmorRecord]:
        """Records read so far (warns loudly when some were lost)."""
        return self._checked(self.log(container_ids)).records

    def syscalls(self, container_ids: Iterable[str] | None = None) -> collections.Counter[str]:
        """How often each syscall was logged, seccomp records only (warns when some were lost:
        a profile built from an incomplete list breaks the workload later)."""
        return collections.Counter(r.syscall for r in self._checked(self.log(container_ids)).seccomp)

    @staticmethod
    def _checked(log: AuditLog) -> AuditLog:
        if log.lost:
            warnings.warn(f"{log.lost} audit records were lost; the syscall list is incomplete "
                          "(" + "; ".join(log.warnings[1:]) + ")", RuntimeWarning, stacklevel=3)
        return log

    @property
    def lost(self) -> int:
        """Records the collector saw dropped (its socket buffer overflowed)."""
        return self.log().lost

    def kernel_lost(self) -> int | None:
        """Records the kernel itself dropped since this collector started (machine-wide), or
        None when the audit status is not readable here (not root)."""
        now = (kernel_audit_status() or {}).get("lost")
        if now is None or self._kernel_lost_at_start is None:
            return None
        return now - self._kernel_lost_at_start
