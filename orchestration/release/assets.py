"""Release readiness, sign-off and the published release of a period.

Dagster OSS has no approval step, so the sign-off is an asset materialised with run
config naming the approver (from the launchpad or ``spiegel signoff``). A blocking
check only stops steps in the same run; across runs, the sign-off and the release
verify the gate state themselves (``readiness.period_state``).
"""

import dagster as dg

from orchestration.core.partitions import period_partitions
from orchestration.core.resources import SpiegelResource
from orchestration.core.settings import OPERATIONS_OWNER, dbt_target, engine
from orchestration.core.warehouse import connect_read
from orchestration.delivery.raw_tables import connect_raw
from orchestration.delivery.register import register_considered
from orchestration.gates.check_metadata import gate_metadata
from orchestration.method.dbt_project import target_fingerprint
from orchestration.release.calendar_state import write_period_status
from orchestration.release.publish import PublishRefused, publish_release
from orchestration.release.readiness import period_state, record_readiness
from orchestration.release.signoff import SignoffRefused, record_signoff

READY_CHECK = "release_ready"
METHOD_MARTS = [
    dg.AssetKey(["marts", "fct_behandelindex"]),
    dg.AssetKey(["marts", "fct_reference_strata"]),
    dg.AssetKey(["marts", "fct_excluded_lines"]),
    dg.AssetKey(["marts", "fct_insurer_monthly_sessions"]),
]


@dg.asset(
    partitions_def=period_partitions,
    group_name="release",
    owners=[OPERATIONS_OWNER],
    deps=METHOD_MARTS,
    check_specs=[
        dg.AssetCheckSpec(
            READY_CHECK,
            asset="release_readiness",
            blocking=True,
            partitions_def=period_partitions,
            description="Every required insurer has a valid, gated delivery and the "
            "national figures are plausible (expectations/release_readiness.json).",
        )
    ],
    description="Every reason that blocks the release of the period, in plain words: missing or rejected "
    "deliveries, failed delivery gates, implausible shifts in the national figures.",
)
def release_readiness(context: dg.AssetExecutionContext, spiegel: SpiegelResource):
    # deferred: the gates load Great Expectations (seconds); only a gate run needs it
    from orchestration import gates

    period = context.partition_key
    paths = spiegel.paths
    with connect_raw(paths) as con:
        result = gates.check_release_readiness(con, period, paths)
        gates.record_gate_result(con, result)
        record_readiness(con, period, result.passed, result.blocking_reasons, result.warnings)
        state = period_state(con, paths, period)
        register = register_considered(con)  # the practice register this computation's run judged
    # the portal's calendar reads the verdict from a file (it never opens the warehouse)
    write_period_status(paths, period, state.gates_passed, len(state.blocking_reasons))
    reasons = state.blocking_reasons
    for reason in reasons:
        context.log.warning(f"blocking: {reason}")
    metadata = gate_metadata(result)
    metadata["verdict"] = state.verdict
    # method.md §11: the calendar's state a cancelled period has whatever its gates say
    metadata["period_state"] = state.cancelled_reason or ("ready for sign-off" if state.gates_passed else "blocked")
    # the deliveries this computation used: the period sensor runs a period again only when they change
    metadata["deliveries"] = dg.MetadataValue.json({d["insurer"]: d["delivery_id"] for d in state.deliveries})
    # ... and the method and seeds it ran with: after a change to dbt_project/ it is run again
    metadata["method_version"] = target_fingerprint(dbt_target(engine()), paths)
    # ... and the newest practice register delivery it saw (dim_practices): a newer one runs it again
    metadata["practice_register"] = register or ""
    metadata["blocking_reasons"] = dg.MetadataValue.md(
        "\n".join(f"- {r}" for r in reasons) or "none: ready for sign-off"
    )
    yield dg.MaterializeResult(metadata=metadata)
    yield dg.AssetCheckResult(
        check_name=READY_CHECK, passed=state.gates_passed, severity=dg.AssetCheckSeverity.ERROR, metadata=metadata
    )


class SignoffConfig(dg.Config):
    by: str
    comment: str = ""


@dg.asset(
    partitions_def=period_partitions,
    group_name="release",
    owners=[OPERATIONS_OWNER],
    deps=[release_readiness],
    description="The operator's data-quality sign-off (append-only signoffs.jsonl): who, when, comment and the "
    "deliveries it covers. Refused while a blocking gate fails; void when a delivery changes.",
)
def signoff(context: dg.AssetExecutionContext, config: SignoffConfig, spiegel: SpiegelResource) -> dg.MaterializeResult:
    period = context.partition_key
    with connect_read(spiegel.paths) as con:
        state = period_state(con, spiegel.paths, period)
    try:
        record = record_signoff(spiegel.paths, state, config.by, config.comment)
    except SignoffRefused as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from exc
    return dg.MaterializeResult(
        metadata={
            "by": record.by,
            "at": record.at,
            "comment": record.comment,
            "signoff_id": record.signoff_id,
            "deliveries": dg.MetadataValue.json(record.deliveries),
        }
    )


@dg.asset(
    partitions_def=period_partitions,
    group_name="release",
    owners=[OPERATIONS_OWNER],
    deps=[signoff],
    kinds={"csv", "html", "pdf"},
    description="releases/<period>/<revision>/: behandelindex.csv, reference_strata.csv, excluded_lines.csv, "
    "release.json and one HTML + PDF report per practice, written aside and renamed into place "
    "(atomic, immutable). Refused without passed gates and a valid sign-off.",
)
def release(context: dg.AssetExecutionContext, spiegel: SpiegelResource) -> dg.MaterializeResult:
    period = context.partition_key
    try:
        result = publish_release(spiegel.paths, period, progress=context.log.info)
    except PublishRefused as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from exc
    metadata: dict[str, object] = {
        "revision": result.revision,
        "path": dg.MetadataValue.path(str(result.path)),
        "created": result.created,
        "behandelindex": dg.MetadataValue.path(str(result.path / "behandelindex.csv")),
    }
    overview = result.path / "reports" / "national_overview.html"
    if overview.exists():
        metadata["national_overview"] = dg.MetadataValue.url("file://" + str(overview))
    for stage, seconds in result.seconds.items():
        metadata[f"seconds_{stage}"] = round(seconds, 2)
    return dg.MaterializeResult(metadata=metadata)
