"""QEMU's restricted user network for the AppArmor VM: the guest reaches only what it is given.

Why: a kind worker node in the guest must reach the API server of a control plane running on
the host, and the API server must reach the node's kubelet; nothing else may leave the guest
(``restrict=on``). Kept apart from :mod:`.vm`, which boots the guest with or without it.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["GUEST_ADDRESS", "VmNetwork"]

#: the guest's own address on QEMU's user network (the address its host forwards reach)
GUEST_ADDRESS = "10.0.2.15"


@dataclass(frozen=True)
class VmNetwork:
    """QEMU's user network with ``restrict=on``: the guest reaches no host and no outside
    address, only what these forwards name.

    ``to_guest``: (host address, host port, guest port): the host listens, QEMU connects to
    the guest (a node's kubelet, reached by the API server). ``to_host``: (guest address,
    guest port, host address, host port): a guest connection to the first pair is relayed to
    the second, which should be a loopback port (a kind API server's published port). The
    guest configures its interface itself (:data:`GUEST_ADDRESS`, router ``10.0.2.2``).
    """

    to_guest: tuple[tuple[str, int, int], ...] = ()
    to_host: tuple[tuple[str, int, str, int], ...] = ()

    def nic(self) -> str:
        """The ``-nic`` option's value."""
        from . import tcp_relay

        relay = f"{sys.executable} {Path(tcp_relay.__file__).resolve()}"
        rules = [f"hostfwd=tcp:{host}:{port}-{GUEST_ADDRESS}:{guest}" for host, port, guest in self.to_guest]
        rules += [f"guestfwd=tcp:{addr}:{port}-cmd:{relay} {host} {host_port}"
                  for addr, port, host, host_port in self.to_host]
        return ",".join(["user", "model=virtio-net-pci", "restrict=on", *rules])
