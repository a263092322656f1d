"""The quality gates: Great Expectations suites over what DuckDB computes.

Three suites, stored as JSON in ``expectations/`` and loaded into ``gx.ExpectationSuite``
objects; every tolerance they use is a ``$PARAMETER`` filled from
``expectations/thresholds.json`` at validation time, so thresholds are configuration.

What is validated where, and why
--------------------------------
A delivery can hold 45 million lines per period, so no claim line ever reaches pandas.
GX's SQL data source does not work on DuckDB here (every metric comes back empty, see
pitfalls.md), so the split is:

- **DuckDB** scans ``raw.claims`` of one (period, insurer) and reduces it to a few
  small frames (the SQL: ``expectations/sql/*.sql``, read by the suite's module):

  * ``delivery_contents`` (``delivery_contents.py``): ONE scan, grouped by the label (uzovi) the lines are paid
    under (a delivery has a few), that counts every rule violation (``count_if``) and
    the lines per label; then the first 5 offending rows (``min_by(..., source_line,
    5)``) with ``source_line``, ``claim_id`` and the offending value, only for the rules
    and the unrecognised labels that have any; plus one small anti-join for orphan
    credits (credits against the delivery's own claim_ids). A label is recognised when
    the labels seed (``core.seeds.insurer_labels``) gives it to the delivering insurer in
    the period; any line under another concern's label (misrouted: it may be counted
    twice) or under a label no concern has blocks, one reason per label. The frame is
    validated twice: the blocking rules (suite ``delivery_contents``) and the warnings
    (suite ``delivery_contents_warnings``), so that Data Docs show a delivery with only
    warnings as succeeded, its warnings apart.
  * ``delivery_completeness`` (``delivery_completeness.py``): ONE scan ``GROUP BY`` month of the service date, the
    monthly profile (claim lines, session lines, credit lines, paid amount), stored in
    ``quality.delivery_month_profiles`` (period, insurer, delivery_id, month;
    re-profiling the same delivery_id replaces its rows), so a later delivery can be
    compared with the previous one of the insurer.
  * ``release_readiness`` (``release_readiness.py``): ``raw.deliveries``, ``quality.gate_results`` and
    ``marts.fct_insurer_monthly_sessions`` (no claim lines at all).

- **Great Expectations** validates those small pandas frames (one row of violation
  shares; one row per month; one row per required insurer) against the suites,
  writes Data Docs under ``paths.gx_docs`` (``gx_adapter.py``; once per ingestion step
  inside ``data_docs_once``) (one folder per run:
  ``validations/<suite>/<period>__<insurer>__<delivery_id>/<run time>/...html``) and
  decides success per expectation. Expectations with GX severity ``critical`` block
  (our ``error``), ``warning`` only warns (our ``warn``).

- **Python** (the suite's module) turns each GX result into an :class:`Outcome` with a
  message in plain words naming the insurer, the month or the rule, and the sample
  rows. The gate verdicts go to ``quality.gate_results`` (``log.py``); the release
  readiness reads them back for the deliveries in force.

A missing or rejected delivery is a failed gate with that reason, never a crash.
One GX context (ephemeral, progress bars off) is built per process and reused.
"""

from orchestration.gates.common import (
    COMPLETENESS,
    CONTENTS,
    CONTENTS_WARNINGS,
    READINESS,
    previous_period,
    thresholds,
)
from orchestration.gates.delivery_completeness import (
    check_delivery_completeness,
    previous_delivery,
    profile_delivery,
)
from orchestration.gates.delivery_contents import check_delivery_contents
from orchestration.gates.gx_adapter import data_docs_once
from orchestration.gates.log import GateResult, Outcome, latest_gate_results, record_gate_result
from orchestration.gates.release_readiness import check_release_readiness

__all__ = [
    "COMPLETENESS",
    "CONTENTS",
    "CONTENTS_WARNINGS",
    "READINESS",
    "GateResult",
    "Outcome",
    "check_delivery_completeness",
    "check_delivery_contents",
    "check_release_readiness",
    "data_docs_once",
    "latest_gate_results",
    "previous_delivery",
    "previous_period",
    "profile_delivery",
    "record_gate_result",
    "thresholds",
]
