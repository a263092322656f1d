"""The method (dbt_project) end to end on small hand-made warehouses.

One module-scoped warehouse, two `dbt build` runs (each also runs the dbt unit tests of
method.md §8 and the data tests, among them Σ observed = Σ expected):

* period A (2024-v1, min_stratum_episodes = 1, min_patients = 1): the worked example of
  method.md §8 (oefentherapie), the netting example, a patient of two insurers, and a
  rejected delivery whose lines must not count (fysiotherapie);
* period B (2023-v3, min_stratum_episodes = 4, min_patients = 5): a randomised dataset
  with credits, orphans, rejections and every kind of non-counting line, compared
  number by number with the independent Python reference (tests/support/method_reference.py).

Then: period A's marts are unchanged by running period B.
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import subprocess
import sys
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest

import tests.support.method_reference as method_reference  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DBT_PROJECT = REPO / "dbt_project"
DBT = Path(sys.executable).parent / "dbt"
PERIOD_A, PERIOD_B = "2024-v1", "2023-v3"
VARS_A = {"period": PERIOD_A, "min_stratum_episodes": 1, "min_patients": 1}
VARS_B = {"period": PERIOD_B, "min_stratum_episodes": 4, "min_patients": 5}
MARTS = [
    "fct_behandelindex",
    "fct_reference_strata",
    "fct_excluded_lines",
    "fct_practice_profile",
    "fct_practice_casemix",
    "fct_practice_drivers",
    "fct_insurer_monthly_sessions",
]
PUBLISHED = [
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

RAW_SQL = """
create schema raw;
create table raw.claims (
    period varchar not null, insurer varchar not null, delivery_id varchar not null,
    source_line bigint not null, claim_id varchar not null, original_claim_id varchar,
    uzovi varchar, practice_agb varchar, therapist_agb varchar, patient_id varchar not null,
    birth_date date, sex varchar, service_date date, code_list varchar, prestatie_code varchar,
    dcsph_code varchar, indication_code varchar, coverage varchar,
    claimed_amount decimal(18, 2), paid_amount decimal(18, 2), processed_date date);
create table raw.deliveries (
    period varchar not null, insurer varchar not null, delivery_id varchar not null,
    status varchar not null, file_name varchar, sha256 varchar, row_count bigint,
    paid_amount_total decimal(18, 2), period_start date, period_end date, cutoff_date date,
    rejection_rule varchar, rejection_message varchar, ingested_at timestamp not null);
create table raw.practice_register (practice_agb varchar not null, practice_name varchar not null, place varchar);
"""
CLAIM_COLUMNS = [
    "period",
    "insurer",
    "delivery_id",
    "source_line",
    "claim_id",
    "original_claim_id",
    "uzovi",
    "practice_agb",
    "therapist_agb",
    "patient_id",
    "birth_date",
    "sex",
    "service_date",
    "code_list",
    "prestatie_code",
    "dcsph_code",
    "indication_code",
    "coverage",
    "claimed_amount",
    "paid_amount",
    "processed_date",
]
DELIVERY_COLUMNS = [
    "period",
    "insurer",
    "delivery_id",
    "status",
    "file_name",
    "sha256",
    "row_count",
    "paid_amount_total",
    "period_start",
    "period_end",
    "cutoff_date",
    "rejection_rule",
    "rejection_message",
    "ingested_at",
]
CUTOFF = {PERIOD_A: ("2024-01-01", "2024-06-30", "2024-09-30"), PERIOD_B: ("2023-01-01", "2023-12-31", "2024-03-31")}


def pid(name: str) -> str:
    return (name.encode().hex() * 64)[:64]


class Claims:
    """Builds raw.claims rows; source_line and claim_id numbered per (period, insurer)."""

    def __init__(self) -> None:
        self.rows: list[dict] = []
        self.counter: dict[tuple[str, str], int] = {}

    def add(self, period: str, insurer: str, *, claim_id: str | None = None, **values) -> str:
        n = self.counter.get((period, insurer), 1) + 1
        self.counter[(period, insurer)] = n
        row = {
            "period": period,
            "insurer": insurer,
            "delivery_id": f"{insurer}-{period}-d1",
            "source_line": n,
            "claim_id": claim_id or f"{insurer}-{n}",
            "original_claim_id": None,
            "uzovi": "7095",
            "practice_agb": "04000001",
            "therapist_agb": "04100001",
            "patient_id": pid("x"),
            "birth_date": "1980-05-17",
            "sex": "2",
            "service_date": "2024-03-04",
            "code_list": "073",
            "prestatie_code": "1000",
            "dcsph_code": "7001",
            "indication_code": "009",
            "coverage": "BV",
            "claimed_amount": "36.53",
            "paid_amount": "36.53",
            "processed_date": "2024-03-20",
        }
        row.update(values)
        self.rows.append(row)
        return row["claim_id"]


def delivery(period: str, insurer: str, status: str = "accepted") -> dict:
    start, end, cutoff = CUTOFF[period]
    return {
        "period": period,
        "insurer": insurer,
        "delivery_id": f"{insurer}-{period}-d1",
        "status": status,
        "file_name": "claims.csv",
        "sha256": "0" * 64,
        "row_count": 0,
        "paid_amount_total": "0.00",
        "period_start": start,
        "period_end": end,
        "cutoff_date": cutoff,
        "rejection_rule": None if status == "accepted" else "checksum",
        "rejection_message": None if status == "accepted" else "checksum mismatch",
        "ingested_at": "2024-10-01 12:00:00",
    }


def period_a(claims: Claims) -> list[dict]:
    """method.md §8 worked example (074), netting example, two insurers, rejected delivery (073)."""
    worked = {  # practice -> [(patient, sessions, stratum)]
        "P1": [("a1", 4, "A"), ("a2", 6, "A"), ("b1", 20, "B")],
        "P2": [("a3", 8, "A"), ("b2", 30, "B"), ("b3", 40, "B")],
        "P3": [("a4", 5, "A"), ("a5", 7, "A"), ("b4", 30, "B")],
    }
    strata = {
        "A": dict(birth_date="1995-01-10", sex="2", dcsph_code="7001", indication_code="009"),  # 18-34, F, 70
        "B": dict(birth_date="1955-01-10", sex="1", dcsph_code="3001", indication_code="001"),
    }  # 65-74, M, 30
    for practice, episodes in worked.items():
        for patient, sessions, stratum in episodes:
            for k in range(sessions):
                claims.add(
                    PERIOD_A,
                    "vgz",
                    practice_agb=practice,
                    patient_id=pid(patient),
                    code_list="074",
                    prestatie_code="2000",
                    service_date=str(date(2024, 1, 2) + timedelta(days=k)),
                    **strata[stratum],
                )
    # netting example: a counts; b is credited by c; d is rejected; e is screening
    net = dict(practice_agb="N1", patient_id=pid("n1"))
    claims.add(PERIOD_A, "vgz", claim_id="a", **net)
    claims.add(PERIOD_A, "vgz", claim_id="b", **net)
    claims.add(
        PERIOD_A, "vgz", claim_id="c", original_claim_id="b", paid_amount="-36.53", claimed_amount="-36.53", **net
    )
    claims.add(PERIOD_A, "vgz", claim_id="d", paid_amount="0.00", **net)
    claims.add(PERIOD_A, "vgz", claim_id="e", prestatie_code="1864", paid_amount="55.00", **net)
    # one patient, two insurers, same practice and diagnosis: one episode of 5 sessions
    for insurer, days in (("vgz", (1, 8)), ("cz", (15, 22, 29))):
        for day in days:
            claims.add(
                PERIOD_A,
                insurer,
                practice_agb="M1",
                patient_id=pid("m1"),
                service_date=str(date(2024, 2, 1) + timedelta(days=day - 1)),
            )
    # a rejected delivery's lines never count
    for _ in range(3):
        claims.add(PERIOD_A, "eno", practice_agb="R1", patient_id=pid("r1"))
    return [delivery(PERIOD_A, "vgz"), delivery(PERIOD_A, "cz"), delivery(PERIOD_A, "eno", status="rejected")]


def period_b(claims: Claims, seed: int = 20240917) -> list[dict]:
    """A randomised period: several practices, insurers, credits, orphans, rejections."""
    rng = random.Random(seed)
    insurers = ["vgz", "cz", "menzis"]
    practices = [("073", f"F{i}") for i in range(1, 7)] + [("074", f"O{i}") for i in range(1, 4)]
    sessions = {"073": ["1000", "1001", "1100", "1200"], "074": ["2000", "2001", "2300"]}
    other_codes = {"073": ["1864", "1900", "1105", "9999"], "074": ["2864", "2900", "9999"]}
    birth_dates = [
        "1960-02-29",
        "2008-02-29",
        "2005-12-31",
        "1990-07-01",
        "1948-03-01",
        "1971-11-11",
        "2015-06-15",
        "1983-02-28",
        "1999-09-09",
    ]  # never empty: the contract requires one
    dcsph = ["7001", "7002", "3001", "1401", "5203", "7001", "3001", "70A1", None]
    patients = []
    for n in range(70):
        patients.append(
            {
                "patient_id": pid(f"rb{n}"),
                "birth_date": rng.choice(birth_dates),
                "sex": rng.choice(["1", "2", "1", "2", "0", "9"]),
                "insurers": rng.sample(insurers, rng.choice([1, 1, 2])),
            }
        )
    debit_ids: list[tuple[str, str]] = []
    for code_list, practice in practices:
        # practices of different sizes: some below min_patients
        for patient in rng.sample(patients, rng.choice([2, 3, 6, 8, 10])):
            for _ in range(rng.choice([1, 1, 2])):  # episodes (diagnoses) per patient
                diagnosis = rng.choice(dcsph)
                for _ in range(rng.randint(1, 9)):
                    insurer = rng.choice(patient["insurers"])
                    service = date(2023, 1, 1) + timedelta(days=rng.randint(0, 364))
                    values = dict(
                        practice_agb=practice,
                        patient_id=patient["patient_id"],
                        birth_date=patient["birth_date"],
                        sex=patient["sex"],
                        code_list=code_list,
                        prestatie_code=rng.choice(sessions[code_list]),
                        dcsph_code=diagnosis,
                        indication_code=rng.choice(["009", "009", "009", "001", "008", "002"]),
                        coverage=rng.choice(["BV", "AV", "BV", "AV", "BV"]),
                        therapist_agb=f"0410000{rng.randint(1, 4)}",
                        service_date=str(service),
                        processed_date=str(service + timedelta(days=rng.randint(1, 40))),
                        paid_amount="36.53",
                    )
                    roll = rng.random()
                    if roll < 0.04:
                        values["code_list"] = "075"
                    elif roll < 0.09:
                        values["prestatie_code"] = rng.choice(other_codes[code_list])
                    elif roll < 0.12:
                        values["coverage"] = "TV"
                    elif roll < 0.15:
                        values["service_date"] = "2022-12-30"
                    elif roll < 0.18:
                        values["processed_date"] = "2024-04-02"
                    elif roll < 0.23:
                        values["paid_amount"] = "0.00"
                    claim_id = claims.add(PERIOD_B, insurer, **values)
                    if values["paid_amount"] != "0.00":
                        debit_ids.append((insurer, claim_id))
                        credit = rng.random()
                        if credit < 0.10:  # fully credited
                            claims.add(
                                PERIOD_B,
                                insurer,
                                **{
                                    **values,
                                    "original_claim_id": claim_id,
                                    "paid_amount": "-36.53",
                                    "processed_date": "2024-01-15",
                                },
                            )
                        elif credit < 0.14:  # partly credited: still counts
                            claims.add(
                                PERIOD_B, insurer, **{**values, "original_claim_id": claim_id, "paid_amount": "-10.00"}
                            )
                        elif credit < 0.16:  # credited twice: nets below zero
                            for _ in range(2):
                                claims.add(
                                    PERIOD_B,
                                    insurer,
                                    **{**values, "original_claim_id": claim_id, "paid_amount": "-36.53"},
                                )
    # a cluster of clean episodes in one L0 stratum, so that the pooling has an L0 cell
    for n in range(6):
        for k in range(rng.randint(2, 12)):
            claims.add(
                PERIOD_B,
                "cz",
                practice_agb=f"F{3 + n % 3}",
                patient_id=pid(f"cl{n}"),
                birth_date="1990-07-01",
                sex="2",
                dcsph_code="7001",
                indication_code="009",
                service_date=str(date(2023, 3, 1) + timedelta(days=7 * k)),
                processed_date=str(date(2023, 3, 20) + timedelta(days=7 * k)),
            )
    # orphans: unknown original, empty original, original of another insurer
    claims.add(
        PERIOD_B,
        "vgz",
        original_claim_id="does-not-exist",
        paid_amount="-36.53",
        practice_agb="F1",
        service_date="2023-05-05",
        processed_date="2023-06-01",
    )
    claims.add(
        PERIOD_B,
        "cz",
        original_claim_id=None,
        paid_amount="-36.53",
        practice_agb="F1",
        service_date="2023-05-05",
        processed_date="2023-06-01",
    )
    other = next(c for i, c in debit_ids if i == "menzis")
    claims.add(
        PERIOD_B,
        "vgz",
        original_claim_id=other,
        paid_amount="-36.53",
        practice_agb="F1",
        service_date="2023-05-05",
        processed_date="2023-06-01",
    )
    return [delivery(PERIOD_B, i) for i in insurers]


def run_dbt(
    workdir: Path,
    warehouse: Path,
    variables: dict,
    command: str = "build",
    select: tuple[str, ...] = (),
    exclude: tuple[str, ...] = (),
) -> subprocess.CompletedProcess:
    """``dbt build`` (or ``run``, optionally of selected models, without the excluded ones) of
    one period on ``warehouse``."""
    env = {**os.environ, "SPIEGEL_WAREHOUSE": str(warehouse), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    args = [
        str(DBT),
        command,
        "--vars",
        json.dumps(variables),
        "--project-dir",
        str(DBT_PROJECT),
        "--profiles-dir",
        str(DBT_PROJECT),
        "--target-path",
        str(workdir / "target"),
        "--log-path",
        str(workdir / "logs"),
    ]
    if select:
        args += ["--select", *select]
    if exclude:
        args += ["--exclude", *exclude]
    result = subprocess.run(args, capture_output=True, text=True, env=env, cwd=workdir)
    assert result.returncode == 0, (
        f"dbt {command} {variables} failed:\n{result.stdout[-6000:]}\n{result.stderr[-2000:]}"
    )
    return result


def write_raw(warehouse: Path, claims: list[dict], deliveries: list[dict]) -> None:
    """Create the raw schema (design.md) in ``warehouse`` holding exactly these rows."""
    con = duckdb.connect(str(warehouse))
    try:
        con.execute(RAW_SQL)
        replace_raw(con, claims, deliveries)
    finally:
        con.close()


def replace_raw(con: duckdb.DuckDBPyConnection, claims: list[dict], deliveries: list[dict]) -> None:
    """Replace the raw rows of the periods in ``deliveries`` by these (what ingestion does)."""
    for period in {d["period"] for d in deliveries}:
        con.execute("delete from raw.claims where period = ?", [period])
        con.execute("delete from raw.deliveries where period = ?", [period])
    if claims:
        con.executemany(
            f"insert into raw.claims values ({', '.join('?' * len(CLAIM_COLUMNS))})",
            [[r[c] for c in CLAIM_COLUMNS] for r in claims],
        )
    # as ingestion records it: the row count of the delivery's file
    lines = Counter((r["period"], r["insurer"]) for r in claims)
    deliveries = [
        {**d, "row_count": lines[(d["period"], d["insurer"])] if d["status"] == "accepted" else None}
        for d in deliveries
    ]
    con.executemany(
        f"insert into raw.deliveries values ({', '.join('?' * len(DELIVERY_COLUMNS))})",
        [[d[c] for c in DELIVERY_COLUMNS] for d in deliveries],
    )


def read(warehouse: Path, sql: str, params: list | None = None) -> pd.DataFrame:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql, params or []).df()
    finally:
        con.close()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    if not DBT.exists():
        pytest.fail(f"dbt is not installed next to {sys.executable}: run scripts/setup.sh")
    workdir = tmp_path_factory.mktemp("method_dbt")
    warehouse = workdir / "warehouse.duckdb"
    claims = Claims()
    deliveries = period_a(claims) + period_b(claims)
    claims_frame = pd.DataFrame(claims.rows, columns=CLAIM_COLUMNS)
    deliveries_frame = pd.DataFrame(deliveries, columns=DELIVERY_COLUMNS)
    write_raw(warehouse, claims.rows, deliveries)

    build_a = run_dbt(workdir, warehouse, VARS_A)
    snapshot_a = {
        m: read(warehouse, f"select * from marts.{m} where period = ? order by all", [PERIOD_A]) for m in MARTS
    }
    # the line-level models are views of the period of the latest run: read A's now
    lines_a = {
        "counted": read(warehouse, "select * from intermediate.int_counted_sessions where period = ?", [PERIOD_A]),
        "excluded": read(warehouse, "select * from intermediate.int_excluded_lines where period = ?", [PERIOD_A]),
    }
    build_b = run_dbt(workdir, warehouse, VARS_B)
    yield {
        "warehouse": warehouse,
        "claims": claims_frame,
        "deliveries": deliveries_frame,
        "claim_rows": claims.rows,
        "delivery_rows": deliveries,
        "lines_a": lines_a,
        "snapshot_a": snapshot_a,
        "logs": build_a.stdout + build_b.stdout,
    }
    shutil.rmtree(workdir / "target", ignore_errors=True)


def index_row(warehouse: Path, period: str, discipline: str, practice: str) -> dict:
    frame = read(
        warehouse,
        "select * from marts.fct_behandelindex where period = ? and discipline = ? and practice_agb = ?",
        [period, discipline, practice],
    )
    assert len(frame) == 1
    return frame.iloc[0].to_dict()


def test_build_ran_unit_tests_and_invariants(built):
    logs = built["logs"]
    for name in (
        "worked_example_practice_index",
        "netting_example_counted_sessions",
        "pooling_levels",
        "assert_observed_equals_expected",
        "assert_episodes_in_exactly_one_cell",
        "worked_example_index_movement",
        "worked_example_movement_expectations",
    ):
        assert name in logs
    assert "ERROR=0" in logs


def test_published_columns_in_cli_order(built):
    frame = read(built["warehouse"], "select * from marts.fct_behandelindex limit 0")
    assert list(frame.columns) == PUBLISHED


@pytest.mark.parametrize(
    "practice, observed, expected, lower, upper, bi",
    [
        ("P1", 30, 42, 31.923, 110.934, 71.429),
        ("P2", 78, 66, 83.571, 152.792, 118.182),
        ("P3", 42, 42, 60.495, 139.505, 100.000),
    ],
)
def test_worked_example(built, practice, observed, expected, lower, upper, bi):
    row = index_row(built["warehouse"], PERIOD_A, "oefentherapie", practice)
    assert row["status"] == "ok"
    assert row["sessions"] == observed and row["episodes"] == 3 and row["patients"] == 3
    assert row["expected_sessions"] == pytest.approx(expected, abs=1e-9)
    assert round(row["behandelindex"], 3) == pytest.approx(bi)
    assert round(row["ci_lower"], 3) == pytest.approx(lower)
    assert round(row["ci_upper"], 3) == pytest.approx(upper)
    assert row["corrected_index"] == row["ci_lower"]


def test_worked_example_intermediate_figures(built):
    frame = read(
        built["warehouse"],
        "select practice_agb, sum_variance, standard_error, z from "
        "intermediate.int_practice_index where period = ? and "
        "discipline = 'oefentherapie' order by practice_agb",
        [PERIOD_A],
    )
    assert [round(v, 3) for v in frame.sum_variance] == [71.667, 135.833, 71.667]
    assert [round(v, 3) for v in frame.standard_error] == [20.156, 17.659, 20.156]
    assert round(frame.z.iloc[0], 6) == 1.959964
    strata = read(
        built["warehouse"],
        "select cell_id, level, episodes, mean_sessions, variance_sessions from "
        "marts.fct_reference_strata where period = ? and discipline = 'oefentherapie' "
        "and row_type = 'cell' order by cell_id",
        [PERIOD_A],
    )
    assert strata.cell_id.tolist() == ["L0/18-34/2/70/non_chronic", "L0/65-74/1/30/chronic"]
    assert strata.mean_sessions.tolist() == [6.0, 30.0]
    assert [round(v, 3) for v in strata.variance_sessions] == [2.5, 66.667]
    totals = read(
        built["warehouse"],
        "select sum(sessions) o, sum(expected_sessions) e from marts.fct_behandelindex "
        "where period = ? and discipline = 'oefentherapie'",
        [PERIOD_A],
    )
    assert totals.o.iloc[0] == 150 and totals.e.iloc[0] == pytest.approx(150, abs=1e-9)


def test_netting_example_only_line_a_counts(built):
    counted = built["lines_a"]["counted"]
    assert counted[counted.practice_agb == "N1"].claim_id.tolist() == ["a"]
    excluded = built["lines_a"]["excluded"]
    excluded = excluded[excluded.practice_agb == "N1"].sort_values("claim_id")[["claim_id", "reason"]]
    assert excluded.values.tolist() == [
        ["b", "fully_credited"],
        ["c", "credit_line"],
        ["d", "rejected_zero_paid"],
        ["e", "prestatie_not_session"],
    ]
    row = index_row(built["warehouse"], PERIOD_A, "fysiotherapie", "N1")
    assert row["sessions"] == 1 and row["episodes"] == 1


def test_line_level_views_hold_the_period_of_the_latest_run(built):
    """int_claim_lines & co. are views of var('period') (not tables of every period): at
    national scale that saves writing 45 million lines; the materialised models keep
    every period."""
    wh = built["warehouse"]
    for view in ("int_claim_lines", "int_claim_lines_netted", "int_counted_sessions", "int_excluded_lines"):
        periods_seen = read(wh, f"select distinct period from intermediate.{view}").period.tolist()
        assert periods_seen == [PERIOD_B], (view, periods_seen)
    kinds = read(
        wh,
        "select table_name, table_type from information_schema.tables "
        "where table_schema = 'intermediate' and table_name like 'int_%'",
    )
    kind = dict(zip(kinds.table_name, kinds.table_type))
    assert kind["int_counted_sessions"] == "VIEW" and kind["int_episodes"] == "BASE TABLE"
    assert set(read(wh, "select distinct period from intermediate.int_episodes").period) == {PERIOD_A, PERIOD_B}


def test_two_insurers_one_episode(built):
    episodes = read(
        built["warehouse"],
        "select observed_sessions, insurers from intermediate.int_episodes where period = ? and practice_agb = 'M1'",
        [PERIOD_A],
    )
    assert episodes.values.tolist() == [[5, 2]]
    row = index_row(built["warehouse"], PERIOD_A, "fysiotherapie", "M1")
    assert (row["patients"], row["episodes"], row["sessions"]) == (1, 1, 5)


def test_rejected_delivery_does_not_count(built):
    frame = read(built["warehouse"], "select count(*) n from intermediate.int_claim_lines where insurer_id = 'eno'")
    assert frame.n.iloc[0] == 0
    assert read(built["warehouse"], "select * from marts.fct_behandelindex where practice_agb = 'R1'").empty


def test_below_min_patients_is_insufficient(built):
    frame = read(built["warehouse"], "select * from marts.fct_behandelindex where period = ?", [PERIOD_B])
    small = frame[frame.patients < VARS_B["min_patients"]]
    large = frame[frame.patients >= VARS_B["min_patients"]]
    assert len(small) > 0 and len(large) > 0
    assert (small.status == "insufficient_patients").all()
    for column in ("behandelindex", "ci_lower", "ci_upper", "corrected_index"):
        assert small[column].isna().all()
        assert large[column].notna().all()
    assert small.expected_sessions.notna().all()
    assert (large.status == "ok").all()


def test_running_period_b_leaves_period_a_unchanged(built):
    for mart, before in built["snapshot_a"].items():
        after = read(built["warehouse"], f"select * from marts.{mart} where period = ? order by all", [PERIOD_A])
        assert len(before) > 0, mart
        pd.testing.assert_frame_equal(before, after, check_exact=True, obj=mart)
    periods = read(built["warehouse"], "select distinct period from marts.fct_behandelindex order by 1")
    assert periods.period.tolist() == [PERIOD_B, PERIOD_A]


def test_periods_in_the_other_order_give_byte_identical_tables(built, tmp_path):
    """Period B then A, in a fresh warehouse, publishes the bytes of A then B (the fixture)."""
    from tests.support.pipeline import PUBLISHED_TABLES, export_tables

    warehouse = tmp_path / "warehouse.duckdb"
    write_raw(warehouse, built["claim_rows"], built["delivery_rows"])
    run_dbt(tmp_path, warehouse, VARS_A, command="seed")
    for variables in (VARS_B, VARS_A):
        run_dbt(tmp_path, warehouse, variables, command="run")
    for period in (PERIOD_A, PERIOD_B):
        a_then_b = export_tables(built["warehouse"], period, tmp_path / "a_then_b" / period)
        b_then_a = export_tables(warehouse, period, tmp_path / "b_then_a" / period)
        for name in PUBLISHED_TABLES:
            assert a_then_b[name].count(b"\n") > 3, (period, name)
            assert b_then_a[name] == a_then_b[name], (period, name)


def test_pooling_places_every_episode_in_one_cell(built):
    wh = built["warehouse"]
    episodes = read(wh, "select count(*) n from intermediate.int_episodes where period = ?", [PERIOD_B]).n.iloc[0]
    expectations = read(
        wh,
        "select discipline, practice_agb, patient_id, dcsph_code, count(*) n "
        "from intermediate.int_episode_expectations where period = ? group by all",
        [PERIOD_B],
    )
    assert len(expectations) == episodes and (expectations.n == 1).all()
    strata = read(wh, "select * from marts.fct_reference_strata where period = ?", [PERIOD_B])
    cells = strata[strata.row_type == "cell"].set_index(["discipline", "cell_id"])
    per_cell = strata[strata.row_type == "stratum"].groupby(["discipline", "cell_id"]).episodes.sum()
    assert per_cell.sort_index().to_dict() == cells.episodes.sort_index().to_dict()
    assert cells.episodes.sum() == episodes
    levels = set(cells.level)
    assert len(levels) >= 3 and "L0" in levels and "L3" in levels, levels  # the data exercises the pooling
    small = cells[(cells.level != "L3") & (cells.episodes < VARS_B["min_stratum_episodes"])]
    assert small.empty
    # pooled-away key columns are empty on cell rows
    l3 = cells[cells.level == "L3"]
    assert l3[["age_band", "sex", "body_region", "chronic"]].isna().all().all()


def test_matches_independent_reference(built):
    expected, episodes = method_reference.reference(
        built["claims"],
        built["deliveries"],
        PERIOD_B,
        min_stratum_episodes=VARS_B["min_stratum_episodes"],
        min_patients=VARS_B["min_patients"],
    )
    actual = read(
        built["warehouse"],
        "select * from marts.fct_behandelindex where period = ? order by discipline, practice_agb",
        [PERIOD_B],
    )
    assert len(expected) > 5
    assert len(actual) == len(expected)
    for (_, a), (_, e) in zip(actual.iterrows(), expected.iterrows()):
        for column in PUBLISHED:
            av, ev = a[column], e[column]
            if isinstance(ev, float) or isinstance(av, float):
                if ev is None or (isinstance(ev, float) and math.isnan(ev)):
                    assert av is None or pd.isna(av), (a.practice_agb, column)
                else:
                    assert av == pytest.approx(ev, abs=1e-9, rel=0), (a.practice_agb, column, av, ev)
            else:
                assert av == ev, (a.practice_agb, column, av, ev)
    # and the national reference, episode by episode
    db_episodes = read(
        built["warehouse"],
        "select discipline, practice_agb, patient_id, dcsph_code, "
        "observed_sessions, expected_sessions, expected_variance, age_band, sex, "
        "body_region, chronic from intermediate.int_episode_expectations "
        "where period = ?",
        [PERIOD_B],
    )
    db = {
        (r.discipline, r.practice_agb, r.patient_id, None if pd.isna(r.dcsph_code) else r.dcsph_code): r
        for r in db_episodes.itertuples()
    }
    assert len(db) == len(episodes)
    for e in episodes:
        r = db[(e["discipline"], e["practice_agb"], e["patient_id"], e["dcsph_code"])]
        assert (r.observed_sessions, r.age_band, r.sex, r.body_region, bool(r.chronic)) == (
            e["observed"],
            e["age_band"],
            e["sex"],
            e["body_region"],
            e["chronic"],
        )
        assert r.expected_sessions == pytest.approx(e["expected"], abs=1e-9)
        assert r.expected_variance == pytest.approx(e["variance"], abs=1e-9)


def test_excluded_lines_cover_every_line_once(built):
    wh = built["warehouse"]
    lines = read(wh, "select count(*) n from intermediate.int_claim_lines where period = ?", [PERIOD_B]).n.iloc[0]
    counted = read(wh, "select count(*) n from intermediate.int_counted_sessions where period = ?", [PERIOD_B]).n.iloc[
        0
    ]
    excluded = read(wh, "select reason, lines from marts.fct_excluded_lines where period = ?", [PERIOD_B])
    assert counted + excluded.lines.sum() == lines
    reasons = set(excluded.reason)
    for reason in (
        "code_list_not_073_074",
        "prestatie_not_session",
        "prestatie_code_unknown",
        "coverage_not_bv_av",
        "service_date_outside_period",
        "processed_after_cutoff",
        "rejected_zero_paid",
        "orphan_credit",
        "credit_line",
        "fully_credited",
    ):
        assert reason in reasons, reason
    orphans = read(wh, "select count(*) n from intermediate.int_orphan_credits where period = ?", [PERIOD_B])
    assert orphans.n.iloc[0] >= 3
    monthly = read(
        wh,
        "select month, sum(counted_sessions) s from marts.fct_insurer_monthly_sessions "
        "where period = ? group by month order by month",
        [PERIOD_B],
    )
    assert len(monthly) == 12 and monthly.s.sum() == counted


def test_practice_profile_matches_the_counted_sessions_of_the_reference(built):
    """Patients, episodes, sessions and therapists per practice, against the reference's
    counted sessions (the therapists come from the verdict summary, not a line pass)."""
    sessions = method_reference.counted_sessions(built["claims"], built["deliveries"], PERIOD_B)
    episodes = method_reference.episodes(built["claims"], built["deliveries"], PERIOD_B)
    expected: dict[tuple[str, str], dict[str, set | int]] = {}
    for s in sessions:
        e = expected.setdefault(
            (method_reference.DISCIPLINES[s["code_list"]], s["practice_agb"]),
            {"patients": set(), "sessions": 0, "therapists": set(), "episodes": 0},
        )
        e["patients"].add(s["patient_id"])
        e["sessions"] += 1
        if s["therapist_agb"] is not None and not pd.isna(s["therapist_agb"]):
            e["therapists"].add(s["therapist_agb"])
    for ep in episodes:
        expected[(ep["discipline"], ep["practice_agb"])]["episodes"] += 1
    actual = read(
        built["warehouse"],
        "select discipline, practice_agb, patients, episodes, sessions, therapists "
        "from marts.fct_practice_profile where period = ?",
        [PERIOD_B],
    )
    assert len(actual) == len(expected) > 5
    assert any(len(e["therapists"]) > 1 for e in expected.values())
    for r in actual.itertuples():
        e = expected[(r.discipline, r.practice_agb)]
        assert (r.patients, r.episodes, r.sessions, r.therapists) == (
            len(e["patients"]),
            e["episodes"],
            e["sessions"],
            len(e["therapists"]),
        ), r.practice_agb
