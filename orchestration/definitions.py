"""The Dagster code location (pyproject.toml's ``[tool.dagster]``, workspace.yaml): the
definitions assembled in ``runs/location.py``, shared with the CLI's runner, and the
alerts' sensors, schedule and job (``runs/alerts/automation.py``, docs/alerts.md), which
only the daemon runs."""

from orchestration.runs.loaded import dagster_location

defs = dagster_location()
