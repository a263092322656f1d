"""What the operations team reads in the UI about a gate: findings as sentences."""

from __future__ import annotations

import duckdb

from orchestration import gates
from orchestration.core.seeds import required_insurers
from orchestration.core.settings import SpiegelPaths
from orchestration.delivery.raw_tables import ensure_raw_schema
from orchestration.gates.check_metadata import gate_metadata
from orchestration.gates.log import GateResult, Outcome
from tests.gates.test_quality import load


def test_the_expectations_table_reads_as_sentences_with_a_verdict_per_row():
    rejected = "cz: delivery D1 for 2024-v1 was rejected by the delivery contract (rule file.checksum): bad"
    warned = "vgz: 2 orphan credit lines of 9 credit lines (...): a warning (reported above 0 lines), they do not block"
    result = GateResult(
        "release_readiness",
        "2024-v1",
        None,
        None,
        [
            Outcome("delivery_accepted", "error", False, ["rejected"], "in ['accepted']", rejected),
            Outcome("orphan_credits", "warn", False, 2, "<= 0", warned),
            Outcome("delivery_present", "error", True, 7, "7", "2024-v1: delivery_present ok for every insurer"),
        ],
    )
    metadata = gate_metadata(result)
    assert (metadata["failed_expectations"], metadata["blocking_findings"], metadata["warning_findings"]) == (2, 1, 1)
    table = metadata["expectations"].value
    rows = table.splitlines()[2:]
    assert rows == [
        f"| delivery_accepted | **blocks** | {rejected} |",
        f"| orphan_credits | warning, does not block | {warned} |",
        "| delivery_present | ok | 2024-v1: delivery_present ok for every insurer |",
    ]
    assert "expected in" not in table and "['" not in table


def test_the_readiness_check_says_why_a_period_is_blocked_and_what_to_do(tmp_path):
    """The release_ready check's metadata of a blocked period, from the real suite: each finding
    names the insurer, says what happened and where to look, never GX's "expected in [...]"."""
    paths = SpiegelPaths(tmp_path / "data")
    paths.data_dir.mkdir(parents=True)
    period = "2024-v2"
    with duckdb.connect(str(paths.warehouse)) as con:
        ensure_raw_schema(con)
        for insurer in required_insurers(period):
            if insurer != "menzis":  # menzis never delivered
                message = "claims.csv: paid_amount total 10.00 differs from the manifest's 12.00\nmore"
                load(con, period, insurer, "20250115T0930", None, "rejected", "claims.control_total", message)
        result = gates.check_release_readiness(con, period, paths)
    metadata = gate_metadata(result)
    assert not result.passed
    vgz = next(r for r in result.blocking_reasons if r.startswith("vgz:"))
    assert vgz == (
        "vgz: the delivery for 2024-v2 (20250115T0930) was rejected by the delivery contract (rule "
        "claims.control_total: claims.csv: paid_amount total 10.00 differs from the manifest's 12.00); "
        "the insurer must redeliver, see the delivery_contract check of delivery partition vgz|2024-v2"
    )
    assert any(r.startswith("menzis: no delivery for 2024-v2 has landed") for r in result.blocking_reasons)
    table = metadata["expectations"].value
    escaped = vgz.replace("|", "\\|")  # a table cell escapes the partition key's pipe
    assert f"| delivery_accepted | **blocks** | {escaped} |" in table.splitlines()
    assert "| delivery_present | ok |" not in table  # menzis is missing
    assert "| contents_gate_passed | ok | 2024-v2: no accepted delivery in force failed its delivery_contents" in table
    for value in (table, metadata["blocking_reasons"].value):
        assert "expected in" not in value and "['" not in value and "ok for every" not in value
    # the machine-readable fields stay: the offending rows and GX's own verdict
    rows = metadata["sample_offending_rows"].value
    assert {"insurer": "vgz", "status": "rejected", "expectation": "delivery_accepted"}.items() <= next(
        r for r in rows if r["insurer"] == "vgz" and r["expectation"] == "delivery_accepted"
    ).items()
    accepted = next(o for o in result.outcomes if o.expectation == "delivery_accepted")
    assert accepted.expected == "not in ['rejected']"
