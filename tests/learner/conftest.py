"""Learner-path tier: a scripted learner follows each lesson and earns the exercise's marks.

Uses the notebook tier's ``require_core`` fixture: skipped, with the reason, when this machine
lacks what the lesson's core needs (a Docker engine, the kind cluster).
"""
from tests.notebooks.conftest import available, require_core  # noqa: F401  (shared fixtures)
