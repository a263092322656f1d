"""The quality gates (orchestration/gates/) on small hand-made warehouses.

Each test builds a DuckDB file with the exact raw schema of design.md from pandas
frames, runs the real Great Expectations suites and asserts the verdict and the words
people read.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import duckdb
import pandas as pd
import pytest

from orchestration import gates
from orchestration.core.seeds import insurer_labels_in, insurers, periods, required_insurers
from orchestration.core.settings import SpiegelPaths
from orchestration.delivery.raw_tables import ensure_raw_schema, record_missing, store_claims

UZOVI = {i.insurer_id: insurer_labels_in(i.insurer_id, "2024-v1")[0] for i in insurers()}  # main labels
NORMAL = 400  # claim lines per month in a clean delivery


# --------------------------------------------------------------------------- helpers


def months_of(period: str) -> list[str]:
    info = periods()[period]
    start, end = date.fromisoformat(info.period_start), date.fromisoformat(info.period_end)
    return gates.common.months(start, end)


def claims_frame(
    period: str, insurer: str, per_month: dict[str, int] | None = None, last_month_factor: float = 0.9
) -> pd.DataFrame:
    """A clean delivery: NORMAL lines a month, the last month lower (claim lag)."""
    months = months_of(period)
    per_month = dict(per_month or {})
    for m in months:
        per_month.setdefault(m, int(NORMAL * last_month_factor) if m == months[-1] else NORMAL)
    rows = []
    k = 0
    for m, n in per_month.items():
        first = date.fromisoformat(m + "-01")
        for i in range(n):
            k += 1
            service = first + timedelta(days=i % 28)
            physio = k % 3 != 0
            rows.append(
                {
                    "claim_id": f"{insurer}-{k:07d}",
                    "original_claim_id": None,
                    "uzovi": UZOVI[insurer],
                    "practice_agb": f"0400{k % 50:04d}",
                    "therapist_agb": f"0410{k % 80:04d}",
                    "patient_id": f"{k % 300:064x}",
                    "birth_date": date(1950 + k % 50, 1 + k % 12, 1 + k % 28),
                    "sex": "12"[k % 2],
                    "service_date": service,
                    "code_list": "073" if physio else "074",
                    "prestatie_code": "1000" if physio else "2000",
                    "dcsph_code": f"{7000 + k % 90:04d}",
                    "indication_code": "009",
                    "coverage": "BV" if k % 4 else "AV",
                    "claimed_amount": 36.53,
                    "paid_amount": 36.53,
                    "processed_date": service + timedelta(days=12),
                }
            )
    return pd.DataFrame(rows)


def load(
    con,
    period: str,
    insurer: str,
    delivery_id: str,
    frame: pd.DataFrame | None,
    status: str = "accepted",
    rule: str | None = None,
    message: str | None = None,
) -> None:
    """What ingestion does: the delivery in force replaces the (period, insurer) rows."""
    info = periods()[period]
    record_missing(con, period, insurer)
    rows = 0
    if frame is not None and status == "accepted":
        con.register("incoming", frame)
        store_claims(con, period, insurer, delivery_id, "incoming")
        con.unregister("incoming")
        rows = len(frame)
    accepted = status == "accepted"
    con.execute(
        "insert into raw.deliveries values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            period,
            insurer,
            delivery_id,
            status,
            "claims.csv",
            "ab" * 32,
            rows,
            0,
            info.period_start if accepted else None,
            info.period_end if accepted else None,
            info.cutoff_date if accepted else None,
            rule,
            message,
            datetime(2024, 10, 1),
        ],
    )


@pytest.fixture
def wh(tmp_path):
    paths = SpiegelPaths(tmp_path / "data")
    paths.data_dir.mkdir(parents=True)
    con = duckdb.connect(str(paths.warehouse))
    ensure_raw_schema(con)
    yield con, paths
    con.close()


def gate(con, paths, period, insurer):
    results = [
        gates.check_delivery_contents(con, period, insurer, paths),
        gates.check_delivery_completeness(con, period, insurer, paths),
    ]
    for r in results:
        gates.record_gate_result(con, r)
    return results


def outcome(result, name):
    return next(o for o in result.outcomes if o.expectation == name)


# --------------------------------------------------------------------------- delivery gates


def test_clean_deliveries_pass_with_a_lower_last_month_and_write_data_docs(wh):
    con, paths = wh
    for insurer in ("cz", "vgz"):
        load(con, "2024-v1", insurer, "20240920T0900", claims_frame("2024-v1", insurer, last_month_factor=0.9))
        contents, completeness = gate(con, paths, "2024-v1", insurer)
        assert contents.passed and completeness.passed, contents.blocking_reasons + completeness.blocking_reasons
        assert contents.warnings == [] and contents.delivery_id == "20240920T0900"
        assert outcome(contents, "unknown_prestatie_codes").observed == 0
        assert outcome(completeness, "month_volume_vs_previous_delivery").success
        for r in (contents, completeness):
            assert r.data_docs is not None and r.data_docs.suffix == ".html" and r.data_docs.exists()
            assert paths.gx_docs in r.data_docs.parents
    profiles = con.execute(
        "select insurer, count(*) from quality.delivery_month_profiles group by 1 order by 1"
    ).fetchall()
    assert profiles == [("cz", 6), ("vgz", 6)]
    # profiling is idempotent for the same delivery
    gates.check_delivery_completeness(con, "2024-v1", "cz", paths)
    assert con.execute("select count(*) from quality.delivery_month_profiles where insurer = 'cz'").fetchone() == (6,)


def test_a_missing_month_blocks_naming_insurer_and_month(wh):
    con, paths = wh
    load(con, "2024-v1", "vgz", "d1", claims_frame("2024-v1", "vgz", {"2024-05": 0}))
    result = gates.check_delivery_completeness(con, "2024-v1", "vgz", paths)
    assert not result.passed
    assert len(result.blocking_reasons) == 1, result.blocking_reasons
    reason = result.blocking_reasons[0]
    assert reason.startswith("vgz:") and "2024-05" in reason and "missing" in reason
    assert outcome(result, "months_delivered").observed == ["2024-05"]


def test_a_month_at_30_percent_of_its_volume_blocks(wh):
    con, paths = wh
    load(con, "2024-v1", "eno", "d1", claims_frame("2024-v1", "eno", {"2024-03": int(NORMAL * 0.3)}))
    result = gates.check_delivery_completeness(con, "2024-v1", "eno", paths)
    assert not result.passed
    o = outcome(result, "month_volume_vs_median")
    assert not o.success and o.severity == "error" and o.observed == ["2024-03"]
    assert "eno:" in o.message and "2024-03" in o.message and "30 %" in o.message
    assert o.sample_rows and o.sample_rows[0]["month"] == "2024-03"


def test_previous_delivery_catches_a_shrinking_month(wh):
    con, paths = wh
    # first delivery of the year (v1), then v2 in which March shrank to 60 %: within the
    # median tolerance, but a cumulative extract must not shrink
    load(con, "2024-v1", "menzis", "20240915T0800", claims_frame("2024-v1", "menzis", last_month_factor=1.0))
    assert gates.check_delivery_completeness(con, "2024-v1", "menzis", paths).passed
    load(con, "2024-v2", "menzis", "20241220T0800", claims_frame("2024-v2", "menzis", {"2024-03": int(NORMAL * 0.6)}))
    result = gates.check_delivery_completeness(con, "2024-v2", "menzis", paths)
    assert outcome(result, "month_volume_vs_median").success
    o = outcome(result, "month_volume_vs_previous_delivery")
    assert not o.success and o.observed == ["2024-03"]
    assert "menzis:" in o.message and "2024-03" in o.message and "20240915T0800" in o.message
    assert "2024-v1" in o.message and "shrink" in o.message
    # a redelivery of v2 that restores March passes: compared with the newest earlier delivery
    load(con, "2024-v2", "menzis", "20250105T0800", claims_frame("2024-v2", "menzis"))
    assert gates.previous_delivery(con, "2024-v2", "menzis", "20250105T0800") == ("2024-v2", "20241220T0800")
    assert gates.check_delivery_completeness(con, "2024-v2", "menzis", paths).passed


def test_unknown_prestatie_codes_block_beyond_tolerance_only(wh):
    con, paths = wh
    frame = claims_frame("2024-v1", "cz")  # 2,360 lines; tolerance 0.1 % = 2.36 lines
    below = frame.copy()
    below.loc[[5, 77], "prestatie_code"] = "9999"
    load(con, "2024-v1", "cz", "d1", below)
    result = gates.check_delivery_contents(con, "2024-v1", "cz", paths)
    assert result.passed and outcome(result, "unknown_prestatie_codes").observed == pytest.approx(2 / len(frame))

    beyond = frame.copy()
    beyond.loc[range(10, 40), "prestatie_code"] = "9999"
    load(con, "2024-v1", "cz", "d2", beyond)
    result = gates.check_delivery_contents(con, "2024-v1", "cz", paths)
    assert not result.passed and result.delivery_id == "d2"
    o = outcome(result, "unknown_prestatie_codes")
    assert o.severity == "error" and o.expected == "<= 0.001"
    assert o.message.startswith("cz:") and "prestatie code" in o.message and "30 of 2360" in o.message
    assert len(o.sample_rows) == 5
    assert o.sample_rows[0] == {"source_line": 12, "claim_id": "cz-0000011", "value": "073/9999"}


def test_out_of_period_lines_at_2_percent_block(wh):
    con, paths = wh
    frame = claims_frame("2024-v2", "eno")
    n = int(len(frame) * 0.02)
    frame.loc[range(n), "service_date"] = date(2023, 12, 15)
    load(con, "2024-v2", "eno", "d1", frame)
    result = gates.check_delivery_contents(con, "2024-v2", "eno", paths)
    assert not result.passed
    assert [o.expectation for o in result.outcomes if not o.success] == ["service_date_outside_period"]
    reason = result.blocking_reasons[0]
    assert reason.startswith("eno:") and "outside the period" in reason and "2024-01-01" in reason
    assert outcome(result, "service_date_outside_period").sample_rows[0]["value"] == "2023-12-15"


def test_orphan_credits_and_many_rejections_only_warn(wh):
    con, paths = wh
    frame = claims_frame("2024-v1", "zilveren_kruis")
    credits = frame.iloc[:3].copy()
    credits["claim_id"] = ["CR1", "CR2", "CR3"]
    credits["original_claim_id"] = [frame.claim_id[0], "NOT-IN-DELIVERY", None]
    credits["paid_amount"] = -36.53
    frame.loc[range(10, 400), "paid_amount"] = 0.0  # ~16 % rejected lines
    load(con, "2024-v1", "zilveren_kruis", "d1", pd.concat([frame, credits], ignore_index=True))
    result = gates.check_delivery_contents(con, "2024-v1", "zilveren_kruis", paths)
    assert result.passed and result.blocking_reasons == []
    orphans = outcome(result, "orphan_credits")
    assert orphans.severity == "warn" and not orphans.success and orphans.observed == 2
    assert {r["claim_id"] for r in orphans.sample_rows} == {"CR2", "CR3"}
    assert outcome(result, "rejected_lines").severity == "warn" and not outcome(result, "rejected_lines").success
    assert len(result.warnings) == 2 and all(w.startswith("zilveren_kruis:") for w in result.warnings)
    # under a PASS verdict a warning reads as a finding that does not block, not as a breached limit
    assert orphans.message.startswith("zilveren_kruis: 2 orphan credit lines of 3 credit lines ")
    for warning in result.warnings:
        assert "a warning (reported above " in warning and "they do not block" in warning, warning
        assert "tolerance" not in warning, warning


def test_missing_or_rejected_delivery_is_a_failed_gate_not_a_crash(wh):
    con, paths = wh
    missing = gates.check_delivery_contents(con, "2024-v1", "de_friesland", paths)
    assert not missing.passed and "no delivery" in missing.blocking_reasons[0]
    load(
        con,
        "2024-v1",
        "de_friesland",
        "d1",
        None,
        status="rejected",
        rule="claims.control_total",
        message="claims.csv: paid_amount total 10.00 differs from the manifest's 12.00",
    )
    rejected = gates.check_delivery_completeness(con, "2024-v1", "de_friesland", paths)
    assert not rejected.passed and "claims.control_total" in rejected.blocking_reasons[0]


# --------------------------------------------------------------------------- release readiness


def test_readiness_names_missing_rejected_and_failed_insurers_in_plain_words(wh):
    con, paths = wh
    period = "2024-v1"
    for insurer in required_insurers(period):
        if insurer == "menzis":
            continue  # never delivered
        if insurer == "cz":
            load(
                con,
                period,
                insurer,
                "d1",
                None,
                status="rejected",
                rule="claims.control_total",
                message="claims.csv: paid_amount total differs from the manifest",
            )
            continue
        per_month = {"2024-05": 0} if insurer == "vgz" else None
        load(con, period, insurer, "d1", claims_frame(period, insurer, per_month))
        gate(con, paths, period, insurer)
    result = gates.check_release_readiness(con, period, paths)
    gates.record_gate_result(con, result)
    assert not result.passed and result.suite == "release_readiness" and result.insurer is None
    reasons = result.blocking_reasons
    assert len(reasons) == 3, reasons
    by = {r.split(":")[0]: r for r in reasons}
    assert "no delivery" in by["menzis"]
    assert "rejected" in by["cz"] and "claims.control_total" in by["cz"]
    assert "delivery_completeness" in by["vgz"] and "2024-05" in by["vgz"]
    share = outcome(result, "market_share_shift")
    assert share.success and "skipped" in share.message  # no marts yet

    latest = gates.latest_gate_results(con, period)
    assert {(r.insurer, r.suite) for r in latest} >= {("vgz", "delivery_completeness"), (None, "release_readiness")}
    vgz = next(r for r in latest if r.insurer == "vgz" and r.suite == "delivery_completeness")
    assert not vgz.passed and "2024-05" in vgz.blocking_reasons[0]

    # vgz redelivers: the new delivery in force is not gated yet, then passes
    load(con, period, "vgz", "d2", claims_frame(period, "vgz"))
    not_run = gates.check_release_readiness(con, period, paths)
    assert any(r.startswith("vgz:") and "has not run" in r for r in not_run.blocking_reasons)
    gate(con, paths, period, "vgz")
    again = gates.check_release_readiness(con, period, paths)
    assert not any(r.startswith("vgz:") for r in again.blocking_reasons)


def test_readiness_blocks_an_implausible_market_share_shift(wh):
    con, paths = wh
    period, previous = "2024-v2", "2024-v1"
    assert gates.previous_period("2024-v1") == "2023-v3" and gates.previous_period(period) == previous
    required = required_insurers(period)
    for insurer in required:
        load(con, period, insurer, "d1", claims_frame(period, insurer))
        gate(con, paths, period, insurer)
    marts = []
    for insurer in required:
        for month in months_of(previous):
            marts.append((previous, insurer, month, 1200, 1000, 36530.0))
        for month in months_of(period):
            sessions = 2000 if insurer == "zilveren_kruis" else 1050
            marts.append((period, insurer, month, 1200, sessions, 36530.0))
    con.execute("create schema marts")
    con.execute(
        "create table marts.fct_insurer_monthly_sessions (period varchar, insurer_id varchar, "
        "month varchar, claim_lines bigint, counted_sessions bigint, paid_amount decimal(18, 2))"
    )
    con.executemany("insert into marts.fct_insurer_monthly_sessions values (?, ?, ?, ?, ?, ?)", marts)
    result = gates.check_release_readiness(con, period, paths)
    assert result.blocking_reasons and len(result.blocking_reasons) == 1, result.blocking_reasons
    reason = result.blocking_reasons[0]
    assert reason.startswith("zilveren_kruis:") and "share of national counted sessions" in reason
    assert "2024-v1" in reason and "2024-v2" in reason
    assert result.data_docs is not None and result.data_docs.exists()

    # the same shares in both periods pass
    con.execute("update marts.fct_insurer_monthly_sessions set counted_sessions = 1000")
    assert gates.check_release_readiness(con, period, paths).passed
