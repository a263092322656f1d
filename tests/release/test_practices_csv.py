"""A release's practices.csv (docs/register-contract.md): the practices of behandelindex.csv
with the name and place the practice register in force gives them, an empty name where the
register does not know one, listed with its checksum in release.json.

From a register delivery through the contract and raw.practice_register, dbt's
dim_practices (on a hand-made index mart) to the published file.
"""

from __future__ import annotations

import csv
import hashlib
import json
import sys

import pytest

from orchestration.core.seeds import required_insurers
from orchestration.core.settings import SpiegelPaths
from orchestration.delivery.loading import load_delivery
from orchestration.delivery.raw_tables import connect_raw, record_delivery
from orchestration.delivery.register import load_register
from orchestration.landing.zone import find_in_force
from orchestration.release.publish import RELEASE_TABLES, publish_release
from orchestration.release.readiness import period_state, record_readiness
from orchestration.release.signoff import record_signoff
from tests.support.delivery_factory import claim_row, write_delivery
from tests.support.register_factory import DBT, run_dim_practices, write_register

PERIOD = "2024-v1"
MARTS_SQL = """
create schema if not exists marts;
create or replace table marts.fct_behandelindex as select * from (values
  ('{p}', 'fysiotherapie', '04112615', 'ok', 40, 50, 400, 380.0, 105.26315789473684, 90.1, 120.4, 90.1),
  ('{p}', 'oefentherapie', '04112615', 'insufficient_patients', 3, 3, 20, 21.0, null, null, null, null),
  ('{p}', 'fysiotherapie', '04999999', 'insufficient_patients', 3, 3, 20, 21.0, null, null, null, null),
  ('{p}', 'oefentherapie', '05000001', 'ok', 35, 40, 300, 310.0, 96.77, 85.2, 108.3, 85.2)
) t(period, discipline, practice_agb, status, patients, episodes, sessions, expected_sessions,
    behandelindex, ci_lower, ci_upper, corrected_index);
create or replace table marts.fct_reference_strata as select * from (values
  ('{p}', 'fysiotherapie', 'cell', 'L3|fysiotherapie', 'L3', null, null, null, null, 53, 7.54, 3.1)
) t(period, discipline, row_type, cell_id, level, age_band, sex, body_region, chronic, episodes,
    mean_sessions, variance_sessions);
create or replace table marts.fct_excluded_lines as select * from (values
  ('{p}', 'vgz', 'rejected_paid_zero', 2, 0.00)
) t(period, insurer_id, reason, lines, paid_amount);
"""
REGISTER = [
    ("04112615", "Fysiotherapie De Linde", "Utrecht"),
    ("05000001", "Oefentherapie Cesar, Zuid", ""),  # a comma in the name, no place
    ("04777777", "Praktijk voor Fysiotherapie Jansen", "Zwolle"),  # in no index
]


@pytest.fixture
def published(tmp_path):
    if not DBT.exists():
        pytest.fail(f"dbt is not installed next to {sys.executable}: run scripts/setup.sh")
    paths = SpiegelPaths(tmp_path / "data")
    write_register(paths.landing, "20241101T0800", REGISTER)
    with connect_raw(paths) as con:
        for insurer in required_insurers(PERIOD):
            write_delivery(paths.landing, PERIOD, insurer, "20241005T0930", rows=[claim_row(i) for i in range(3)])
            verdict = load_delivery(con, find_in_force(paths.landing, PERIOD, insurer))
            assert verdict.accepted, verdict.error_text()
            record_delivery(con, verdict)
        assert load_register(con, paths.landing).in_force is not None  # what the method's run does first
        con.execute(MARTS_SQL.format(p=PERIOD))
        for table, columns, _ in RELEASE_TABLES.values():  # any other mart publish reads, empty
            schema, model = table.split(".")
            exists = con.execute(
                "select count(*) from duckdb_tables() where schema_name = ? and table_name = ?", [schema, model]
            ).fetchone()[0]
            if not exists and model != "dim_practices":
                con.execute(f"create table {table} ({', '.join(f'{c} varchar' for c in columns or ['period'])})")
    run_dim_practices(tmp_path, paths.warehouse, PERIOD)
    with connect_raw(paths) as con:
        record_readiness(con, PERIOD, True, [], [])
        state = period_state(con, paths, PERIOD)
    record_signoff(paths, state, "anna", "checked")
    return publish_release(paths, PERIOD, reports=False).path


def test_practices_csv_is_the_register_for_the_practices_of_the_index(published):
    with open(published / "practices.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    with open(published / "behandelindex.csv", newline="", encoding="utf-8") as f:
        index_agbs = sorted({r["practice_agb"] for r in csv.DictReader(f)})
    assert list(rows[0]) == ["practice_agb", "practice_name", "place"]
    assert [r["practice_agb"] for r in rows] == index_agbs  # one row per practice of the index, in AGB order
    register = {agb: (name, place) for agb, name, place in REGISTER}
    for row in rows:
        assert (row["practice_name"], row["place"]) == register.get(row["practice_agb"], ("", ""))
    assert (published / "practices.csv").read_text(encoding="utf-8").splitlines() == [
        "practice_agb,practice_name,place",
        "04112615,Fysiotherapie De Linde,Utrecht",
        "04999999,,",  # not in the register: an empty name
        '05000001,"Oefentherapie Cesar, Zuid",',
    ]


def test_release_json_lists_practices_csv_with_its_checksum(published):
    files = json.loads((published / "release.json").read_text())["files"]
    assert files["practices.csv"] == {
        "sha256": hashlib.sha256((published / "practices.csv").read_bytes()).hexdigest(),
        "rows": 3,
    }
