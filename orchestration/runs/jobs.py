"""Jobs: the units the CLI, the sensors and the UI launch (the same ones everywhere)."""

from __future__ import annotations

import dagster as dg

from orchestration.gates.delivery_asset import delivery
from orchestration.method.asset import method
from orchestration.method.configuration import CONFIGURATION_JOB, configuration
from orchestration.release.assets import release, release_readiness, signoff
from orchestration.runs.instance import WAREHOUSE_READ, WAREHOUSE_TAG, WAREHOUSE_WRITE
from orchestration.runs.period_ingestion import ingest_period_job

INGEST_JOB = "ingest_delivery"
PERIOD_JOB = "compute_period"
SIGNOFF_JOB = "sign_off"
PUBLISH_JOB = "publish_release"

# The run queue launches one warehouse writer at a time (runs/instance.py: tag concurrency);
# sign-off and publishing only read the warehouse and may run beside a writer's queue turn
# (they wait on its shared lock).
WRITES_WAREHOUSE = {WAREHOUSE_TAG: WAREHOUSE_WRITE}
READS_WAREHOUSE = {WAREHOUSE_TAG: WAREHOUSE_READ}

load_configuration_job = dg.define_asset_job(
    CONFIGURATION_JOB,
    tags=WRITES_WAREHOUSE,
    selection=dg.AssetSelection.assets(configuration),
    description="Load the seeds (periods, age bands, prestatie codes, labels, required insurers) into the "
    "warehouse with their tests: once per version of dbt_project/, before any period's method run.",
)

ingest_delivery_job = dg.define_asset_job(
    INGEST_JOB,
    tags=WRITES_WAREHOUSE,
    selection=dg.AssetSelection.assets(delivery),
    description="Validate, load and gate one insurer's delivery in force for one period.",
)

compute_period_job = dg.define_asset_job(
    PERIOD_JOB,
    tags=WRITES_WAREHOUSE,
    selection=dg.AssetSelection.assets(method) | dg.AssetSelection.assets(release_readiness),
    description="Run the method (dbt) over all insurers' deliveries of one period, then judge release readiness.",
)

signoff_job = dg.define_asset_job(
    SIGNOFF_JOB,
    tags=READS_WAREHOUSE,
    selection=dg.AssetSelection.assets(signoff),
    description="Record the data-quality sign-off of a period (launchpad config: by, comment).",
)

publish_job = dg.define_asset_job(
    PUBLISH_JOB,
    tags=READS_WAREHOUSE,
    selection=dg.AssetSelection.assets(release),
    description="Publish the next revision of a signed-off period with its reports.",
)

ALL_JOBS = [
    load_configuration_job,
    ingest_period_job,
    ingest_delivery_job,
    compute_period_job,
    signoff_job,
    publish_job,
]
