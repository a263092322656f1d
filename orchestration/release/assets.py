"""Release readiness, sign-off and the published release of a period.

Dagster OSS has no approval step, so the sign-off is an asset materialised with run
config naming the approver. In service mode that is an operator's signed ticket (from the
portal's release page, which launches this job, or from ``spiegel signoff --token``);
outside it a typed name still does (``by``, recorded as not authenticated). The release
takes the same kind of config for its publisher, and four eyes refuses a publisher who
signed the period off himself (``operators.py``, docs/release-four-eyes.md). A blocking
check only stops steps in the same run; across runs, the sign-off and the release
verify the gate state themselves (``readiness.period_state``).
"""

import json

import dagster as dg

from orchestration.core.crashpoints import STAGES_TAG, stages_tag
from orchestration.core.partitions import period_partitions
from orchestration.core.resources import SpiegelResource
from orchestration.core.settings import OPERATIONS_OWNER, dbt_target, engine
from orchestration.core.warehouse import connect_read
from orchestration.delivery.raw_tables import connect_raw
from orchestration.delivery.register import register_considered
from orchestration.gates.check_metadata import gate_metadata
from orchestration.method.dbt_project import target_fingerprint
from orchestration.release import operators
from orchestration.release.calendar_state import write_period_status
from orchestration.release.operators import PUBLISH, SIGNOFF, OperatorRefused, operator_for_step, release_page_url
from orchestration.release.publish import PUBLISH_STAGES, PublishFailed, PublishRefused, publish_release
from orchestration.release.readiness import period_state, record_readiness
from orchestration.release.signoff import SignoffRefused, record_signoff_once

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
    # one click from the Dagster UI to where operators sign off and publish
    metadata["release page"] = dg.MetadataValue.url(release_page_url(period))
    yield dg.MaterializeResult(metadata=metadata)
    yield dg.AssetCheckResult(
        check_name=READY_CHECK, passed=state.gates_passed, severity=dg.AssetCheckSeverity.ERROR, metadata=metadata
    )


class SignoffConfig(dg.Config):
    """Outside service mode ``by`` names the person signing (not authenticated); an operator
    ticket (the portal's release page, ``spiegel signoff --token``) proves an account, and in
    service mode nothing else is accepted."""

    by: str = ""
    comment: str = ""
    ticket: str = ""


def _refused(context, paths, action_name: str, actor, period: str, message: str) -> dg.Failure:
    operators.audit(paths, action_name, actor, period=period, detail=message)
    context.log.error(message)
    return dg.Failure(description=message, allow_retries=False)


def _step_operator(context, paths, action: str, period: str, by: str, ticket: str, comment: str = ""):
    try:
        return operator_for_step(paths, action=action, period=period, by=by, ticket=ticket, comment=comment)
    except OperatorRefused as exc:
        # an unproven caller: audited under no name (a refused ticket's claims are not trusted)
        raise _refused(context, paths, "OPERATOR_REFUSED", "anoniem", period, str(exc)) from exc


@dg.asset(
    partitions_def=period_partitions,
    group_name="release",
    owners=[OPERATIONS_OWNER],
    deps=[release_readiness],
    description="The operator's data-quality sign-off (append-only signoffs.jsonl): who (the operator's account, "
    "or outside service mode a typed name), when, comment and the deliveries it covers. Refused while a blocking "
    "gate fails; void when a delivery changes. Operators sign off on the portal's release page: "
    f"{release_page_url()}",
)
def signoff(context: dg.AssetExecutionContext, config: SignoffConfig, spiegel: SpiegelResource) -> dg.MaterializeResult:
    period = context.partition_key
    paths = spiegel.paths
    operator, comment = _step_operator(context, paths, SIGNOFF, period, config.by, config.ticket, config.comment)
    with connect_read(paths) as con:
        state = period_state(con, paths, period)
    try:
        record, written = record_signoff_once(paths, state, operator, comment)
    except SignoffRefused as exc:
        raise _refused(context, paths, "SIGNOFF_REFUSED", operator, period, str(exc)) from exc
    # asked again for the period's newest sign-off (a retry, a double click): recorded once
    repeat = "" if written else f" (asked again: already recorded at {record.at}, not written twice)"
    operators.audit(
        paths,
        "SIGNOFF_RECORDED",
        operator,
        period=period,
        detail=f"{record.signoff_id}, {len(record.deliveries)} deliveries: {record.comment}{repeat}",
    )
    if not written:
        context.log.info(f"{period}: this sign-off is recorded already as {record.signoff_id}{repeat}")
    return dg.MaterializeResult(
        metadata={
            "written": written,
            "signed off by": record.account,
            "authenticated": record.authenticated,
            "account_id": record.account_id if record.account_id is not None else "",
            "at": record.at,
            "comment": record.comment,
            "signoff_id": record.signoff_id,
            "deliveries": dg.MetadataValue.json(record.deliveries),
            "release page": dg.MetadataValue.url(release_page_url(period)),
        }
    )


class ReleaseConfig(dg.Config):
    """Who publishes: as for the sign-off (``SignoffConfig``); with four eyes another operator
    than the one who signed off."""

    by: str = ""
    ticket: str = ""


@dg.asset(
    partitions_def=period_partitions,
    group_name="release",
    owners=[OPERATIONS_OWNER],
    deps=[signoff],
    kinds={"csv", "html", "pdf"},
    op_tags={STAGES_TAG: stages_tag("publish", PUBLISH_STAGES)},  # its crash points (core/crashpoints.py)
    description="releases/<period>/<revision>/: behandelindex.csv, reference_strata.csv, excluded_lines.csv, "
    "release.json and one HTML + PDF report per practice, written aside and renamed into place "
    "(atomic, immutable). Refused without passed gates and a valid sign-off, and (four eyes) when the "
    f"publisher signed the period off. Operators publish on the portal's release page: {release_page_url()}",
)
def release(context: dg.AssetExecutionContext, config: ReleaseConfig, spiegel: SpiegelResource) -> dg.MaterializeResult:
    period = context.partition_key
    paths = spiegel.paths
    publisher, _ = _step_operator(context, paths, PUBLISH, period, config.by, config.ticket)
    try:
        result = publish_release(paths, period, progress=context.log.info, publisher=publisher)
    except PublishRefused as exc:
        raise _refused(context, paths, "PUBLISH_REFUSED", publisher, period, str(exc)) from exc
    except PublishFailed as exc:  # a full disk: not a refusal, but said in one line all the same
        context.log.error(str(exc))
        raise dg.Failure(description=str(exc), allow_retries=False) from exc
    release_json = json.loads((result.path / "release.json").read_text(encoding="utf-8"))
    signer = release_json.get("signoff", {})
    if result.created:
        operators.audit(
            paths,
            "PUBLISHED",
            publisher,
            period=period,
            detail=f"{result.revision}, signed off by {signer.get('account')}",
        )
    metadata: dict[str, object] = {
        # who asked (this run), and who published the revision: another when it was published already
        "requested by": publisher.account,
        "published by": (release_json.get("published_by") or {}).get("account") or "",
        "authenticated": bool((release_json.get("published_by") or {}).get("authenticated")),
        "signed off by": signer.get("account") or signer.get("by") or "",
        "release page": dg.MetadataValue.url(release_page_url(period)),
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
