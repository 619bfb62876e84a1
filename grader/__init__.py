"""The course autograder: per-exercise checks, ``check()`` for notebooks, a batch CLI.

In a notebook::

    import grader
    grader.start_exercise("04-least-privilege-nginx")     # workspace copy of the starter
    grader.check("04-least-privilege-nginx")               # -> GradeReport (HTML + JSON)

For a class: ``python -m grader grade SUBMISSIONS --exercise ID --out DIR``.
Submissions are data: never imported or executed; pods come from the grader's templates.
"""
from .api import check, exercise_readme, grade, list_exercises, start_exercise, workspace
from .model import CheckResult, GradeReport

__all__ = ["check", "grade", "exercise_readme", "workspace", "start_exercise", "list_exercises",
           "GradeReport", "CheckResult"]
