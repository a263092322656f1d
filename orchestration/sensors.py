"""Sensors: the landing zone starts the work, and only work that is not done yet.

``landing_sensor`` finds complete deliveries (manifest present), adds new periods as
partitions and requests the ingestion run for each (period, insurer) whose delivery
in force is not yet validated and gated. ``period_sensor`` requests the period's
method run once every landed delivery of the period has been ingested, unless the
period's latest computation already used exactly the deliveries now in force.
``configuration_sensor`` loads the seeds when the dbt project changed since they were
loaded (a period's method run waits for that).

"Done" is read from the Dagster instance, whoever did the work: ``spiegel run`` (the
CLI launches the same jobs on the same instance), the UI or a sensor. A delivery is
done when the ``delivery`` asset's latest materialization for its partition names its
``delivery_id`` and that run evaluated the three delivery checks. A period is done
when the latest ``release_readiness`` materialization lists the deliveries now in
force (its ``deliveries`` metadata). Run keys stay as a second guard: a sensor never
requests the same (delivery) or (period, deliveries) twice. Nothing is requested
while a run of the same job and partition is queued or in progress.

Each evaluation also fails the runs whose process is gone (``stale_runs.py``), so the
UI never shows work in progress that is not.
"""

import hashlib

import dagster as dg

from orchestration.assets.configuration import CONFIGURATION_JOB, configuration_needed, seeds_loaded
from orchestration.config import SpiegelPaths, dbt_target, default_data_dir, engine, required_insurers
from orchestration.dbt_manifest import target_fingerprint
from orchestration.jobs import (
    INGEST_JOB, PERIOD_JOB, compute_period_job, ingest_delivery_job, load_configuration_job,
)
from orchestration.landing import complete_deliveries, in_force
from orchestration.partitions import PERIOD_PARTITIONS_NAME, delivery_key, insurer_partitions

INTERVAL_SECONDS = 30
DELIVERY_CHECK_NAMES = frozenset({"delivery_contract", "delivery_contents", "delivery_completeness"})
NOT_FINISHED = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
                dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]


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


def _metadata_value(metadata, key: str):
    value = metadata.get(key)
    return getattr(value, "value", value)


def _latest_materialization(instance: dg.DagsterInstance, asset: str, partition: str):
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[partition]), limit=1).records
    return records[0] if records else None


def _ingested_delivery_id(instance: dg.DagsterInstance, period: str, insurer: str) -> str | None:
    """The delivery_id of the latest ``delivery`` materialization of (period, insurer)."""
    record = _latest_materialization(instance, "delivery", str(delivery_key(period, insurer)))
    if record is None or record.asset_materialization is None:
        return None
    return _metadata_value(record.asset_materialization.metadata, "delivery_id")


def delivery_done(instance: dg.DagsterInstance, period: str, insurer: str, delivery_id: str) -> bool:
    """True when ``delivery_id`` is the delivery validated and gated last for (period, insurer)."""
    record = _latest_materialization(instance, "delivery", str(delivery_key(period, insurer)))
    if record is None or record.asset_materialization is None:
        return False
    if _metadata_value(record.asset_materialization.metadata, "delivery_id") != delivery_id:
        return False
    evaluated = {entry.dagster_event.event_specific_data.check_name
                 for entry in instance.all_logs(record.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
                 if entry.dagster_event is not None}
    return DELIVERY_CHECK_NAMES <= evaluated


def period_computed_on(instance: dg.DagsterInstance, period: str, deliveries: dict[str, str]) -> bool:
    """True when the period's latest computation used exactly ``deliveries`` (insurer ->
    delivery_id): the ``deliveries`` metadata of its latest release_readiness. A readiness
    recorded before that metadata existed counts when it is newer than the latest
    ``delivery`` materialization of every one of them (and those name the same ids)."""
    record = _latest_materialization(instance, "release_readiness", period)
    if record is None or record.asset_materialization is None:
        return False
    used = _metadata_value(record.asset_materialization.metadata, "deliveries")
    if isinstance(used, dict):
        return dict(used) == deliveries
    for insurer, delivery_id in deliveries.items():
        ingested = _latest_materialization(instance, "delivery", str(delivery_key(period, insurer)))
        if (ingested is None or ingested.asset_materialization is None or ingested.timestamp > record.timestamp
                or _metadata_value(ingested.asset_materialization.metadata, "delivery_id") != delivery_id):
            return False
    return True


def _busy(instance: dg.DagsterInstance, job_name: str, tags: dict[str, str]) -> bool:
    """A run of ``job_name`` for this partition is queued or in progress."""
    return bool(instance.get_runs(filters=dg.RunsFilter(job_name=job_name, statuses=NOT_FINISHED, tags=tags),
                                  limit=1))


def _delivery_tags(period: str, insurer: str) -> dict[str, str]:
    return {"dagster/partition/period": period, "dagster/partition/insurer": insurer}


@dg.sensor(job=load_configuration_job, minimum_interval_seconds=INTERVAL_SECONDS,
           default_status=dg.DefaultSensorStatus.RUNNING,
           description="Loads the seeds (the configuration assets) when dbt_project/ changed since they were "
                       "loaded into the warehouse; once per version of the project.")
def configuration_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    paths = SpiegelPaths(default_data_dir())
    fingerprint = target_fingerprint(dbt_target(engine()))   # hashes the project once per tick
    if seeds_loaded(paths, fingerprint) or _busy(context.instance, CONFIGURATION_JOB, {}):
        return dg.SensorResult(run_requests=[])
    return dg.SensorResult(run_requests=[dg.RunRequest(
        run_key=fingerprint, tags={"spiegel/trigger": "configuration_sensor"})])


@dg.sensor(job=ingest_delivery_job, minimum_interval_seconds=INTERVAL_SECONDS,
           default_status=dg.DefaultSensorStatus.RUNNING,
           description="Requests the ingestion of every complete delivery under landing/ that is in force and "
                       "not yet validated and gated (by the CLI, the UI or this sensor).")
def landing_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    from orchestration.stale_runs import fail_dead_runs

    instance = context.instance
    for run_id in fail_dead_runs(instance):
        context.log.warning(f"run {run_id} was started but its process is gone: marked failed")
    plan = _landing_plan(SpiegelPaths(default_data_dir()))
    known = set(instance.get_dynamic_partitions(PERIOD_PARTITIONS_NAME))
    new_periods = sorted(set(plan) - known)
    requests = []
    for period, by_insurer in plan.items():
        for insurer, delivery_id in sorted(by_insurer.items()):
            if period in known and (delivery_done(instance, period, insurer, delivery_id)
                                    or _busy(instance, INGEST_JOB, _delivery_tags(period, insurer))):
                continue
            requests.append(dg.RunRequest(
                run_key=f"{period}|{insurer}|{delivery_id}", partition_key=delivery_key(period, insurer),
                tags={"spiegel/trigger": "landing_sensor", "spiegel/delivery_id": delivery_id}))
    return dg.SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[dg.AddDynamicPartitionsRequest(
            PERIOD_PARTITIONS_NAME, new_periods)] if new_periods else [],
    )


@dg.sensor(job=compute_period_job, minimum_interval_seconds=INTERVAL_SECONDS,
           default_status=dg.DefaultSensorStatus.RUNNING,
           description="Runs the method for a period once all its landed deliveries are ingested, unless it was "
                       "already computed on exactly the deliveries now in force.")
def period_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    instance = context.instance
    paths = SpiegelPaths(default_data_dir())
    if configuration_needed(paths):
        return dg.SensorResult(run_requests=[], skip_reason="waiting for the configuration (seeds) to load")
    plan = _landing_plan(paths)
    known = set(instance.get_dynamic_partitions(PERIOD_PARTITIONS_NAME))
    requests = []
    for period, by_insurer in plan.items():
        if period not in known:
            continue
        if not all(_ingested_delivery_id(instance, period, i) == d for i, d in by_insurer.items()):
            continue  # the landing sensor's ingestion runs come first
        if period_computed_on(instance, period, by_insurer):
            continue  # computed on exactly these deliveries already
        if _busy(instance, PERIOD_JOB, {"dagster/partition": period}) or any(
                _busy(instance, INGEST_JOB, _delivery_tags(period, i)) for i in by_insurer):
            continue
        combo = hashlib.sha256(repr(sorted(by_insurer.items())).encode()).hexdigest()[:16]
        requests.append(dg.RunRequest(run_key=f"{period}|{combo}", partition_key=period,
                                      tags={"spiegel/trigger": "period_sensor"}))
    return dg.SensorResult(run_requests=requests)
