"""The warehouse's raw layout: one typed table per delivery in force behind the view
raw.claims, replaced by a rename, and the migration of the earlier single table."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from orchestration.core.settings import SpiegelPaths
from orchestration.core.warehouse import connect_read
from orchestration.delivery.loading import incoming_table, load_delivery
from orchestration.delivery.raw_tables import (
    CLAIMS_VIEW_COLUMNS,
    claims_table,
    connect_raw,
    record_delivery,
    record_missing,
)
from orchestration.landing.zone import find_in_force
from tests.support.delivery_factory import claim_row, write_delivery

PERIOD = "2024-v1"


def _ingest(paths: SpiegelPaths, insurer: str) -> None:
    with connect_raw(paths) as con:
        verdict = load_delivery(con, find_in_force(paths.landing, PERIOD, insurer))
        assert verdict.accepted, verdict.error_text()
        record_delivery(con, verdict)


def _claims(paths: SpiegelPaths, insurer: str) -> list[tuple]:
    with connect_read(paths) as con:
        return con.execute(
            "select delivery_id, source_line, claim_id, paid_amount from raw.claims "
            "where period = ? and insurer = ? order by source_line",
            [PERIOD, insurer],
        ).fetchall()


def _tables(paths: SpiegelPaths) -> list[str]:
    with connect_read(paths) as con:
        return [
            r[0]
            for r in con.execute(
                # the practice register's two tables (test_register_contract.py) are always there
                "select table_name from duckdb_tables() where schema_name = 'raw' "
                "and table_name not in ('practice_register', 'register_deliveries') order by table_name"
            ).fetchall()
        ]


def test_a_new_delivery_replaces_the_old_one_by_rename(tmp_path: Path):
    paths = SpiegelPaths(tmp_path / "data")
    write_delivery(paths.landing, PERIOD, "vgz", "20241005T0930", rows=[claim_row(i) for i in range(3)])
    write_delivery(paths.landing, PERIOD, "cz", "20241005T0930", rows=[claim_row(i) for i in range(2)])
    _ingest(paths, "vgz")
    _ingest(paths, "cz")
    assert [r[1] for r in _claims(paths, "vgz")] == [2, 3, 4]  # line numbers of claims.csv
    write_delivery(
        paths.landing,
        PERIOD,
        "vgz",
        "20241012T0800",
        rows=[claim_row(i, paid_amount="10.00", claimed_amount="10.00") for i in range(5)],
    )
    _ingest(paths, "vgz")
    rows = _claims(paths, "vgz")
    assert [(r[0], r[1], str(r[3])) for r in rows] == [("20241012T0800", line, "10.00") for line in range(2, 7)]
    assert len(_claims(paths, "cz")) == 2  # the other insurer is untouched
    assert _tables(paths) == ["claims__2024-v1__cz", "claims__2024-v1__vgz", "deliveries", "delivery_log"]


def test_missing_delivery_drops_its_table_and_the_view_stays_typed(tmp_path: Path):
    paths = SpiegelPaths(tmp_path / "data")
    write_delivery(paths.landing, PERIOD, "vgz", "20241005T0930")
    _ingest(paths, "vgz")
    with connect_raw(paths) as con:
        record_missing(con, PERIOD, "vgz")
    assert _claims(paths, "vgz") == []
    with connect_read(paths) as con:
        types = con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'raw' and table_name = 'claims' order by ordinal_position"
        ).fetchall()
    assert [c for c, _ in types] == [c for c, _ in CLAIMS_VIEW_COLUMNS]
    assert dict(types)["paid_amount"] == "DECIMAL(18,2)" and dict(types)["service_date"] == "DATE"


def test_a_rejected_delivery_leaves_no_typed_table_behind(tmp_path: Path):
    paths = SpiegelPaths(tmp_path / "data")
    write_delivery(paths.landing, PERIOD, "vgz", "20241005T0930")
    _ingest(paths, "vgz")
    write_delivery(paths.landing, PERIOD, "vgz", "20241012T0800", rows=[claim_row(0, service_date="2024-02-31")])
    with connect_raw(paths) as con:
        verdict = load_delivery(con, find_in_force(paths.landing, PERIOD, "vgz"))
        assert not verdict.accepted and verdict.first_rule == "claims.date_format"
        record_delivery(con, verdict)
    assert _claims(paths, "vgz") == []  # the newest delivery is in force, and unusable
    assert _tables(paths) == ["deliveries", "delivery_log"]


def test_a_warehouse_with_the_earlier_single_claims_table_is_split_once(tmp_path: Path):
    paths = SpiegelPaths(tmp_path / "data")
    paths.data_dir.mkdir(parents=True)
    con = duckdb.connect(str(paths.warehouse))
    columns = ", ".join(f"{c} {t}" for c, t in CLAIMS_VIEW_COLUMNS)
    con.execute(f"create schema raw; create table raw.claims ({columns})")
    for insurer, n in (("vgz", 3), ("cz", 2)):
        for line in range(2, n + 2):
            values = {c: None for c, _ in CLAIMS_VIEW_COLUMNS}
            values.update(
                period=PERIOD,
                insurer=insurer,
                delivery_id="d1",
                source_line=line,
                claim_id=f"{insurer}-{line}",
                patient_id="a" * 64,
                paid_amount=1,
            )
            con.execute(f"insert into raw.claims values ({', '.join('?' * len(values))})", list(values.values()))
    con.close()

    with connect_raw(paths):
        pass
    assert _tables(paths) == ["claims__2024-v1__cz", "claims__2024-v1__vgz", "deliveries", "delivery_log"]
    assert [(r[1], r[2]) for r in _claims(paths, "vgz")] == [(2, "vgz-2"), (3, "vgz-3"), (4, "vgz-4")]
    assert claims_table(PERIOD, "vgz") == 'raw."claims__2024-v1__vgz"'


def test_a_typed_table_left_by_a_killed_validation_is_dropped_by_the_next_writer(tmp_path: Path):
    paths = SpiegelPaths(tmp_path / "data")
    write_delivery(paths.landing, PERIOD, "vgz", "20241005T0930")
    with connect_raw(paths) as con:
        verdict = load_delivery(con, find_in_force(paths.landing, PERIOD, "vgz"))
        assert verdict.accepted and incoming_table(verdict.ref) == 'raw."incoming__2024-v1__vgz"'
        # killed here: validated, never recorded
    assert "incoming__2024-v1__vgz" in _tables(paths)  # readers do not clean up
    with connect_raw(paths):
        pass
    assert _tables(paths) == ["deliveries", "delivery_log"]
    assert _claims(paths, "vgz") == []


def test_period_insurer_and_delivery_come_from_the_table_comment_not_from_columns(tmp_path: Path):
    paths = SpiegelPaths(tmp_path / "data")
    write_delivery(paths.landing, PERIOD, "vgz", "20241005T0930", rows=[claim_row(i) for i in range(2)])
    _ingest(paths, "vgz")
    with connect_read(paths) as con:
        stored = [
            r[0]
            for r in con.execute(
                "select column_name from duckdb_columns() where schema_name = 'raw' "
                "and table_name = 'claims__2024-v1__vgz'"
            ).fetchall()
        ]
        comment = con.execute(
            "select comment from duckdb_tables() where table_name = 'claims__2024-v1__vgz'"
        ).fetchone()[0]
        other_period = con.execute("select count(*) from raw.claims where period = '2024-v2'").fetchone()[0]
    assert not {"period", "insurer", "delivery_id"} & set(stored)
    assert json.loads(comment) == {"period": PERIOD, "insurer": "vgz", "delivery_id": "20241005T0930"}
    assert [(r[0], r[1]) for r in _claims(paths, "vgz")] == [("20241005T0930", 2), ("20241005T0930", 3)]
    assert other_period == 0


def test_a_per_delivery_table_with_identity_columns_and_no_comment_still_reads(tmp_path: Path):
    """The layout of 2026-11-25 stored period, insurer and delivery_id on every line."""
    paths = SpiegelPaths(tmp_path / "data")
    with connect_raw(paths) as con:
        con.execute(
            f"create table {claims_table(PERIOD, 'cz')} as select '{PERIOD}' as period, 'cz' as insurer, "
            "'d0' as delivery_id, "
            + ", ".join(
                f"cast(null as {t}) as {c}"
                for c, t in CLAIMS_VIEW_COLUMNS
                if c not in ("period", "insurer", "delivery_id", "source_line")
            )
            + " from range(2)"
        )
    write_delivery(paths.landing, PERIOD, "vgz", "20241005T0930", rows=[claim_row(0)])
    _ingest(paths, "vgz")  # redefines the view over both layouts
    assert [(r[0], r[1]) for r in _claims(paths, "cz")] == [("d0", 2), ("d0", 3)]
    assert [(r[0], r[1]) for r in _claims(paths, "vgz")] == [("20241005T0930", 2)]


def test_source_line_is_the_line_of_the_file_when_it_has_blank_lines(tmp_path: Path):
    from tests.support.delivery_factory import render_csv

    paths = SpiegelPaths(tmp_path / "data")
    rows = [claim_row(i) for i in range(4)]
    data = render_csv(rows).replace(b"\nC000001", b"\n\n\nC000001").replace(b"\nC000003", b"\n\nC000003")
    write_delivery(paths.landing, PERIOD, "vgz", "20241005T0930", data=data, rows=rows)
    _ingest(paths, "vgz")
    expected = [n for n, text in enumerate(data.split(b"\n"), 1) if text.startswith(b"C0")]
    assert expected == [2, 5, 6, 8]
    assert [(r[1], r[2]) for r in _claims(paths, "vgz")] == list(
        zip(expected, ["C000000", "C000001", "C000002", "C000003"])
    )
