"""The gate log: a gate's result (:class:`GateResult` of :class:`Outcome`), appended to
``quality.gate_results`` and read back (the newest per suite of the deliveries in force)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from orchestration.core.warehouse import has_table
from orchestration.gates.common import READINESS, delivery_in_force, first_line, plain, sql_file


@dataclass
class Outcome:
    """One expectation's result."""

    expectation: str
    severity: str  # "error" (blocking) or "warn"
    success: bool
    observed: Any
    expected: str
    message: str
    sample_rows: list[dict] = field(default_factory=list)


@dataclass
class GateResult:
    suite: str
    period: str
    insurer: str | None
    delivery_id: str | None
    outcomes: list[Outcome]
    data_docs: Path | None = None
    warnings_docs: Path | None = None  # Data Docs page of the warnings suite, if the gate has one
    label_lines: list[dict] = field(default_factory=list)  # contents gate: lines per label (uzovi)

    @property
    def passed(self) -> bool:
        return not any(o.severity == "error" and not o.success for o in self.outcomes)

    @property
    def blocking_reasons(self) -> list[str]:
        return [o.message for o in self.outcomes if o.severity == "error" and not o.success]

    @property
    def warnings(self) -> list[str]:
        return [o.message for o in self.outcomes if o.severity == "warn" and not o.success]


def ensure_quality_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(sql_file("quality_schema"))


def delivery_to_judge(
    con: duckdb.DuckDBPyConnection, suite: str, period: str, insurer: str
) -> tuple[dict[str, Any], None] | tuple[None, GateResult]:
    """The accepted delivery in force of (period, insurer), or the failed result of
    ``suite`` when there is none to judge (a failed gate, never a crash)."""
    ensure_quality_schema(con)
    delivery = delivery_in_force(con, period, insurer)
    if delivery is None:
        msg = f"{insurer}: no delivery for {period} is in force in the warehouse (nothing to validate)"
        return None, GateResult(
            suite,
            period,
            insurer,
            None,
            [Outcome("delivery_available", "error", False, "missing", "an accepted delivery", msg)],
        )
    if delivery["status"] != "accepted":
        msg = (
            f"{insurer}: delivery {delivery['delivery_id']} for {period} was rejected by the delivery contract "
            f"(rule {delivery['rejection_rule']}): {first_line(delivery['rejection_message'])}"
        )
        return None, GateResult(
            suite,
            period,
            insurer,
            delivery["delivery_id"],
            [Outcome("delivery_available", "error", False, "rejected", "an accepted delivery", msg)],
        )
    return delivery, None


def record_gate_result(con: duckdb.DuckDBPyConnection, result: GateResult) -> None:
    """Append ``result`` to quality.gate_results."""
    ensure_quality_schema(con)
    outcomes = json.dumps([plain(asdict(o)) for o in result.outcomes], ensure_ascii=False)
    con.execute(
        "insert into quality.gate_results values (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            result.period,
            result.insurer,
            result.delivery_id,
            result.suite,
            result.passed,
            datetime.now(UTC).replace(tzinfo=None),
            outcomes,
            str(result.data_docs) if result.data_docs else None,
        ],
    )


def _result_from_row(row) -> GateResult:
    period, insurer, delivery_id, suite, _passed, _at, outcomes, docs = row
    return GateResult(
        suite, period, insurer, delivery_id, [Outcome(**o) for o in json.loads(outcomes)], Path(docs) if docs else None
    )


def latest_gate_results(con: duckdb.DuckDBPyConnection, period: str) -> list[GateResult]:
    """Newest result per (insurer, suite) for the period's deliveries in force (and the
    period's newest readiness result). Works on a read-only connection."""
    if not has_table(con, "quality", "gate_results"):
        return []
    has_deliveries = has_table(con, "raw", "deliveries")
    in_force = (
        (
            "exists (select 1 from raw.deliveries d where d.period = g.period and d.insurer = g.insurer "
            "and d.delivery_id = g.delivery_id)"
        )
        if has_deliveries
        else "false"
    )
    rows = con.execute(
        f"""
        select period, insurer, delivery_id, suite, passed, evaluated_at, outcomes, data_docs
        from quality.gate_results g
        where period = ? and ((insurer is null and suite = '{READINESS}') or {in_force})
        qualify row_number() over (partition by insurer, suite order by evaluated_at desc) = 1
        order by insurer nulls last, suite
    """,
        [period],
    ).fetchall()
    return [_result_from_row(r) for r in rows]


def latest_delivery_gates(con, period: str, insurer: str, delivery_id: str) -> dict[str, GateResult]:
    """The newest result of each suite on one delivery."""
    if not has_table(con, "quality", "gate_results"):
        return {}
    rows = con.execute(
        """
        select period, insurer, delivery_id, suite, passed, evaluated_at, outcomes, data_docs
        from quality.gate_results where period = ? and insurer = ? and delivery_id = ?
        qualify row_number() over (partition by suite order by evaluated_at desc) = 1
    """,
        [period, insurer, delivery_id],
    ).fetchall()
    return {r[3]: _result_from_row(r) for r in rows}
