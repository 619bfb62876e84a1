#!/usr/bin/env python3
"""Read seccomp (1326) and AppArmor (1400) audit records from the kernel's audit netlink
multicast group and print them as JSON lines, each attributed to a container id.

Why a netlink reader: the kernel log (dmesg/syslog) rate-limits audit records and silently
drops most of them, and auditd may not be installed. AUDIT_NLGRP_READLOG gets every record
the kernel emits, needs only CAP_AUDIT_READ in the initial network namespace
(`docker run --net=host --pid=host --cap-add AUDIT_READ`), and no auditd. Given CAP_NET_ADMIN
too, it sizes its socket buffer past net.core.rmem_max (a burst then waits there instead of
being dropped) and drops that capability before reading anything.

Two processes, so a burst is not lost: the reader (pid 1) only receives datagrams and appends
them to ``frames.bin`` next to the output file (the kernel drops multicast records once the
socket buffer is full, and nothing slows the kernel down for us); the formatter (a child, at a
lower priority) turns those frames into JSON lines and may lag behind during a burst.

Output, one JSON object per line on stdout (or appended to the file named by argument 1):
  {"event": "ready", "rcvbuf": N, "net_admin_dropped": true, "actions_logged": "..."}
                                                          subscribed; records follow
  {"event": "record", "type": 1326, "raw": "type=SECCOMP msg=audit(...): ...",
   "pid": 123, "container_id": "<64 hex>" | null, "cgroup_ids": [outer, ..., inner]}
  {"event": "lost", "count": N, "reason": "..."}          records dropped before we read them
  {"event": "caught_up", "offset": N}                     every frame up to byte N is above
Standard library only: the image holds nothing but python3.
"""
from __future__ import annotations

import ctypes
import errno
import json
import os
import re
import signal
import socket
import struct
import sys
import time

NETLINK_AUDIT = 9
AUDIT_NLGRP_READLOG = 1
SO_RCVBUFFORCE = 33
CAP_NET_ADMIN = 12
PR_CAPBSET_DROP = 24
LINUX_CAPABILITY_VERSION_3 = 0x20080522
SO_MEMINFO = 55
SK_MEMINFO_DROPS = 8          # index of the socket's drop counter in SO_MEMINFO
RCVBUF_BYTES = 256 * 1024 * 1024
NLMSG_HEADER = struct.Struct("=IHHII")  # len, type, flags, seq, pid
KEPT_TYPES = {1326: "SECCOMP", 1400: "AVC"}

# A container id is 64 hex digits; runtimes wrap it differently in cgroup paths:
#   docker/<id>   docker-<id>.scope   cri-containerd-<id>.scope   kubepods/.../pod<uid>/<id>
# A kind node is itself a container, so a pod's path holds the node id then the pod's id.
_ID_IN_SEGMENT = re.compile(r"^(?:[a-z0-9]+(?:-[a-z0-9]+)*-)?([0-9a-f]{64})(?:\.scope)?$")
_PID_FIELD = re.compile(rb"\bpid=(\d+)")


def container_ids_from_cgroup(text: str) -> list[str]:
    """All container ids in a /proc/<pid>/cgroup text, outermost first (innermost = the
    container the process runs in). Works for cgroup v1 (many lines) and v2 (``0::/path``)."""
    best: list[str] = []
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        ids = []
        for segment in parts[2].split("/"):
            match = _ID_IN_SEGMENT.match(segment)
            if match:
                ids.append(match.group(1))
        if len(ids) > len(best):
            best = ids
    return best


def netlink_messages(datagram: bytes):
    """Yield (type, payload text) for each netlink message in one datagram."""
    offset = 0
    while offset + NLMSG_HEADER.size <= len(datagram):
        length, msg_type, _flags, _seq, _pid = NLMSG_HEADER.unpack_from(datagram, offset)
        if length < NLMSG_HEADER.size:
            return
        payload = datagram[offset + NLMSG_HEADER.size: offset + length]
        yield msg_type, payload.rstrip(b"\0")
        offset += (length + 3) & ~3


class Attributor:
    """pid -> container ids, read once per pid from /proc (``--pid=host`` shows host pids)."""

    def __init__(self, proc: str = "/proc", limit: int = 65536):
        self.proc = proc
        self.limit = limit
        self.cache: dict[int, list[str]] = {}

    def ids(self, pid: int) -> list[str]:
        cached = self.cache.get(pid)      # .get: the reader thread may clear the cache
        if cached is not None:
            return cached
        try:
            with open(f"{self.proc}/{pid}/cgroup") as f:
                ids = container_ids_from_cgroup(f.read())
        except OSError:
            return []          # the process already exited: do not cache a miss
        if len(self.cache) >= self.limit:
            self.cache.clear()
        self.cache[pid] = ids
        return ids


def open_socket() -> tuple[socket.socket, int]:
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_AUDIT)
    # FORCE ignores net.core.rmem_max (a 16 MiB buffer holds ~20,000 records of 832 bytes,
    # 150 ms of a burst) but needs CAP_NET_ADMIN, dropped right after; without it the buffer
    # is capped at 2 x net.core.rmem_max (`make engine` raises that to 8 MiB)
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF_BYTES)
    except OSError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF_BYTES)
    sock.bind((0, 1 << (AUDIT_NLGRP_READLOG - 1)))
    return sock, sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)


def drop_capability(cap: int) -> bool:
    """Remove ``cap`` from this process for good: the bounding set (needs CAP_SETPCAP, which
    containers have) and the effective, permitted and inheritable sets. True when it is gone."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
    header = (ctypes.c_uint32 * 2)(LINUX_CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()            # {effective, permitted, inheritable} x 2 words
    if libc.capget(header, data) != 0:
        return False
    word, bit = divmod(cap, 32)
    for i in range(3):
        data[word * 3 + i] &= ~(1 << bit) & 0xFFFFFFFF
    return libc.capset(header, data) == 0 and not has_capability(cap)


def has_capability(cap: int, status_path: str = "/proc/self/status") -> bool:
    """Is ``cap`` in this process's effective or bounding set?"""
    with open(status_path) as f:
        fields = dict(line.split(":\t", 1) for line in f if ":\t" in line)
    return any(int(fields[key], 16) >> cap & 1 for key in ("CapEff", "CapBnd"))


def socket_drops(sock: socket.socket) -> int | None:
    try:
        raw = sock.getsockopt(socket.SOL_SOCKET, SO_MEMINFO, 4 * (SK_MEMINFO_DROPS + 1))
    except OSError:
        return None
    return struct.unpack(f"={len(raw) // 4}I", raw)[SK_MEMINFO_DROPS]


def actions_logged() -> str:
    """Which seccomp actions the kernel logs; without "log", SCMP_ACT_LOG records nothing."""
    try:
        with open("/proc/sys/kernel/seccomp/actions_logged") as f:
            return f.read().strip()
    except OSError:
        return ""


def record_lines(datagram: bytes, attributor: Attributor) -> list[str]:
    lines = []
    for msg_type, payload in netlink_messages(datagram):
        name = KEPT_TYPES.get(msg_type)
        if name is None:
            continue
        match = _PID_FIELD.search(payload)
        pid = int(match.group(1)) if match else None
        ids = attributor.ids(pid) if pid else []
        lines.append(json.dumps({
            "event": "record", "type": msg_type, "pid": pid,
            "raw": f"type={name} msg=" + payload.decode(errors="replace"),
            "container_id": ids[-1] if ids else None, "cgroup_ids": ids,
        }))
    return lines


FRAME = struct.Struct("=cI")   # kind (b"B" datagrams, b"P" pid attribution, b"L" lost), length


def pack_frame(kind: bytes, payload: bytes) -> bytes:
    return FRAME.pack(kind, len(payload)) + payload


def split_frames(data: bytes) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """Complete (kind, payload) frames in ``data`` and the incomplete rest."""
    frames, offset = [], 0
    while offset + FRAME.size <= len(data):
        kind, length = FRAME.unpack_from(data, offset)
        end = offset + FRAME.size + length
        if end > len(data):
            break
        frames.append((kind, data[offset + FRAME.size:end]))
        offset = end
    return frames, data[offset:]


def split_datagrams(batch: bytes) -> list[bytes]:
    """Datagrams received back to back: each audit multicast datagram is one netlink message
    whose ``nlmsg_len`` is the datagram's exact length (no padding between them)."""
    out, offset = [], 0
    while offset + NLMSG_HEADER.size <= len(batch):
        length = NLMSG_HEADER.unpack_from(batch, offset)[0]
        if length < NLMSG_HEADER.size:
            break
        out.append(batch[offset:offset + length])
        offset += length
    return out


class _MsgHdr(ctypes.Structure):
    _fields_ = [("name", ctypes.c_void_p), ("namelen", ctypes.c_uint32), ("iov", ctypes.c_void_p),
                ("iovlen", ctypes.c_size_t), ("control", ctypes.c_void_p),
                ("controllen", ctypes.c_size_t), ("flags", ctypes.c_int)]


class _MMsgHdr(ctypes.Structure):
    _fields_ = [("hdr", _MsgHdr), ("len", ctypes.c_uint)]


class _IoVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


class BatchReceiver:
    """recvmmsg(2) through ctypes: up to ``slots`` datagrams per system call instead of one
    Python call each (the difference between keeping up with a burst and dropping a quarter)."""

    SLOT = 9216                   # > the kernel's largest audit message (8970 bytes)
    MSG_WAITFORONE = 0x10000

    def __init__(self, sock: socket.socket, slots: int = 1024):
        self.fd, self.slots = sock.fileno(), slots
        self.buffer = ctypes.create_string_buffer(self.SLOT * slots)
        base = ctypes.addressof(self.buffer)
        self.iovs = (_IoVec * slots)(*[_IoVec(base + i * self.SLOT, self.SLOT) for i in range(slots)])
        self.msgs = (_MMsgHdr * slots)()
        for i in range(slots):
            self.msgs[i].hdr.iov = ctypes.addressof(self.iovs[i])
            self.msgs[i].hdr.iovlen = 1
        self.view = memoryview(self.buffer).cast("B")
        self.libc = ctypes.CDLL(None, use_errno=True)

    def receive(self) -> bytes:
        """Block for one datagram, return it and every other one queued, back to back."""
        while True:
            n = self.libc.recvmmsg(self.fd, self.msgs, self.slots, self.MSG_WAITFORONE, None)
            if n >= 0:
                break
            err = ctypes.get_errno()
            if err not in (errno.ENOBUFS, errno.EINTR):     # ENOBUFS: drops, counted from SO_MEMINFO
                raise OSError(err, os.strerror(err))
        view, size, msgs = self.view, self.SLOT, self.msgs
        return b"".join([view[i * size:i * size + msgs[i].len] for i in range(n)])


def read_raw(sock: socket.socket, raw_fd: int, attributor: Attributor) -> None:
    """The reader process: nothing but receive batches, attribute new pids, append each batch
    to a file; no parsing.

    Why its own process: formatting JSON costs ~10x a receive; in one process the two share
    the GIL, the socket buffer fills during a burst and the kernel drops records. A pid seen
    for the first time is attributed here, at once: a short-lived process (an exec'd `curl`)
    may be gone by the time its records are formatted."""
    receiver = BatchReceiver(sock)
    drops_seen = socket_drops(sock) or 0
    while True:
        batch = receiver.receive()
        out = []
        for pid in {int(p) for p in _PID_FIELD.findall(batch)} - attributor.cache.keys():
            out.append(pack_frame(b"P", json.dumps([pid, attributor.ids(pid)]).encode()))
        out.append(pack_frame(b"B", batch))
        drops = socket_drops(sock)
        if drops is not None and drops > drops_seen:
            out.append(pack_frame(b"L", str(drops - drops_seen).encode()))
            drops_seen = drops
        os.write(raw_fd, b"".join(out))


def frame_lines(frames: list[tuple[bytes, bytes]], attributor: Attributor) -> list[str]:
    """The JSON lines for a list of frames (attribution frames fill the pid cache)."""
    lines: list[str] = []
    for kind, payload in frames:
        if kind == b"B":
            for datagram in split_datagrams(payload):
                lines += record_lines(datagram, attributor)
        elif kind == b"P":
            pid, ids = json.loads(payload)
            attributor.cache[pid] = ids
        elif kind == b"L":
            lines.append(json.dumps({"event": "lost", "count": int(payload), "reason":
                                     "socket receive buffer overflowed (ENOBUFS)"}))
    return lines


def format_forever(raw_path: str, out) -> None:
    """The formatter process: tail the frame file, write JSON lines, at a lower priority.
    Each time it has caught up it says how far (``{"event": "caught_up", "offset": N}``), so
    a reader of the output knows whether records are still waiting in the frame file."""
    os.nice(10)
    attributor = Attributor()
    pending, offset, reported = b"", 0, 0
    with open(raw_path, "rb") as raw:
        while True:
            chunk = raw.read(1 << 20)
            if not chunk:
                if offset != reported:
                    out.write(json.dumps({"event": "caught_up", "offset": offset}) + "\n")
                    out.flush()
                    reported = offset
                time.sleep(0.005)
                continue
            frames, pending = split_frames(pending + chunk)
            offset += len(chunk)
            lines = frame_lines(frames, attributor)
            if lines:
                out.write("\n".join(lines) + "\n")
                out.flush()


def main(argv: list[str]) -> int:
    out = open(argv[0], "a", buffering=1 << 20) if argv else sys.stdout  # noqa: SIM115 -- or stdout, closed by exit
    try:
        sock, rcvbuf = open_socket()
    except PermissionError:
        out.write(json.dumps({"event": "error", "message":
                              "cannot subscribe to audit multicast: needs CAP_AUDIT_READ and the "
                              "host network namespace (--net=host --cap-add AUDIT_READ)"}) + "\n")
        out.flush()
        return 2
    dropped = drop_capability(CAP_NET_ADMIN)
    raw_path = os.path.join(os.path.dirname(os.path.abspath(argv[0])) if argv else "/tmp", "frames.bin")
    raw_fd = os.open(raw_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o600)
    out.write(json.dumps({"event": "ready", "rcvbuf": rcvbuf, "net_admin_dropped": dropped,
                          "actions_logged": actions_logged()}) + "\n")
    out.flush()
    if os.fork() == 0:            # child: the formatter; it dies with the container
        sock.close()
        format_forever(raw_path, out)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    read_raw(sock, raw_fd, Attributor())
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except (KeyboardInterrupt, BrokenPipeError):
        sys.exit(0)
