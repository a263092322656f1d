"""What the operations team reads in the UI about a gate: findings as sentences."""

from __future__ import annotations

from orchestration.gates.check_metadata import gate_metadata
from orchestration.gates.log import GateResult, Outcome


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
    table = gate_metadata(result)["expectations"].value
    rows = table.splitlines()[2:]
    assert rows == [
        f"| delivery_accepted | **blocks** | {rejected} |",
        f"| orphan_credits | warning, does not block | {warned} |",
        "| delivery_present | ok | 2024-v1: delivery_present ok for every insurer |",
    ]
    assert "expected in" not in table and "['" not in table
