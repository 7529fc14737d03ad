"""Thin job entry points, runnable as-is by spark-submit / ray job submit."""
