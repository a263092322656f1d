"""One ingestion run per period: every delivery of the period that needs gating, in one run.

When seven deliveries land together, seven runs of ``ingest_delivery`` would each start a
process and import Dagster, dbt's manifest and Great Expectations again (seconds each).
``ingest_period`` gates them one after another in one step of one run, on the same code
as the ``delivery`` asset (``gates.delivery_asset.gate_delivery``), and records for each
(period, insurer) partition what the asset would: a ``delivery`` materialisation and its
three blocking checks, logged with ``partition=``. So the asset's partition grid and its
checks in the UI look the same whichever job gated a delivery, ``runs/done.py`` reads them
alike, and ``ingest_delivery`` still reruns one insurer alone.

A blocked delivery (a failed check) is the gate's verdict, recorded per partition: the
run itself succeeds and the gate-block alert tells the team (a failed run is a crash).
"""

# no `from __future__ import annotations`: Dagster reads the op's config type from its annotation
import dagster as dg

from orchestration.core.partitions import delivery_key, period_partitions
from orchestration.core.resources import SpiegelResource
from orchestration.core.seeds import required_insurers
from orchestration.gates.delivery_asset import GatedDelivery, gate_delivery
from orchestration.landing.zone import find_in_force
from orchestration.runs.done import DELIVERY_ASSET, delivery_done
from orchestration.runs.instance import WAREHOUSE_TAG, WAREHOUSE_WRITE

INGEST_PERIOD_JOB = "ingest_period"
INGEST_PERIOD_OP = "ingest_period_deliveries"
PASSED, BLOCKED = "passed", "blocked"  # each gated insurer's verdict, the op's output


class PeriodIngestionConfig(dg.Config):
    """Which of the period's required insurers to gate: ``insurers`` (empty: each one whose
    delivery in force is not done, ``runs/done.py``); ``force`` gates them even when done."""

    insurers: list[str] = []
    force: bool = False


def insurers_to_gate(instance: dg.DagsterInstance, paths, period: str, config: PeriodIngestionConfig) -> list[str]:
    """The required insurers of ``period`` this run gates, in the seed's order."""
    required = required_insurers(period)
    unknown = sorted(set(config.insurers) - set(required))
    if unknown:
        raise dg.Failure(
            description=f"{period}: not a required insurer of the period: {', '.join(unknown)} "
            f"(required: {', '.join(required)}; dbt_project/seeds/required_insurers.csv)"
        )
    chosen = [i for i in required if i in config.insurers] if config.insurers else required
    if config.force:
        return chosen
    pending = []
    for insurer in chosen:
        ref = find_in_force(paths.landing, period, insurer)
        if not delivery_done(instance, period, insurer, ref.delivery_id if ref else None):
            pending.append(insurer)
    return pending


def _log_gated(context: dg.OpExecutionContext, gated: GatedDelivery) -> None:
    partition = str(delivery_key(gated.period, gated.insurer))
    context.log_event(dg.AssetMaterialization(asset_key=DELIVERY_ASSET, partition=partition, metadata=gated.metadata))
    for check in gated.checks:
        context.log_event(
            dg.AssetCheckEvaluation(
                asset_key=DELIVERY_ASSET,
                check_name=check.check_name,
                passed=check.passed,
                metadata=check.metadata,
                severity=check.severity,
                blocking=True,
                partition=partition,
            )
        )


@dg.op(
    name=INGEST_PERIOD_OP,
    description="Validate, load and gate each delivery of the period that needs it (the delivery "
    "asset's work, per insurer), recording each partition's materialisation and checks.",
)
def ingest_period_deliveries(
    context: dg.OpExecutionContext, config: PeriodIngestionConfig, spiegel: SpiegelResource
) -> dg.Output[dict]:
    period = context.partition_key
    insurers = insurers_to_gate(context.instance, spiegel.paths, period, config)
    if not insurers:
        context.log.info(f"{period}: every delivery in force is ingested and gated already")
    outcome: dict[str, str] = {}
    for n, insurer in enumerate(insurers, 1):
        context.log.info(f"[{n}/{len(insurers)}] {period} {insurer}: ingesting and gating")
        gated = gate_delivery(context.log, spiegel.paths, period, insurer)
        _log_gated(context, gated)
        outcome[insurer] = BLOCKED if gated.blocked else PASSED
        if gated.blocked:
            failed = ", ".join(c.check_name for c in gated.checks if not c.passed)
            context.log.error(f"{period} {insurer}: blocked by {failed}")
    return dg.Output(outcome, metadata={"gated": len(outcome), **{i: v for i, v in outcome.items()}})


@dg.job(
    name=INGEST_PERIOD_JOB,
    partitions_def=period_partitions,
    tags={WAREHOUSE_TAG: WAREHOUSE_WRITE},
    description="Validate, load and gate every delivery of one period that is not done, in one run "
    "(what the landing sensor starts; ingest_delivery reruns one insurer).",
)
def ingest_period_job() -> None:
    ingest_period_deliveries()
