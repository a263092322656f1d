"""Turn a Great Expectations gate result into what the operations team reads in the UI."""

from __future__ import annotations

import dagster as dg


def gate_metadata(result) -> dict[str, object]:
    failed = [o for o in result.outcomes if not o.success]
    # one row per expectation, its finding in the words of the blocking reasons (an operator
    # reads "cz: delivery ... was rejected by the delivery contract", not "expected in [...]")
    table = ["| expectation | verdict | finding |", "|---|---|---|"]
    for o in result.outcomes:
        mark = "ok" if o.success else ("**blocks**" if o.severity == "error" else "warning, does not block")
        finding = str(o.message).replace("|", "\\|").replace("\n", " ")
        table.append(f"| {o.expectation} | {mark} | {finding} |")
    metadata: dict[str, object] = {
        "suite": result.suite,
        "blocking_reasons": dg.MetadataValue.md("\n".join(f"- {r}" for r in result.blocking_reasons) or "none"),
        "warnings": dg.MetadataValue.md("\n".join(f"- {w}" for w in result.warnings) or "none"),
        "expectations": dg.MetadataValue.md("\n".join(table)),
        "failed_expectations": len(failed),
        # of which: what blocks, and what is only reported (a PASS verdict may have warnings)
        "blocking_findings": sum(o.severity == "error" for o in failed),
        "warning_findings": sum(o.severity != "error" for o in failed),
    }
    samples = [dict(row, expectation=o.expectation) for o in failed for row in o.sample_rows[:5]]
    if samples:
        metadata["sample_offending_rows"] = dg.MetadataValue.json(samples[:25])
    if result.data_docs:
        metadata["data_docs"] = dg.MetadataValue.url("file://" + str(result.data_docs))
        index = next((p / "index.html" for p in result.data_docs.parents if p.name == "gx_docs"), None)
        if index is not None and index.exists():
            metadata["data_docs_index"] = dg.MetadataValue.url("file://" + str(index))
    if getattr(result, "warnings_docs", None):
        metadata["data_docs_warnings"] = dg.MetadataValue.url("file://" + str(result.warnings_docs))
    if getattr(result, "label_lines", None):
        metadata["lines_per_label"] = label_table(result.label_lines)
    return metadata


LABEL_SCHEMA = dg.TableSchema(
    columns=[
        dg.TableColumn("uzovi", "string", description="the label (UZOVI code) the lines are paid under"),
        dg.TableColumn("label_name", "string", description="its name in the labels seed, in this period"),
        dg.TableColumn("lines", "int"),
        dg.TableColumn("share", "float", description="fraction of the delivery's lines"),
        dg.TableColumn("label_of", "string", description="whose label it is in the period"),
    ]
)


def label_table(label_lines: list[dict]) -> dg.TableMetadataValue:
    """Lines per label of one delivery, as a table in the check's metadata."""
    return dg.MetadataValue.table(
        [
            dg.TableRecord({k: row[k] for k in ("uzovi", "label_name", "lines", "share", "label_of")})
            for row in label_lines
        ],
        schema=LABEL_SCHEMA,
    )


def gate_check_result(check_name: str, result, asset_key: str | None = None) -> dg.AssetCheckResult:
    has_errors = any(not o.success and o.severity == "error" for o in result.outcomes)
    return dg.AssetCheckResult(
        check_name=check_name,
        asset_key=asset_key,
        passed=not has_errors and result.passed,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata=gate_metadata(result),
    )
