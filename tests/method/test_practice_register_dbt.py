"""marts.dim_practices (dbt): one row per practice of the period's index, named by the
practice register in force, with NULL name and place for a practice the register does
not know; a period's run leaves the other periods alone; the index never reads it.

A small warehouse: the raw schema as ingestion writes it (with a register loaded through
orchestration/delivery/register.py) and a hand-made marts.fct_behandelindex; dbt builds
only stg_raw__practice_register and dim_practices, with their data tests.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import duckdb
import pytest

from orchestration.core.settings import SpiegelPaths
from orchestration.delivery.raw_tables import connect_raw
from orchestration.delivery.register import load_register
from orchestration.method.dbt_project import dbt_manifest_path
from tests.support.register_factory import DBT, run_dim_practices, write_register

P1, P2 = "2024-v1", "2024-v2"
INDEX_SQL = """
create schema if not exists marts;
create or replace table marts.fct_behandelindex as select * from (values
  ('{p1}', 'fysiotherapie', '04112615', 'ok'),
  ('{p1}', 'oefentherapie', '04112615', 'insufficient_patients'),
  ('{p1}', 'fysiotherapie', '04999999', 'ok'),
  ('{p1}', 'oefentherapie', '05000001', 'insufficient_patients'),
  ('{p2}', 'fysiotherapie', '04112615', 'ok')
) t(period, discipline, practice_agb, status);
"""
REGISTER = [
    ("04112615", "Fysiotherapie De Linde", "Utrecht"),
    ("05000001", "Oefentherapie Cesar Zuid", ""),
    ("04777777", "Praktijk voor Fysiotherapie Jansen", "Zwolle"),  # not in the index
]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    if not DBT.exists():
        pytest.fail(f"dbt is not installed next to {sys.executable}: run scripts/setup.sh")
    workdir = tmp_path_factory.mktemp("dim_practices")
    paths = SpiegelPaths(workdir / "data")
    write_register(paths.landing, "20241101T0800", REGISTER)
    with connect_raw(paths) as con:
        assert load_register(con, paths.landing).in_force is not None
        con.execute(INDEX_SQL.format(p1=P1, p2=P2))
    run_dim_practices(workdir, paths.warehouse, P1)
    run_dim_practices(workdir, paths.warehouse, P2)
    run_dim_practices(workdir, paths.warehouse, P1)  # again: the period's rows replaced, not doubled
    return paths.warehouse


def _rows(warehouse: Path, period: str) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(
            "select period, practice_agb, practice_name, place from marts.dim_practices where period = ? "
            "order by practice_agb",
            [period],
        ).fetchall()
    finally:
        con.close()


def test_one_row_per_index_practice_named_by_the_register(built):
    assert _rows(built, P1) == [
        (P1, "04112615", "Fysiotherapie De Linde", "Utrecht"),
        (P1, "04999999", None, None),  # not in the register: still there, without a name
        (P1, "05000001", "Oefentherapie Cesar Zuid", None),  # in the register without a place
    ]


def test_a_period_run_leaves_the_other_periods_alone(built):
    assert _rows(built, P2) == [(P2, "04112615", "Fysiotherapie De Linde", "Utrecht")]


def test_nothing_of_the_index_reads_the_register():
    manifest = json.loads(dbt_manifest_path().read_text())
    readers = {
        node["name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and any("practice_register" in parent for parent in node["depends_on"]["nodes"])
    }
    assert readers == {"stg_raw__practice_register", "dim_practices"}
    downstream = {
        node["name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and "model.spiegel.dim_practices" in node["depends_on"]["nodes"]
    }
    assert downstream == set()
