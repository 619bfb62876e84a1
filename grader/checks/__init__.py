"""Reusable check building blocks; exercises in ``grader/exercises`` compose them."""
