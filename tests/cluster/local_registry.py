"""A throw-away container registry on 127.0.0.1, for the tests of the node image's registry path.

Our machines reach no registry, so "where the registry answers" (labs.cluster.nodesource) is
proved against distribution's registry, the server Docker Hub runs, built from the Go module
proxy. ``python tests/cluster/local_registry.py`` builds it before the tests (``make test`` does),
so the tests themselves talk to 127.0.0.1 only.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from labs.cluster.gobuild import install_go_program
from labs.paths import state_dir

REGISTRY_PACKAGE = "github.com/distribution/distribution/v3/cmd/registry"
REGISTRY_VERSION = "v3.1.2"
#: the registry would otherwise export traces to an OTLP collector
QUIET_TELEMETRY = {"OTEL_TRACES_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "none",
                   "OTEL_LOGS_EXPORTER": "none"}


def registry_binary() -> Path:
    """Build the registry once per machine (``<state>/test-tools/registry``)."""
    gobin = state_dir() / "test-tools"
    binary = gobin / "registry"
    if not binary.is_file():
        gobin.mkdir(parents=True, exist_ok=True)
        install_go_program(REGISTRY_PACKAGE, REGISTRY_VERSION, gobin)
    return binary


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalRegistry:
    """``with LocalRegistry() as registry:`` serves ``registry.address`` until the block ends."""

    def __init__(self) -> None:
        self.address = f"127.0.0.1:{_free_port()}"
        self._folder = tempfile.TemporaryDirectory(prefix="course-registry-")
        self._process: subprocess.Popen | None = None

    def start(self) -> LocalRegistry:
        root = Path(self._folder.name)
        config = root / "config.yml"
        config.write_text("version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n"
                          f"    rootdirectory: {root / 'data'}\nhttp:\n  addr: {self.address}\n")
        self._process = subprocess.Popen([str(registry_binary()), "serve", str(config)],
                                         stdout=subprocess.DEVNULL, stderr=(root / "registry.log").open("w"),
                                         env={**os.environ, **QUIET_TELEMETRY})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://{self.address}/v2/", timeout=2) as answer:
                    if answer.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the local registry did not answer on {self.address}: "
                           f"{(root / 'registry.log').read_text()[-500:]}")

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(timeout=30)

    def __enter__(self) -> LocalRegistry:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
        self._folder.cleanup()


if __name__ == "__main__":
    print(f"local registry for tests: {registry_binary()}")
    sys.exit(0)
