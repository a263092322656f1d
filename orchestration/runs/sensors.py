"""Sensors: the landing zone starts the work, and only work that is not done yet.

``landing_sensor`` finds complete deliveries (manifest present), adds new periods as
partitions and requests one ingestion run per period (``runs/period_ingestion.py``) for
the (period, insurer) deliveries in force not yet validated and gated. ``period_sensor`` requests the period's
method run once every landed delivery of the period has been ingested, unless the
period's latest computation already used exactly the deliveries now in force.
``configuration_sensor`` loads the seeds when the dbt project changed since they were
loaded (a period's method run waits for that).

"Done" is the answer of ``runs/done.py``, the same one ``spiegel run`` asks, so the
sensors gate a delivery again after an operator changed the gates' configuration just
as the CLI does. Run keys stay as a second guard: a sensor never requests the same
work twice (a delivery's key names the configuration it is gated under). Nothing is
requested while a run of the same job and partition is queued or in progress.

Runs whose process is gone are not the sensors' business: the daemon that evaluates
them also runs Dagster's run monitoring, which fails those runs (``stale_runs.py``).
"""

import os

import dagster as dg

from orchestration.core.partitions import PERIOD_PARTITIONS_NAME, insurer_partitions
from orchestration.core.seeds import gate_configuration_changed_at
from orchestration.core.settings import SpiegelPaths, dbt_target, default_data_dir, engine
from orchestration.landing.zone import complete_deliveries, newest_register
from orchestration.method.configuration import CONFIGURATION_JOB, configuration_needed, seeds_loaded
from orchestration.method.dbt_project import target_fingerprint
from orchestration.runs.done import deliveries_in_force, delivery_done, period_done, period_inputs_key
from orchestration.runs.instance import sensor_interval_seconds
from orchestration.runs.jobs import (
    INGEST_JOB,
    PERIOD_JOB,
    compute_period_job,
    load_configuration_job,
)
from orchestration.runs.period_ingestion import INGEST_PERIOD_JOB, INGEST_PERIOD_OP, ingest_period_job

INTERVAL_SECONDS = sensor_interval_seconds(os.environ)  # SPIEGEL_SENSOR_INTERVAL, read when the code location loads


def _landing_plan(paths: SpiegelPaths) -> dict[str, dict[str, str]]:
    """period -> insurer -> delivery_id in force, for the insurers that are partitions."""
    landed = complete_deliveries(paths.landing)
    insurers = set(insurer_partitions.get_partition_keys())
    plan: dict[str, dict[str, str]] = {}
    for period in sorted({d.period for d in landed}):
        in_force = {i: d for i, d in deliveries_in_force(paths, period, landed).items() if i in insurers}
        if in_force:
            plan[period] = in_force
    return plan


NOT_FINISHED = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


def _busy(instance: dg.DagsterInstance, job_name: str, tags: dict[str, str]) -> bool:
    """A run of ``job_name`` for this partition is queued or in progress."""
    return bool(instance.get_runs(filters=dg.RunsFilter(job_name=job_name, statuses=NOT_FINISHED, tags=tags), limit=1))


def _delivery_tags(period: str, insurer: str) -> dict[str, str]:
    return {"dagster/partition/period": period, "dagster/partition/insurer": insurer}


@dg.sensor(
    job=load_configuration_job,
    minimum_interval_seconds=INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Loads the seeds (the configuration assets) when dbt_project/ changed since they were "
    "loaded into the warehouse; once per version of the project.",
)
def configuration_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    paths = SpiegelPaths(default_data_dir())
    fingerprint = target_fingerprint(dbt_target(engine()), paths)  # hashes the project once per tick
    if seeds_loaded(paths, fingerprint) or _busy(context.instance, CONFIGURATION_JOB, {}):
        return dg.SensorResult(run_requests=[])
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=fingerprint, tags={"spiegel/trigger": "configuration_sensor"})]
    )


def _ingesting(instance: dg.DagsterInstance, period: str, insurers) -> bool:
    """A run that gates deliveries of ``period`` is queued or in progress: the period's
    ingestion run, or a rerun of one of ``insurers`` alone."""
    return _busy(instance, INGEST_PERIOD_JOB, {"dagster/partition": period}) or any(
        _busy(instance, INGEST_JOB, _delivery_tags(period, insurer)) for insurer in insurers
    )


@dg.sensor(
    job=ingest_period_job,
    minimum_interval_seconds=INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Requests one ingestion run per period for the complete deliveries under landing/ that "
    "are in force and not yet validated and gated (by the CLI, the UI or this sensor); the run "
    "gates them one after another and records each delivery partition.",
)
def landing_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    instance = context.instance
    plan = _landing_plan(SpiegelPaths(default_data_dir()))
    known = set(instance.get_dynamic_partitions(PERIOD_PARTITIONS_NAME))
    new_periods = sorted(set(plan) - known)
    # the key names the configuration the deliveries are gated under: after an operator
    # edits the labels or a suite, the same deliveries are requested once more
    configured = int(gate_configuration_changed_at().timestamp())
    requests = []
    for period, by_insurer in plan.items():
        pending = {
            insurer: delivery_id
            for insurer, delivery_id in sorted(by_insurer.items())
            if period not in known or not delivery_done(instance, period, insurer, delivery_id)
        }
        if not pending or (period in known and _ingesting(instance, period, by_insurer)):
            continue
        deliveries = ",".join(f"{insurer}={delivery_id}" for insurer, delivery_id in pending.items())
        requests.append(
            dg.RunRequest(
                run_key=f"{period}|{deliveries}|{configured}",
                partition_key=period,
                run_config={"ops": {INGEST_PERIOD_OP: {"config": {"insurers": sorted(pending)}}}},
                tags={"spiegel/trigger": "landing_sensor", "spiegel/deliveries": deliveries[:4000]},
            )
        )
    return dg.SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[dg.AddDynamicPartitionsRequest(PERIOD_PARTITIONS_NAME, new_periods)]
        if new_periods
        else [],
    )


@dg.sensor(
    job=compute_period_job,
    minimum_interval_seconds=INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Runs the method for a period once all its landed deliveries are ingested and gated, "
    "unless it was already computed on exactly the deliveries now in force with the method "
    "as it is now.",
)
def period_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    instance = context.instance
    paths = SpiegelPaths(default_data_dir())
    if configuration_needed(paths):
        return dg.SensorResult(run_requests=[], skip_reason="waiting for the configuration (seeds) to load")
    plan = _landing_plan(paths)
    known = set(instance.get_dynamic_partitions(PERIOD_PARTITIONS_NAME))
    method_version = target_fingerprint(dbt_target(engine()), paths)
    register = newest_register(paths.landing)  # a newer practice register runs the periods again
    register_id = register.delivery_id if register else None
    requests = []
    for period, by_insurer in plan.items():
        if period not in known:
            continue
        if not all(delivery_done(instance, period, i, d) for i, d in by_insurer.items()):
            continue  # the landing sensor's ingestion runs come first
        if period_done(instance, period, by_insurer, method_version, register_id):
            continue  # computed on exactly these deliveries and this method already
        if _busy(instance, PERIOD_JOB, {"dagster/partition": period}) or _ingesting(instance, period, by_insurer):
            continue
        key = period_inputs_key(instance, period, by_insurer, method_version, register_id)
        requests.append(
            dg.RunRequest(run_key=f"{period}|{key}", partition_key=period, tags={"spiegel/trigger": "period_sensor"})
        )
    return dg.SensorResult(run_requests=requests)
