"""What Dagster loads (``orchestration/definitions.py``): the code location and the alerts'
sensors, schedule and job (``runs/alerts/automation.py``, docs/alerts.md), which only the
daemon runs. A module of its own: the alerts read the runs, so the code location itself
cannot import them without a cycle."""

from __future__ import annotations

from functools import lru_cache

import dagster as dg

from orchestration.runs.alerts.automation import ALERT_JOBS, ALERT_SCHEDULES, ALERT_SENSORS
from orchestration.runs.location import code_location


@lru_cache(maxsize=1)
def dagster_location() -> dg.Definitions:
    return dg.Definitions.merge(
        code_location(),
        dg.Definitions(jobs=ALERT_JOBS, sensors=ALERT_SENSORS, schedules=ALERT_SCHEDULES),
    )
