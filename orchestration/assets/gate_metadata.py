"""Turn a Great Expectations gate result into what the operations team reads in the UI."""
from __future__ import annotations

import dagster as dg


def gate_metadata(result) -> dict[str, object]:
    failed = [o for o in result.outcomes if not o.success]
    table = ["| expectation | severity | observed | expected | |", "|---|---|---|---|---|"]
    for o in result.outcomes:
        mark = "ok" if o.success else ("**FAILED**" if o.severity == "error" else "warning")
        table.append(f"| {o.expectation} | {o.severity} | {o.observed} | {o.expected} | {mark} |")
    metadata: dict[str, object] = {
        "suite": result.suite,
        "blocking_reasons": dg.MetadataValue.md("\n".join(f"- {r}" for r in result.blocking_reasons) or "none"),
        "warnings": dg.MetadataValue.md("\n".join(f"- {w}" for w in result.warnings) or "none"),
        "expectations": dg.MetadataValue.md("\n".join(table)),
        "failed_expectations": len(failed),
    }
    samples = [dict(row, expectation=o.expectation) for o in failed for row in o.sample_rows[:5]]
    if samples:
        metadata["sample_offending_rows"] = dg.MetadataValue.json(samples[:25])
    if result.data_docs:
        metadata["data_docs"] = dg.MetadataValue.url("file://" + str(result.data_docs))
    return metadata


def gate_check_result(check_name: str, result, asset_key: str | None = None) -> dg.AssetCheckResult:
    has_errors = any(not o.success and o.severity == "error" for o in result.outcomes)
    return dg.AssetCheckResult(
        check_name=check_name,
        asset_key=asset_key,
        passed=not has_errors and result.passed,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata=gate_metadata(result),
    )
