"""Browser tier: the JupyterLab that `make lab` starts, driven by Debian's Chromium.

Chromium comes from the distribution (`apt-get install chromium`), never downloaded by
Playwright: the machines this runs on reach no browser CDN, and the version must be one
the distribution patches.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
#: `make lab` with its JupyterLab command swapped for a script that prints the arguments and
#: environment it got: the test then starts JupyterLab exactly as `make lab` does (KUBECONFIG,
#: PATH with the course's kubectl, the terminals' shell). `-o cluster`: the cluster is not
#: (re)made here; `make test` made it, and lesson 00 ensures it.
JUPYTER = ROOT / ".venv" / "bin" / "jupyter"
LAUNCH_DUMP = Path(__file__).resolve().parent / "launch_dump.py"


def make_lab_launch(env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """(command, environment) of the JupyterLab that `make lab` starts, read from the Makefile."""
    if not shutil.which("make"):
        pytest.fail("`make` is not installed: the browser test starts JupyterLab through `make lab`")
    make_lab = ["make", "-s", "--no-print-directory", "-o", "cluster", "lab",
                f"JUPYTER_LAB={sys.executable} {LAUNCH_DUMP}"]
    done = subprocess.run(make_lab, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        pytest.fail(f"`make lab` (dry) failed:\n{done.stdout}{done.stderr}")
    launch = json.loads(next(line for line in done.stdout.splitlines() if line.startswith('{"argv"')))
    return [str(JUPYTER), "lab", *launch["argv"]], launch["env"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")     # stopped after the browser tests, not left running for the later tiers
def jupyter_lab(tmp_path_factory):
    """Start JupyterLab as `make lab` does (its command and environment, plus loopback, a port,
    a token, no browser, no update or news checks); yield (base URL, token); stop it afterwards."""
    if not CHROMIUM.exists():
        pytest.skip("this machine lacks Chromium at /usr/bin/chromium (apt-get install chromium)")
    state = tmp_path_factory.mktemp("jupyter")
    port, token = free_port(), secrets.token_hex(16)
    command, env = make_lab_launch(dict(
        os.environ, COURSE_WORKSPACE=str(state / "workspace"),
        JUPYTER_CONFIG_DIR=str(state / "config"), JUPYTER_RUNTIME_DIR=str(state / "runtime"),
        JUPYTERLAB_WORKSPACES_DIR=str(state / "lab-workspaces")))
    command += ["--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
                "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
                "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    # xterm.js draws on a canvas; its screen-reader mode also writes the rows as DOM text,
    # which is what the terminal test reads (a user setting, like a learner could set it)
    settings = state / "config" / "lab" / "user-settings" / "@jupyterlab" / "terminal-extension"
    settings.mkdir(parents=True)
    (settings / "plugin.jupyterlab-settings").write_text('{"screenReaderMode": true}\n')
    log = open(state / "lab.log", "wb")  # noqa: SIM115 -- JupyterLab writes to it until teardown closes it
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2):
                break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"JupyterLab did not start:\n{(state / 'lab.log').read_text()[-3000:]}")
            time.sleep(0.5)
    try:
        yield base, token
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture
def page(tmp_path):
    """A fresh headless Chromium page (own profile folder)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=str(CHROMIUM), headless=True,
            args=CHROMIUM_FLAGS, viewport={"width": 1400, "height": 1000})
        try:
            yield browser.pages[0] if browser.pages else browser.new_page()
        finally:
            browser.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
