"""Suite ``release_readiness``: may the period be released? Over all required insurers:
a delivery in force, accepted, that passed both delivery gates, and a plausible market
share against the previous period (``marts.fct_insurer_monthly_sessions``,
``expectations/sql/readiness_national_sessions.sql``). Reads ``raw.deliveries`` and the
gate log, no claim line."""

from __future__ import annotations

from typing import Any

import duckdb

from orchestration.core.seeds import required_insurers
from orchestration.core.settings import SpiegelPaths
from orchestration.core.warehouse import has_table
from orchestration.gates.common import (
    COMPLETENESS,
    CONTENTS,
    READINESS,
    delivery_in_force,
    first_line,
    plain,
    previous_period,
    run_sql,
    safe_name,
    sql_file,
    thresholds,
)
from orchestration.gates.gx_adapter import evaluate
from orchestration.gates.log import GateResult, Outcome, ensure_quality_schema, latest_delivery_gates
from orchestration.landing.zone import missing_delivery_reason

MARTS_TABLE = ("marts", "fct_insurer_monthly_sessions")

# What each rule of the suite says in words when it holds, and when it fails without GX naming
# an insurer: the check's metadata is read by operators, not by GX ("expected in [...]").
RULE_HOLDS = {
    "delivery_present": "every required insurer has a delivery in force",
    "delivery_accepted": "no delivery in force is rejected by the delivery contract",
    "contents_gate_passed": "no accepted delivery in force failed its delivery_contents gate",
    "completeness_gate_passed": "no accepted delivery in force failed its delivery_completeness gate",
    "market_share_shift": "no insurer's share of national counted sessions moved implausibly",
}
RULE_FAILS = {
    "delivery_present": "a required insurer has no delivery in force",
    "delivery_accepted": "a delivery in force is rejected by the delivery contract",
    "contents_gate_passed": "a delivery in force did not pass its delivery_contents gate",
    "completeness_gate_passed": "a delivery in force did not pass its delivery_completeness gate",
    "market_share_shift": "an insurer's share of national counted sessions moved implausibly",
}


def delivery_check(insurer: str, period: str, check: str) -> str:
    """Where the UI shows a delivery's own verdict: its check on the delivery partition."""
    return f"the {check} check of delivery partition {insurer}|{period}"


def _national_sessions(con, period: str) -> dict[str, int]:
    rows = run_sql(con, sql_file("readiness_national_sessions"), {"period": period}).fetchall()
    return {r[0]: int(r[1] or 0) for r in rows}


def check_release_readiness(con: duckdb.DuckDBPyConnection, period: str, paths: SpiegelPaths) -> GateResult:
    """Suite ``release_readiness`` over all required insurers of ``period``."""
    import pandas as pd

    ensure_quality_schema(con)
    cfg = thresholds()[READINESS]
    max_rel, max_abs = float(cfg["share_shift_max_relative_change"]), float(cfg["share_shift_max_absolute_points"])
    required = required_insurers(period)
    rows: dict[str, dict[str, Any]] = {}
    gate_reasons: dict[tuple[str, str], str] = {}
    gate_warnings: list[tuple[str, str]] = []
    for insurer in required:
        d = delivery_in_force(con, period, insurer)
        row = {
            "insurer": insurer,
            "delivery_id": d["delivery_id"] if d else None,
            "status": d["status"] if d else None,
            "contents_gate": None,
            "completeness_gate": None,
            "share_previous": None,
            "share_current": None,
            "share_shift_implausible": None,
        }
        if d and d["status"] == "accepted":
            gates = latest_delivery_gates(con, period, insurer, d["delivery_id"])
            for suite, column in ((CONTENTS, "contents_gate"), (COMPLETENESS, "completeness_gate")):
                g = gates.get(suite)
                row[column] = "not run" if g is None else "passed" if g.passed else "failed"
                if g is not None and not g.passed:
                    gate_reasons[(insurer, suite)] = " | ".join(
                        r.removeprefix(f"{insurer}: ") for r in g.blocking_reasons
                    )
                if g is not None:
                    gate_warnings.extend((suite, w) for w in g.warnings)
        rows[insurer] = row

    # market share against the previous period (marts), over insurers comparable in both periods
    share_note = ""
    prev = previous_period(period)
    if not has_table(con, *MARTS_TABLE):
        share_note = f"skipped: {'.'.join(MARTS_TABLE)} does not exist yet (the method has not run)"
    elif prev is None:
        share_note = f"skipped: {period} has no previous period"
    else:
        current, before = _national_sessions(con, period), _national_sessions(con, prev)
        if not any(before.values()):
            share_note = f"skipped: no counted sessions of the previous period {prev} in {'.'.join(MARTS_TABLE)}"
        else:
            blocked = {
                i
                for i, r in rows.items()
                if r["status"] != "accepted" or r["contents_gate"] != "passed" or r["completeness_gate"] != "passed"
            }
            comparable = sorted(
                i for i in required if current.get(i, 0) > 0 and before.get(i, 0) > 0 and i not in blocked
            )
            if len(comparable) < 2:
                share_note = (
                    f"skipped: fewer than two insurers with valid deliveries and counted sessions in "
                    f"both {prev} and {period}"
                )
            else:
                tot_now = sum(current[i] for i in comparable)
                tot_before = sum(before[i] for i in comparable)
                for i in comparable:
                    s_now, s_before = current[i] / tot_now, before[i] / tot_before
                    rel = abs(s_now - s_before) / s_before
                    points = 100 * abs(s_now - s_before)
                    rows[i].update(
                        share_previous=s_before,
                        share_current=s_now,
                        share_shift_implausible=bool(rel > max_rel and points > max_abs),
                    )
                excluded = sorted(set(required) - set(comparable))
                share_note = (
                    f"shares of national counted sessions among {len(comparable)} insurers, {prev} → "
                    f"{period}" + (f" (not compared: {', '.join(excluded)})" if excluded else "")
                )

    frame = pd.DataFrame(list(rows.values()))
    frame = frame.astype(
        {
            c: "object"
            for c in ("delivery_id", "status", "contents_gate", "completeness_gate", "share_shift_implausible")
        }
    )
    frame = frame.astype({"share_previous": "float64", "share_current": "float64"})
    evaluated, page = evaluate(READINESS, frame, {}, paths, safe_name(period, "all", None), index_column="insurer")
    outcomes = []
    for name, ev in evaluated.items():
        parts: list[str] = []
        samples: list[dict] = []
        for insurer in ev.offending:
            r = rows.get(insurer)
            if r is None:
                continue
            d = delivery_in_force(con, period, insurer) if name == "delivery_accepted" else None
            if name == "delivery_present":
                parts.append(missing_delivery_reason(insurer, period))
            elif name == "delivery_accepted" and d:
                rule = d["rejection_rule"]
                why = first_line(d["rejection_message"]).replace(f"rule {rule}: ", "")  # named once
                parts.append(
                    f"{insurer}: the delivery for {period} ({d['delivery_id']}) was rejected by the delivery "
                    f"contract (rule {rule}: {why}); the insurer "
                    f"must redeliver, see {delivery_check(insurer, period, 'delivery_contract')}"
                )
            elif name in ("contents_gate_passed", "completeness_gate_passed"):
                suite = CONTENTS if name == "contents_gate_passed" else COMPLETENESS
                column = "contents_gate" if suite == CONTENTS else "completeness_gate"
                if r[column] == "not run":
                    parts.append(
                        f"{insurer}: the {suite} gate has not run on delivery {r['delivery_id']} for {period} "
                        f"yet; run the period again (spiegel run --period {period})"
                    )
                else:
                    parts.append(
                        f"{insurer}: the delivery for {period} ({r['delivery_id']}) failed the {suite} gate: "
                        f"{gate_reasons.get((insurer, suite), 'see its gate result')}; the insurer must "
                        f"redeliver, see {delivery_check(insurer, period, suite)}"
                    )
            elif name == "market_share_shift":
                s0, s1 = r["share_previous"], r["share_current"]
                parts.append(
                    f"{insurer}: share of national counted sessions moved from {100 * s0:.1f} % in {prev} "
                    f"to {100 * s1:.1f} % in {period} ({100 * (s1 - s0):+.1f} points, "
                    f"{100 * (s1 - s0) / s0:+.0f} %; plausible: within {max_rel:.0%} relative or "
                    f"{max_abs:g} points); ask the insurer whether its delivery is complete, and have it "
                    f"redeliver if not"
                )
            samples.append(plain(r))
        expected = ev.expected
        if name == "market_share_shift":
            expected = f"relative change <= {max_rel:g} or absolute change <= {max_abs:g} points"
        if name == "market_share_shift" and ev.success:
            outcomes.append(Outcome(name, ev.severity, True, ev.observed, expected, f"{period}: {share_note}"))
            continue
        if not parts:
            message = (
                f"{period}: {RULE_HOLDS.get(name, name + ' holds')} (all {len(required)} required insurers)"
                if ev.success
                else f"{period}: {RULE_FAILS.get(name, name + ' does not hold')}, but the gate could not name "
                f"the insurer; see the delivery checks of {period} (Catalog → delivery → Checks)"
            )
            outcomes.append(Outcome(name, ev.severity, ev.success, ev.observed, expected, message))
            continue
        # one outcome per offending insurer, so every blocking reason names its insurer first
        for text, sample in zip(parts, samples):
            outcomes.append(Outcome(name, ev.severity, False, sample.get("insurer"), expected, text, [sample]))
    # the delivery gates' warnings travel with the period's verdict (never blocking)
    for suite, text in gate_warnings:
        outcomes.append(Outcome(f"{suite}_warning", "warn", False, None, "no warning", text))
    return GateResult(READINESS, period, None, None, outcomes, page)
