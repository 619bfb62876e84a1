"""Browser tier: the JupyterLab that `make lab` starts, driven by Debian's Chromium.

Chromium comes from the distribution (`apt-get install chromium`), never downloaded by
Playwright: the machines this runs on reach no browser CDN, and the version must be one
the distribution patches.
"""
from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
#: `make lab`'s command. The file argument is resolved against the working directory, not
#: --notebook-dir, so it must be notebooks/00-welcome.ipynb. The test adds: loopback, a port,
#: a token, no browser, no update or news checks.
LAB_COMMAND = [str(ROOT / ".venv" / "bin" / "jupyter"), "lab", "--notebook-dir=notebooks", "notebooks/00-welcome.ipynb",
               *(["--allow-root"] if os.geteuid() == 0 else [])]   # CI runs as root; Jupyter refuses that otherwise


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def jupyter_lab(tmp_path_factory):
    """Start JupyterLab as `make lab` does; yield (base URL, token); stop it afterwards."""
    if not CHROMIUM.exists():
        pytest.skip("this machine lacks Chromium at /usr/bin/chromium (apt-get install chromium)")
    state = tmp_path_factory.mktemp("jupyter")
    port, token = free_port(), secrets.token_hex(16)
    env = dict(os.environ, PYTHONPATH=str(ROOT), COURSE_WORKSPACE=str(state / "workspace"),
               JUPYTER_CONFIG_DIR=str(state / "config"), JUPYTER_RUNTIME_DIR=str(state / "runtime"),
               JUPYTERLAB_WORKSPACES_DIR=str(state / "lab-workspaces"),
               PATH=f"{ROOT / '.venv' / 'bin'}:{os.environ.get('PATH', '')}")
    command = LAB_COMMAND + ["--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
                             "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
                             "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    log = open(state / "lab.log", "wb")
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
