"""The delivery in force for one (period, insurer): validated, loaded, gated.

One step does the contract, the load and the delivery gates on one warehouse
connection, so a delivery is read once and its checks are recorded with the very rows
they judged. The gates are blocking asset checks: in the UI each (period, insurer)
partition shows whether its delivery passed, and why not.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field

import dagster as dg

from orchestration.core.partitions import delivery_partitions, split_delivery_key
from orchestration.core.resources import SpiegelResource
from orchestration.core.settings import OPERATIONS_OWNER, SpiegelPaths
from orchestration.delivery.loading import load_delivery
from orchestration.delivery.raw_tables import connect_raw, record_delivery, record_missing
from orchestration.gates.check_metadata import gate_check_result
from orchestration.landing.zone import find_in_force

CONTRACT_CHECK = "delivery_contract"
CONTENTS_CHECK = "delivery_contents"
COMPLETENESS_CHECK = "delivery_completeness"

DELIVERY_CHECKS = [
    dg.AssetCheckSpec(
        CONTRACT_CHECK,
        asset="delivery",
        blocking=True,
        partitions_def=delivery_partitions,
        description="The delivery in force exists and meets delivery-contract.md (manifest, "
        "checksum, header, types, row count, control total).",
    ),
    dg.AssetCheckSpec(
        CONTENTS_CHECK,
        asset="delivery",
        blocking=True,
        partitions_def=delivery_partitions,
        description="Great Expectations suite expectations/delivery_contents.json: code formats "
        "and domains, dates in the period, processed before the cutoff, every line "
        "under one of the insurer's own labels in the period "
        "(dbt_project/seeds/insurer_labels.csv; metadata: lines per label). Its "
        "warnings: suite delivery_contents_warnings (never blocking).",
    ),
    dg.AssetCheckSpec(
        COMPLETENESS_CHECK,
        asset="delivery",
        blocking=True,
        partitions_def=delivery_partitions,
        description="Great Expectations suite expectations/delivery_completeness.json: no month "
        "missing or under-delivered against the insurer's other months and its "
        "previous delivery.",
    ),
]


@dg.asset(
    name="delivery",
    partitions_def=delivery_partitions,
    group_name="ingestion",
    owners=[OPERATIONS_OWNER],
    check_specs=DELIVERY_CHECKS,
    kinds={"duckdb", "csv"},
    description=(
        "The insurer's delivery in force for the period (the newest folder with a manifest under "
        "landing/<period>/<insurer>/), validated against the delivery contract and loaded into "
        "raw.claims / raw.deliveries. A rejected or missing delivery loads no rows and fails its checks: "
        "the period's release is blocked until a valid delivery lands."
    ),
)
def delivery(context: dg.AssetExecutionContext, spiegel: SpiegelResource) -> Iterator[object]:
    period, insurer = split_delivery_key(context.partition_key)
    gated = gate_delivery(context.log, spiegel.paths, period, insurer)
    yield dg.MaterializeResult(metadata=gated.metadata)
    yield from gated.checks


VALIDATING_MARK = "validating "  # how the log line that starts a delivery's gating begins
GATING_MARK = "running the gates"  # the log line after the contract and the load: `spiegel bench` splits there


@dataclass(frozen=True)
class GatedDelivery:
    """What gating one delivery partition recorded: the ``delivery`` materialisation's
    metadata and its three checks. The asset yields them; the period's ingestion run
    (``runs/period_ingestion.py``) logs them for each partition it gates."""

    period: str
    insurer: str
    metadata: dict[str, object]
    checks: list[dg.AssetCheckResult] = field(default_factory=list)

    @property
    def blocked(self) -> bool:
        return not all(check.passed for check in self.checks)


def gate_delivery(log, paths: SpiegelPaths, period: str, insurer: str) -> GatedDelivery:
    """Validate, load and gate the delivery in force of (period, insurer) on one warehouse
    connection (``log``: the run's logger)."""
    ref = find_in_force(paths.landing, period, insurer)
    with connect_raw(paths) as con:
        if ref is None:
            record_missing(con, period, insurer)
            reason = f"{insurer}: no complete delivery for {period} under landing/{period}/{insurer}/"
            log.warning(reason)
            checks = [
                dg.AssetCheckResult(
                    check_name=name, passed=False, severity=dg.AssetCheckSeverity.ERROR, metadata={"reason": reason}
                )
                for name in (CONTRACT_CHECK, CONTENTS_CHECK, COMPLETENESS_CHECK)
            ]
            return GatedDelivery(period, insurer, {"status": "missing", "reason": reason}, checks)

        log.info(f"{VALIDATING_MARK}{ref.label}")
        verdict = load_delivery(con, ref)
        record_delivery(con, verdict)
        metadata: dict[str, object] = {
            "status": "accepted" if verdict.accepted else "rejected",
            "delivery_id": ref.delivery_id,
            "path": dg.MetadataValue.path(str(ref.path)),
            "rows": verdict.row_count if verdict.row_count is not None else 0,
            "sha256": verdict.sha256 or "",
            "paid_amount_total": str(verdict.paid_amount_total or ""),
        }
        if not verdict.accepted:
            metadata["rejection"] = dg.MetadataValue.md(_violations_md(verdict))
            log.error(verdict.error_text())
        log.info(f"{ref.label}: {metadata['status']}, {metadata['rows']} rows loaded; {GATING_MARK}")
        checks = [
            dg.AssetCheckResult(
                check_name=CONTRACT_CHECK,
                passed=verdict.accepted,
                severity=dg.AssetCheckSeverity.ERROR,
                metadata={
                    "delivery_id": ref.delivery_id,
                    "rules_broken": ", ".join(v.rule for v in verdict.violations) or "none",
                    "reason": verdict.error_text() or "meets the delivery contract",
                },
            )
        ]
        from orchestration import gates  # GX is slow to import: only when gates run

        # both gates' Data Docs pages are built together, once, after the last validation
        with gates.data_docs_once() as docs:
            results = [
                (name, check(con, period, insurer, paths))
                for name, check in (
                    (CONTENTS_CHECK, gates.check_delivery_contents),
                    (COMPLETENESS_CHECK, gates.check_delivery_completeness),
                )
            ]
        for name, result in results:
            result = docs.settle(result)
            gates.record_gate_result(con, result)
            checks.append(gate_check_result(name, result))
    return GatedDelivery(period, insurer, metadata, checks)


def _violations_md(verdict) -> str:
    lines = [f"**Rejected** `{verdict.file_label}`", ""]
    for v in verdict.violations:
        lines.append(f"- rule `{v.rule}`: {v.message}")
        for row in v.rows:
            lines.append(f"  - {row}")
    return "\n".join(lines)
