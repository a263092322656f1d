"""The code location: every asset, job, sensor and resource of the platform in one
``Definitions``, built once per process.

``orchestration/definitions.py`` hands it to Dagster (the webserver, the daemon, the
UI's code server); the CLI's runner (``runs/runner.py``) executes its jobs in its own
process. One object for both, so the CLI and the UI run exactly the same jobs.
"""

from __future__ import annotations

import os
from functools import lru_cache

import dagster as dg

from orchestration.core.crashpoints import CRASH_ENV, watch_step_boundaries
from orchestration.gates.delivery_asset import delivery
from orchestration.method.asset import method
from orchestration.method.configuration import configuration
from orchestration.release.assets import release, release_readiness, signoff
from orchestration.runs.jobs import ALL_JOBS
from orchestration.runs.resources import build_resources
from orchestration.runs.sensors import configuration_sensor, landing_sensor, period_sensor


@lru_cache(maxsize=1)
def code_location() -> dg.Definitions:
    if os.environ.get(CRASH_ENV):  # tests: kill this process at a step boundary (core/crashpoints.py)
        watch_step_boundaries()
    return dg.Definitions(
        assets=[configuration, delivery, method, release_readiness, signoff, release],
        jobs=ALL_JOBS,
        sensors=[configuration_sensor, landing_sensor, period_sensor],
        resources=build_resources(),
        # DuckDB has one writer: steps run one after another in the run's own process.
        executor=dg.in_process_executor,
    )
