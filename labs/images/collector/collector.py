#!/usr/bin/env python3
"""Read seccomp (1326) and AppArmor (1400) audit records from the kernel's audit netlink
multicast group and print them as JSON lines, each attributed to a container id.

Why a netlink reader: the kernel log (dmesg/syslog) rate-limits audit records and silently
drops most of them, and auditd may not be installed. AUDIT_NLGRP_READLOG gets every record
the kernel emits, needs only CAP_AUDIT_READ in the initial network namespace
(`docker run --net=host --pid=host --cap-add AUDIT_READ`), and no auditd.

Output, one JSON object per line on stdout (or appended to the file named by argument 1):
  {"event": "ready", "rcvbuf": N, "actions_logged": "..."}  subscribed; records follow
  {"event": "record", "type": 1326, "raw": "type=SECCOMP msg=audit(...): ...",
   "pid": 123, "container_id": "<64 hex>" | null, "cgroup_ids": [outer, ..., inner]}
  {"event": "lost", "count": N, "reason": "..."}          records dropped before we read them
Standard library only: the image holds nothing but python3.
"""
from __future__ import annotations

import collections
import errno
import json
import os
import re
import signal
import socket
import struct
import sys
import threading
import time

NETLINK_AUDIT = 9
AUDIT_NLGRP_READLOG = 1
SO_RCVBUFFORCE = 33
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
    # FORCE ignores net.core.rmem_max but needs CAP_NET_ADMIN, which we do not ask for: the
    # fallback is capped at 2 x net.core.rmem_max (`make engine` raises it to 8 MiB)
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF_BYTES)
    except OSError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF_BYTES)
    sock.bind((0, 1 << (AUDIT_NLGRP_READLOG - 1)))
    return sock, sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)


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


def read_forever(sock: socket.socket, queue: collections.deque, attributor: Attributor) -> None:
    """Move datagrams from the socket into memory as fast as possible: the kernel's socket
    buffer is small (net.core.rmem_max) and a full one drops records; memory is plentiful.

    A pid seen for the first time is attributed here, at once: a short-lived process (an
    exec'd `curl`, `unshare`) may be gone by the time the writer loop reaches its records."""
    while True:
        try:
            datagram = sock.recv(1 << 16)
            match = _PID_FIELD.search(datagram)
            if match and int(match.group(1)) not in attributor.cache:
                attributor.ids(int(match.group(1)))
            queue.append(datagram)
        except OSError as exc:
            if exc.errno != errno.ENOBUFS:     # ENOBUFS: drops, counted from SO_MEMINFO
                raise


def main(argv: list[str]) -> int:
    out = open(argv[0], "a", buffering=1 << 20) if argv else sys.stdout
    try:
        sock, rcvbuf = open_socket()
    except PermissionError:
        out.write(json.dumps({"event": "error", "message":
                              "cannot subscribe to audit multicast: needs CAP_AUDIT_READ and the "
                              "host network namespace (--net=host --cap-add AUDIT_READ)"}) + "\n")
        out.flush()
        return 2
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))   # records are flushed per batch
    sys.setswitchinterval(0.0005)      # let the reader thread grab the GIL often
    queue: collections.deque = collections.deque()
    attributor = Attributor()
    threading.Thread(target=read_forever, args=(sock, queue, attributor), daemon=True).start()
    out.write(json.dumps({"event": "ready", "rcvbuf": rcvbuf,
                          "actions_logged": actions_logged()}) + "\n")
    out.flush()
    drops_seen = socket_drops(sock) or 0
    while True:
        lines: list[str] = []
        while queue and len(lines) < 5000:
            lines += record_lines(queue.popleft(), attributor)
        drops = socket_drops(sock)
        if drops is not None and drops > drops_seen:
            lines.append(json.dumps({"event": "lost", "count": drops - drops_seen, "reason":
                                     "socket receive buffer overflowed (ENOBUFS)"}))
            drops_seen = drops
        if lines:
            out.write("\n".join(lines) + "\n")
            out.flush()
        elif not queue:
            time.sleep(0.005)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except (KeyboardInterrupt, BrokenPipeError):
        sys.exit(0)
