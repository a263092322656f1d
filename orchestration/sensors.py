"""Sensors: the landing zone starts the work.

``landing_sensor`` finds complete deliveries (manifest present), adds new periods as
partitions and requests the ingestion run for each (period, insurer) whose delivery
in force is new. ``period_sensor`` requests the period's method run once every landed
delivery of the period has been ingested, once per combination of deliveries.
"""

import hashlib

import dagster as dg

from orchestration.config import SpiegelPaths, default_data_dir, required_insurers
from orchestration.jobs import compute_period_job, ingest_delivery_job
from orchestration.landing import complete_deliveries, in_force
from orchestration.partitions import PERIOD_PARTITIONS_NAME, delivery_key, insurer_partitions

INTERVAL_SECONDS = 30


def _landing_plan(paths: SpiegelPaths) -> dict[str, dict[str, str]]:
    """period -> insurer -> delivery_id in force, for the insurers that are partitions."""
    deliveries = complete_deliveries(paths.landing)
    insurers = set(insurer_partitions.get_partition_keys())
    plan: dict[str, dict[str, str]] = {}
    for period in sorted({d.period for d in deliveries}):
        for insurer in required_insurers(period):
            ref = in_force(deliveries, period, insurer)
            if ref is not None and insurer in insurers:
                plan.setdefault(period, {})[insurer] = ref.delivery_id
    return plan


@dg.sensor(job=ingest_delivery_job, minimum_interval_seconds=INTERVAL_SECONDS,
           default_status=dg.DefaultSensorStatus.RUNNING,
           description="Requests the ingestion of every new complete delivery under landing/.")
def landing_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    plan = _landing_plan(SpiegelPaths(default_data_dir()))
    known = set(context.instance.get_dynamic_partitions(PERIOD_PARTITIONS_NAME))
    new_periods = sorted(set(plan) - known)
    requests = [
        dg.RunRequest(run_key=f"{period}|{insurer}|{delivery_id}", partition_key=delivery_key(period, insurer),
                      tags={"spiegel/trigger": "landing_sensor", "spiegel/delivery_id": delivery_id})
        for period, by_insurer in plan.items() for insurer, delivery_id in sorted(by_insurer.items())
    ]
    return dg.SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[dg.AddDynamicPartitionsRequest(
            PERIOD_PARTITIONS_NAME, new_periods)] if new_periods else [],
    )


def _ingested_delivery_id(instance: dg.DagsterInstance, period: str, insurer: str) -> str | None:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("delivery"), asset_partitions=[str(delivery_key(period, insurer))]),
        limit=1,
    ).records
    if not records:
        return None
    metadata = records[0].asset_materialization.metadata if records[0].asset_materialization else {}
    value = metadata.get("delivery_id")
    return getattr(value, "value", value)


@dg.sensor(job=compute_period_job, minimum_interval_seconds=INTERVAL_SECONDS,
           default_status=dg.DefaultSensorStatus.RUNNING,
           description="Runs the method for a period once all its landed deliveries are ingested.")
def period_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    plan = _landing_plan(SpiegelPaths(default_data_dir()))
    known = set(context.instance.get_dynamic_partitions(PERIOD_PARTITIONS_NAME))
    requests = []
    for period, by_insurer in plan.items():
        if period not in known:
            continue
        if all(_ingested_delivery_id(context.instance, period, i) == d for i, d in by_insurer.items()):
            combo = hashlib.sha256(repr(sorted(by_insurer.items())).encode()).hexdigest()[:16]
            requests.append(dg.RunRequest(run_key=f"{period}|{combo}", partition_key=period,
                                          tags={"spiegel/trigger": "period_sensor"}))
    return dg.SensorResult(run_requests=requests)
