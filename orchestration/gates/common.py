"""What the three suites share: the suite names, the thresholds, the SQL files of
``expectations/sql/``, the delivery in force, the period's bounds, and plain-words helpers."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any

import duckdb

from orchestration.core.seeds import period_sort_key, periods
from orchestration.core.seeds import previous_period as seeds_previous_period
from orchestration.core.settings import EXPECTATIONS_DIR, SEEDS_DIR
from orchestration.core.warehouse import has_table
from orchestration.gates.dbt_macros import render

CONTENTS = "delivery_contents"
CONTENTS_WARNINGS = "delivery_contents_warnings"  # the same frame as CONTENTS, its warnings only
COMPLETENESS = "delivery_completeness"
READINESS = "release_readiness"
SAMPLE_ROWS = 5
SQL_DIR = EXPECTATIONS_DIR / "sql"
PRESTATIE_CODES_SEED = SEEDS_DIR / "prestatie_codes.csv"


def thresholds() -> dict[str, dict[str, Any]]:
    """The tolerances (expectations/thresholds.json), read on every call: it is configuration."""
    return json.loads((EXPECTATIONS_DIR / "thresholds.json").read_text(encoding="utf-8"))


@cache
def sql_file(name: str) -> str:
    """The SQL of ``expectations/sql/<name>.sql``, where each suite's SQL lives (read once),
    with its calls of the dbt project's shared macros rendered (gates/dbt_macros.py)."""
    return render((SQL_DIR / f"{name}.sql").read_text(encoding="utf-8"))


def run_sql(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> duckdb.DuckDBPyConnection:
    """Execute ``sql`` with the named ``params`` it uses (DuckDB refuses unused ones);
    ``$prestatie_codes`` is the prestatie code seed."""
    params = {**params, "prestatie_codes": str(PRESTATIE_CODES_SEED)}
    return con.execute(sql, {k: v for k, v in params.items() if re.search(rf"\${k}\b", sql)})


def months(period_start: date, period_end: date) -> list[str]:
    out, y, m = [], period_start.year, period_start.month
    while (y, m) <= (period_end.year, period_end.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def previous_period(period: str) -> str | None:
    """The period before ``period`` in the sequence …-v1, -v2, -v3, next year -v1."""
    ordered = sorted(periods(), key=period_sort_key)
    if period in ordered:
        i = ordered.index(period)
        return ordered[i - 1] if i > 0 else None
    return seeds_previous_period(period)


def delivery_in_force(con: duckdb.DuckDBPyConnection, period: str, insurer: str) -> dict[str, Any] | None:
    if not has_table(con, "raw", "deliveries"):
        return None
    row = con.execute(
        "select delivery_id, status, rejection_rule, rejection_message, period_start, period_end, cutoff_date, "
        "row_count from raw.deliveries where period = ? and insurer = ? order by ingested_at desc limit 1",
        [period, insurer],
    ).fetchone()
    if row is None:
        return None
    keys = (
        "delivery_id",
        "status",
        "rejection_rule",
        "rejection_message",
        "period_start",
        "period_end",
        "cutoff_date",
        "row_count",
    )
    return dict(zip(keys, row))


def bounds(period: str, delivery: dict[str, Any]) -> tuple[date, date, date]:
    """Treatment-date bounds from the periods seed; cutoff from the delivery (else the seed)."""
    info = periods().get(period)
    start = date.fromisoformat(info.period_start) if info else delivery["period_start"]
    end = date.fromisoformat(info.period_end) if info else delivery["period_end"]
    cutoff = delivery.get("cutoff_date") or (date.fromisoformat(info.cutoff_date) if info else end)
    return start, end, cutoff


def first_line(text: str | None, limit: int = 300) -> str:
    text = (text or "no message").strip().splitlines()[0] if text and text.strip() else "no message"
    return text if len(text) <= limit else text[:limit] + " …"


def pct(x: float | None) -> str:
    if x is None:
        return "n/a"
    p = 100 * x
    return f"{p:.0f} %" if p >= 10 or p == 0 else f"{p:.2g} %"


def is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def safe_name(*parts: str | None) -> str:
    return "__".join(re.sub(r"[^A-Za-z0-9_.-]", "_", p or "all") for p in parts)


def plain(v: Any) -> Any:
    """JSON-friendly python value (numpy scalars, dates, decimals)."""
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, float):
        return None if v != v else v
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, (date, datetime)):
        return v.isoformat()
    if isinstance(v, dict):
        return {str(k): plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if hasattr(v, "item"):
        return plain(v.item())
    return str(v)
