"""The Dagster code location (pyproject.toml's ``[tool.dagster]``, workspace.yaml): the
definitions assembled in ``runs/location.py``, shared with the CLI's runner."""

from orchestration.runs.location import code_location

defs = code_location()
