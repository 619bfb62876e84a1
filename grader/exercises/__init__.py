"""The exercise registry: one module per exercise, each defining ``EXERCISE``."""
from __future__ import annotations

import importlib
import pkgutil

from labs.errors import LabError

from ..context import Exercise

__all__ = ["EXERCISES", "get_exercise"]


def _load() -> dict[str, Exercise]:
    found = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("ex"):
            exercise = importlib.import_module(f"{__name__}.{info.name}").EXERCISE
            found[exercise.id] = exercise
    return dict(sorted(found.items()))


EXERCISES: dict[str, Exercise] = _load()


def get_exercise(exercise_id: str) -> Exercise:
    if exercise_id not in EXERCISES:
        raise LabError(f"unknown exercise {exercise_id!r}", fix=f"use one of: {', '.join(EXERCISES)}")
    return EXERCISES[exercise_id]
