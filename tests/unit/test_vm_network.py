"""The AppArmor VM's restricted user network: the -nic option and the guestfwd relay."""
from __future__ import annotations

import socket
import subprocess
import sys
import threading

from labs.apparmor import tcp_relay
from labs.apparmor.vm_network import GUEST_ADDRESS, VmNetwork


def test_the_guest_gets_a_restricted_network_with_only_the_listed_forwards():
    nic = VmNetwork(to_guest=(("172.18.0.1", 10250, 10250),), to_host=(("10.0.2.100", 6443, "127.0.0.1", 40837),)).nic()
    options = nic.split(",")
    assert options[:3] == ["user", "model=virtio-net-pci", "restrict=on"]
    assert f"hostfwd=tcp:172.18.0.1:10250-{GUEST_ADDRESS}:10250" in options
    guestfwd = next(o for o in options if o.startswith("guestfwd="))
    assert guestfwd.startswith("guestfwd=tcp:10.0.2.100:6443-cmd:")
    assert guestfwd.endswith("tcp_relay.py 127.0.0.1 40837")


def test_no_forwards_means_a_network_that_reaches_nothing():
    assert VmNetwork().nic() == "user,model=virtio-net-pci,restrict=on"


def test_the_relay_joins_its_stdin_and_stdout_to_a_loopback_service():
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def echo_upper():
        connection, _ = server.accept()
        with connection:
            while data := connection.recv(4096):
                connection.sendall(data.upper())
    threading.Thread(target=echo_upper, daemon=True).start()
    relay = subprocess.run([sys.executable, tcp_relay.__file__, "127.0.0.1", str(port)], input=b"hello guest\n",
                           capture_output=True, timeout=30)
    server.close()
    assert relay.returncode == 0, relay.stderr
    assert relay.stdout == b"HELLO GUEST\n"
