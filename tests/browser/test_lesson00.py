"""A learner's first minutes: open lesson 00, run it, press a check button, read feedback."""
from __future__ import annotations

import re

import pytest


@pytest.mark.slow
def test_lesson00_check_button_gives_feedback(jupyter_lab, page, artifacts):
    base, token = jupyter_lab
    try:
        page.goto(f"{base}/lab/tree/00-welcome.ipynb?token={token}")
        page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=120_000)
        page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=120_000)
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name=re.compile(r"^Run All Cells")).click()

        panel = page.locator(".course-check-panel")
        stamp = panel.locator(".course-check-stamp")
        stamp.filter(has_text="check #1").wait_for(timeout=600_000)   # lesson 00 may create the cluster first
        panel.get_by_role("button", name="Check my answer").click()
        stamp.filter(has_text="check #2").wait_for(timeout=300_000)
        feedback = panel.inner_text()
    finally:
        page.screenshot(path=str(artifacts / "lesson00-check.png"), full_page=True)
    assert "00-doctor" in feedback and "points" in feedback, feedback
    assert "not yet" in feedback.lower(), feedback          # ready.txt is still the starter
    assert "Traceback" not in page.locator(".jp-Notebook").inner_text()


@pytest.mark.slow
def test_lesson00_terminal_runs_kubectl_get_nodes(jupyter_lab, page, artifacts):
    """Lesson 00's terminal step: File > New > Terminal, then `kubectl get nodes` answers at
    once, because `make lab` gave JupyterLab KUBECONFIG and the course's kubectl on PATH."""
    import time

    from labs.cluster import get_config

    node = f"{get_config('default').cluster_name}-control-plane"
    base, token = jupyter_lab
    text = ""
    try:
        page.goto(f"{base}/lab?token={token}")
        page.get_by_role("menuitem", name="File", exact=True).wait_for(timeout=120_000)
        page.get_by_role("menuitem", name="File", exact=True).click()
        page.locator(".lm-Menu-item").filter(has_text=re.compile(r"^New\s*$")).first.hover()
        page.get_by_role("menuitem", name="Terminal", exact=True).click()
        terminal = page.locator(".jp-Terminal").last
        rows = terminal.locator(".xterm-accessibility-tree")
        rows.wait_for(state="attached", timeout=60_000)
        deadline = time.monotonic() + 30
        while "$" not in text and "#" not in text and time.monotonic() < deadline:   # the prompt
            time.sleep(0.5)
            text = rows.inner_text()
        terminal.click()
        page.keyboard.type("kubectl get nodes\n")
        deadline = time.monotonic() + 60
        while not re.search(rf"{re.escape(node)}\s+Ready", text) and time.monotonic() < deadline:
            time.sleep(0.5)
            text = rows.inner_text()
    finally:
        page.screenshot(path=str(artifacts / "lesson00-terminal.png"), full_page=True)
    assert re.search(rf"{re.escape(node)}\s+Ready", text), text
    assert "command not found" not in text and "localhost:8080" not in text, text
