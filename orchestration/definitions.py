"""The Dagster code location: assembles, nothing else."""
from __future__ import annotations

import dagster as dg

from orchestration.assets.configuration import configuration
from orchestration.assets.ingestion import delivery
from orchestration.assets.method import method
from orchestration.assets.release import release, release_readiness, signoff
from orchestration.jobs import ALL_JOBS
from orchestration.resources import build_resources
from orchestration.sensors import configuration_sensor, landing_sensor, period_sensor

defs = dg.Definitions(
    assets=[configuration, delivery, method, release_readiness, signoff, release],
    jobs=ALL_JOBS,
    sensors=[configuration_sensor, landing_sensor, period_sensor],
    resources=build_resources(),
    # DuckDB has one writer: steps run one after another in the run's own process.
    executor=dg.in_process_executor,
)
