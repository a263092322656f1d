"""The Dagster code location (pyproject.toml's ``[tool.dagster]``, workspace.yaml): the
definitions assembled in ``runs/location.py``, shared with the CLI's runner, and the
alerts' sensors, schedule and job (``runs/alerts/automation.py``, docs/alerts.md), which
only the daemon runs."""

import dagster as dg

from orchestration.runs.alerts.automation import ALERT_JOBS, ALERT_SCHEDULES, ALERT_SENSORS
from orchestration.runs.location import code_location

defs = dg.Definitions.merge(
    code_location(),
    dg.Definitions(jobs=ALERT_JOBS, sensors=ALERT_SENSORS, schedules=ALERT_SCHEDULES),
)
