"""Release readiness of a period: every blocking reason, in plain words.

The verdict is assembled from data, never from a crash:

- the landing zone (is each required insurer's newest delivery the one ingested?),
- the warehouse (accepted or rejected deliveries; the delivery and readiness gates
  recorded by ``orchestration/gates``),
- the readiness row the period's run wrote after the method (``ops.release_readiness``),
  stamped with a *fingerprint* of the deliveries it judged. A redelivery changes the
  fingerprint, which makes an earlier verdict (and any sign-off built on it) stale.

Sign-off and publishing both call :func:`period_state`, so they can never disagree
with what ``spiegel status`` and the Dagster UI show.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb

from orchestration.core.seeds import CancelledPeriod, cancelled_periods, period_sort_key, required_insurers
from orchestration.core.settings import SpiegelPaths
from orchestration.core.warehouse import has_table
from orchestration.landing.zone import complete_deliveries, in_force, missing_delivery_reason

OPS_SCHEMA_SQL = """
create schema if not exists ops;
create table if not exists ops.release_readiness (
    period varchar not null,
    fingerprint varchar not null,
    passed boolean not null,
    blocking_reasons varchar not null,
    warnings varchar not null,
    evaluated_at timestamp not null
);
"""


def ensure_ops_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(OPS_SCHEMA_SQL)


def deliveries_fingerprint(deliveries: list[dict[str, Any]]) -> str:
    """Identifies the exact set of deliveries a verdict or sign-off speaks about."""
    parts = sorted(f"{d['insurer']}:{d['delivery_id']}:{d['status']}:{d.get('sha256') or ''}" for d in deliveries)
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def warehouse_deliveries(con: duckdb.DuckDBPyConnection, period: str) -> list[dict[str, Any]]:
    rows = con.execute(
        "select insurer, delivery_id, status, sha256, row_count, cast(paid_amount_total as varchar), "
        "rejection_rule, rejection_message, file_name from raw.deliveries where period = ? order by insurer",
        [period],
    ).fetchall()
    keys = (
        "insurer",
        "delivery_id",
        "status",
        "sha256",
        "row_count",
        "paid_amount_total",
        "rejection_rule",
        "rejection_message",
        "file_name",
    )
    return [dict(zip(keys, r)) for r in rows]


def record_readiness(
    con: duckdb.DuckDBPyConnection, period: str, passed: bool, blocking_reasons: list[str], warnings: list[str]
) -> str:
    """Store the verdict of the period's run; returns the fingerprint it applies to."""
    ensure_ops_schema(con)
    fingerprint = deliveries_fingerprint(warehouse_deliveries(con, period))
    con.execute(
        "insert into ops.release_readiness values (?, ?, ?, ?, ?, ?)",
        [
            period,
            fingerprint,
            passed,
            json.dumps(blocking_reasons),
            json.dumps(warnings),
            datetime.now(UTC).replace(tzinfo=None),
        ],
    )
    return fingerprint


@dataclass
class PeriodState:
    period: str
    required: list[str]
    landed: dict[str, str | None]  # insurer -> delivery_id in force in landing/
    deliveries: list[dict[str, Any]]  # what the warehouse holds
    fingerprint: str
    readiness: dict[str, Any] | None  # the latest recorded verdict, if any
    blocking_reasons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # method.md §11: a cancelled version is gated like any other but never signed off or published
    cancelled: CancelledPeriod | None = None

    @property
    def cancelled_reason(self) -> str | None:
        """Why sign-off and publish refuse this period, when it is cancelled."""
        if self.cancelled is None:
            return None
        return (
            f"{self.period} is cancelled (vervallen, decided on {self.cancelled.decided_on}): "
            f"{self.cancelled.reason}; a cancelled version is never signed off or published (method.md §11)"
        )

    @property
    def gates_passed(self) -> bool:
        return not self.blocking_reasons

    @property
    def verdict(self) -> str:
        return "pass" if self.gates_passed else "blocked"


def _latest_readiness(con: duckdb.DuckDBPyConnection, period: str) -> dict[str, Any] | None:
    if not has_table(con, "ops", "release_readiness"):
        return None
    row = con.execute(
        "select fingerprint, passed, blocking_reasons, warnings, evaluated_at from ops.release_readiness "
        "where period = ? order by evaluated_at desc limit 1",
        [period],
    ).fetchone()
    if row is None:
        return None
    return {
        "fingerprint": row[0],
        "passed": row[1],
        "blocking_reasons": json.loads(row[2]),
        "warnings": json.loads(row[3]),
        "evaluated_at": row[4].isoformat(timespec="seconds") + "Z",
    }


def period_state(con: duckdb.DuckDBPyConnection, paths: SpiegelPaths, period: str) -> PeriodState:
    """Everything that decides whether ``period`` may be signed off and published."""
    required = required_insurers(period)
    landed_all = complete_deliveries(paths.landing)
    landed = {i: (ref.delivery_id if (ref := in_force(landed_all, period, i)) else None) for i in required}
    deliveries = warehouse_deliveries(con, period) if has_table(con, "raw", "deliveries") else []
    by_insurer = {d["insurer"]: d for d in deliveries}
    state = PeriodState(
        period,
        required,
        landed,
        deliveries,
        deliveries_fingerprint(deliveries),
        _latest_readiness(con, period) if has_table(con, "raw", "deliveries") else None,
        cancelled=cancelled_periods(paths).get(period),
    )
    reasons = state.blocking_reasons
    stale = False
    for insurer in required:
        landed_id, ingested = landed[insurer], by_insurer.get(insurer)
        if landed_id is None:
            reasons.append(missing_delivery_reason(insurer, period))
        elif ingested is None or ingested["delivery_id"] != landed_id:
            stale = True
            reasons.append(
                f"{insurer}: delivery {landed_id} has landed but is not ingested yet; run the period "
                f"(spiegel run --period {period})"
            )
    if state.readiness is None:
        if not stale:
            reasons.append(f"the gates and the method have not run for {period}; run `spiegel run --period {period}`")
    elif state.readiness["fingerprint"] != state.fingerprint:
        if not stale:
            reasons.append(
                f"the deliveries of {period} changed after the last gate verdict "
                f"({state.readiness['evaluated_at']}); run the period again"
            )
    else:
        reasons.extend(r for r in state.readiness["blocking_reasons"] if r not in reasons)
        state.warnings.extend(state.readiness["warnings"])
    return state


def known_periods(con: duckdb.DuckDBPyConnection, paths: SpiegelPaths) -> list[str]:
    """Periods seen in the landing zone or the warehouse, oldest first."""
    periods = {d.period for d in complete_deliveries(paths.landing)}
    if has_table(con, "raw", "deliveries"):
        periods |= {r[0] for r in con.execute("select distinct period from raw.deliveries").fetchall()}
    return sorted(periods, key=period_sort_key)
