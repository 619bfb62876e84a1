"""Relay one TCP connection between stdin/stdout and HOST:PORT (``python tcp_relay.py HOST PORT``).

Why: QEMU's restricted user network lets a guest reach the host only through ``guestfwd``
rules, and a ``guestfwd ... -cmd:`` rule starts one program per guest connection with the
connection on its stdin and stdout. This is that program: it joins the guest to a service
listening on the host's loopback (a kind API server's published port), nothing else.
"""
from __future__ import annotations

import os
import socket
import sys
import threading

__all__ = ["relay"]


def relay(host: str, port: int) -> None:
    upstream = socket.create_connection((host, port), timeout=30)
    upstream.settimeout(None)

    def guest_to_host() -> None:
        while data := os.read(0, 65536):
            upstream.sendall(data)
        upstream.shutdown(socket.SHUT_WR)

    threading.Thread(target=guest_to_host, daemon=True).start()
    while data := upstream.recv(65536):
        os.write(1, data)


if __name__ == "__main__":
    relay(sys.argv[1], int(sys.argv[2]))
