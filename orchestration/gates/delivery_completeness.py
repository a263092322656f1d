"""Suite ``delivery_completeness``: no month of the period missing or under-delivered.

ONE scan ``GROUP BY`` month of the service date (``expectations/sql/completeness_profile.sql``),
the monthly profile (claim lines, session lines, credit lines, paid amount), stored in
``quality.delivery_month_profiles`` (period, insurer, delivery_id, month; re-profiling the
same delivery_id replaces its rows), so a later delivery can be compared with the previous
one of the insurer.
"""

from __future__ import annotations

import statistics
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import duckdb

from orchestration.core.seeds import period_sort_key, periods, windows_of
from orchestration.core.settings import SpiegelPaths
from orchestration.core.warehouse import transaction
from orchestration.gates.common import (
    COMPLETENESS,
    SAMPLE_ROWS,
    bounds,
    months,
    pct,
    plain,
    run_sql,
    safe_name,
    sql_file,
    thresholds,
)
from orchestration.gates.gx_adapter import evaluate
from orchestration.gates.log import GateResult, Outcome, delivery_to_judge, ensure_quality_schema


def profile_delivery(
    con: duckdb.DuckDBPyConnection, period: str, insurer: str, delivery_id: str, start: date, end: date
) -> list[dict[str, Any]]:
    """Monthly profile of a delivery (one scan), stored idempotently in quality.delivery_month_profiles."""
    ensure_quality_schema(con)
    rows = run_sql(
        con, sql_file("completeness_profile"), {"period": period, "insurer": insurer, "start": start, "end": end}
    ).fetchall()
    by_month = {r[0]: r for r in rows}
    now = datetime.now(UTC).replace(tzinfo=None)
    profile = []
    for month in months(start, end):
        r = by_month.get(month)
        profile.append(
            {
                "month": month,
                "claim_lines": int(r[1]) if r else 0,
                "session_lines": int(r[2]) if r else 0,
                "credit_lines": int(r[3]) if r else 0,
                "paid_amount": r[4] if r else Decimal("0.00"),
            }
        )
    with transaction(con):
        con.execute(
            "delete from quality.delivery_month_profiles where period = ? and insurer = ? and delivery_id = ?",
            [period, insurer, delivery_id],
        )
        con.executemany(
            "insert into quality.delivery_month_profiles values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                [
                    period,
                    insurer,
                    delivery_id,
                    p["month"],
                    p["claim_lines"],
                    p["session_lines"],
                    p["credit_lines"],
                    p["paid_amount"],
                    now,
                ]
                for p in profile
            ],
        )
    return profile


def previous_delivery(
    con: duckdb.DuckDBPyConnection, period: str, insurer: str, delivery_id: str
) -> tuple[str, str] | None:
    """The newest earlier profiled delivery of the insurer: the same period (an earlier
    delivery_id), else the newest of an earlier version of the same year."""
    year, version = period_sort_key(period)
    rows = con.execute(
        "select distinct period, delivery_id from quality.delivery_month_profiles where insurer = ? and period like ?",
        [insurer, f"{year}-v%"],
    ).fetchall()
    candidates = [
        (p, d)
        for p, d in rows
        if (p == period and d < delivery_id) or (period_sort_key(p)[0] == year and period_sort_key(p)[1] < version)
    ]
    if not candidates:
        return None
    return max(candidates, key=lambda pd_: (period_sort_key(pd_[0]), pd_[1]))


def window_months(period: str, paths: SpiegelPaths) -> set[str]:
    """The months of ``period`` that an exclusion window in force overlaps."""
    info = periods()[period]
    first, last = date.fromisoformat(info.period_start), date.fromisoformat(info.period_end)
    found: set[str] = set()
    for window in windows_of(period, paths):
        found |= set(months(max(first, window.first_date), min(last, window.last_date)))
    return found


def check_delivery_completeness(
    con: duckdb.DuckDBPyConnection, period: str, insurer: str, paths: SpiegelPaths
) -> GateResult:
    """Suite ``delivery_completeness``: no month missing or under-delivered."""
    import pandas as pd

    delivery, failed = delivery_to_judge(con, COMPLETENESS, period, insurer)
    if failed:
        return failed
    delivery_id = delivery["delivery_id"]
    start, end, _ = bounds(period, delivery)
    # months that overlap an exclusion window (method.md §9) are not judged: their lines do
    # not count, and a month in which practices closed is not an under-delivery
    exempt = window_months(period, paths)
    profile = [p for p in profile_delivery(con, period, insurer, delivery_id, start, end) if p["month"] not in exempt]
    median = statistics.median(p["claim_lines"] for p in profile) if profile else 0
    previous = previous_delivery(con, period, insurer, delivery_id)
    prev_lines: dict[str, int] = {}
    if previous:
        prev_lines = dict(
            con.execute(
                "select month, claim_lines from quality.delivery_month_profiles where period = ? and insurer = ? "
                "and delivery_id = ?",
                [previous[0], insurer, previous[1]],
            ).fetchall()
        )
    records = []
    for p in profile:
        n, before = p["claim_lines"], prev_lines.get(p["month"])
        records.append(
            {
                "month": p["month"],
                "claim_lines": n,
                "session_lines": p["session_lines"],
                "ratio_to_median": (n / median) if (n > 0 and median > 0) else None,
                "previous_claim_lines": before,
                "ratio_to_previous": (n / before) if (n > 0 and before) else None,
            }
        )
    frame = pd.DataFrame(records).astype(
        {"ratio_to_median": "float64", "ratio_to_previous": "float64", "previous_claim_lines": "float64"}
    )
    params = thresholds()[COMPLETENESS]
    evaluated, page = evaluate(
        COMPLETENESS, frame, params, paths, safe_name(period, insurer, delivery_id), index_column="month"
    )
    by_month = {r["month"]: r for r in records}
    outcomes = []
    for name, ev in evaluated.items():
        bad = [by_month[m] for m in ev.offending if m in by_month]
        if name == "months_delivered":
            parts = [
                f"{r['month']} has {r['claim_lines']} claim lines (the insurer's median month has "
                f"{median:g}): the month is missing"
                for r in bad
            ]
        elif name == "month_volume_vs_median":
            parts = [
                f"{r['month']} has {pct(r['ratio_to_median'])} of the insurer's median monthly claim lines "
                f"({r['claim_lines']} of {median:g}; minimum {pct(params['min_ratio_to_median_month'])}): "
                f"the month is under-delivered"
                for r in bad
            ]
        else:
            parts = (
                [
                    f"{r['month']} has {pct(r['ratio_to_previous'])} of the claim lines of the previous delivery "
                    f"{previous[1]} for {previous[0]} ({r['claim_lines']} vs {r['previous_claim_lines']:g}; minimum "
                    f"{pct(params['min_ratio_to_previous_delivery'])}): a cumulative extract should not shrink"
                    for r in bad
                ]
                if previous
                else []
            )
        if parts:
            message = f"{insurer}: " + "; ".join(parts) + f" (delivery {delivery_id})"
        elif name == "month_volume_vs_previous_delivery" and not previous:
            message = f"{insurer}: no previous delivery of {period[:4]} to compare with (first delivery of the year)"
        elif not ev.success:
            message = (
                f"{insurer}: {name} failed (observed {ev.observed}, expected {ev.expected}) in delivery {delivery_id}"
            )
        else:
            message = f"{insurer}: {name} ok for every month of {period} (delivery {delivery_id})"
        observed = ev.offending if ev.offending else ev.observed
        outcomes.append(
            Outcome(
                name, ev.severity, ev.success, observed, ev.expected, message, [plain(r) for r in bad][:SAMPLE_ROWS]
            )
        )
    return GateResult(COMPLETENESS, period, insurer, delivery_id, outcomes, page)
