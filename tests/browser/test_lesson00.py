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
