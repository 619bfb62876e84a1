"""The collector sizes its socket buffer beyond net.core.rmem_max (so a recording's burst is
not dropped) and gives up CAP_NET_ADMIN before it reads a single record."""
from pathlib import Path

from labs.runner import run

CAP_NET_ADMIN = 12


def test_collector_has_a_large_buffer_and_no_net_admin(collector):
    rmem_max = int(Path("/proc/sys/net/core/rmem_max").read_text())
    assert collector.rcvbuf > 2 * rmem_max, (collector.rcvbuf, rmem_max)
    pids = run(["docker", "top", collector.name, "-eo", "pid"]).stdout.split()[1:]
    assert len(pids) == 2          # the reader and the formatter
    for pid in pids:
        status = dict(line.split(":\t", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                      if ":\t" in line)
        for key in ("CapEff", "CapPrm", "CapInh", "CapBnd"):
            assert not int(status[key], 16) >> CAP_NET_ADMIN & 1, (pid, key, status[key])
