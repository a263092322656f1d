"""The columns of the published release files that others read (cli.md, "Published release
layout"): written by orchestration.release.publish, read by the portal and its API."""

from __future__ import annotations

BEHANDELINDEX_COLUMNS = [
    "period",
    "discipline",
    "practice_agb",
    "status",
    "patients",
    "episodes",
    "sessions",
    "expected_sessions",
    "behandelindex",
    "ci_lower",
    "ci_upper",
    "corrected_index",
]
# method.md §10
MOVEMENT_COLUMNS = [
    "period",
    "discipline",
    "practice_agb",
    "from_period",
    "bi_from",
    "bi_to",
    "own_points",
    "case_mix_points",
    "reference_points",
]
# the practices of behandelindex.csv by name and place (docs/register-contract.md); empty where unknown
PRACTICE_COLUMNS = ["practice_agb", "practice_name", "place"]
