"""The raw layer both engines read: one immutable Parquet file per delivery,
laid out per period, insurer and delivery, and the deliveries in force beside them."""

from __future__ import annotations

from pathlib import Path

import duckdb

from orchestration.core.settings import SpiegelPaths
from orchestration.core.warehouse import connect_read
from orchestration.delivery.raw_layer import CLAIM_COLUMNS, claims_file, deliveries_file, export_raw
from tests.delivery.test_raw_tables import _ingest  # the same ingestion of one insurer's delivery of PERIOD
from tests.support.delivery_factory import claim_row, write_delivery

PERIOD = "2024-v1"


def _export(paths: SpiegelPaths) -> list[Path]:
    with connect_read(paths) as con:
        return export_raw(con, paths)


def test_each_delivery_is_one_immutable_parquet_file_equal_to_raw_claims(tmp_path: Path):
    paths = SpiegelPaths(tmp_path / "data")
    write_delivery(paths.landing, PERIOD, "vgz", "20241005T0930", rows=[claim_row(i) for i in range(3)])
    write_delivery(paths.landing, PERIOD, "cz", "20241005T0930", rows=[claim_row(i) for i in range(2)])
    _ingest(paths, "vgz")
    _ingest(paths, "cz")

    first = _export(paths)
    vgz_old = claims_file(paths, PERIOD, "vgz", "20241005T0930")
    cz = claims_file(paths, PERIOD, "cz", "20241005T0930")
    assert sorted(first) == sorted([vgz_old, cz])
    assert vgz_old == paths.data_dir / "raw" / "claims" / PERIOD / "vgz" / "20241005T0930.parquet"
    with connect_read(paths) as con:
        expected = con.execute(
            f"select {', '.join(CLAIM_COLUMNS)} from raw.claims where insurer = 'vgz' order by source_line"
        ).fetchall()
    parquet = duckdb.connect()
    assert parquet.execute(f"select * from read_parquet('{vgz_old}')").fetchall() == expected
    assert [d[0] for d in parquet.execute(f"select * from read_parquet('{vgz_old}')").description] == list(
        CLAIM_COLUMNS
    )
    mtime = vgz_old.stat().st_mtime_ns

    # nothing new: nothing written again
    assert _export(paths) == []
    assert vgz_old.stat().st_mtime_ns == mtime

    # a redelivery gets a file of its own; the old file stays as it was, the pointer moves
    write_delivery(
        paths.landing,
        PERIOD,
        "vgz",
        "20241012T0800",
        rows=[claim_row(i, paid_amount="10.00", claimed_amount="10.00") for i in range(5)],
    )
    _ingest(paths, "vgz")
    vgz_new = claims_file(paths, PERIOD, "vgz", "20241012T0800")
    assert _export(paths) == [vgz_new]
    assert vgz_old.stat().st_mtime_ns == mtime
    assert parquet.execute(f"select count(*) from read_parquet('{vgz_old}')").fetchone() == (3,)
    assert parquet.execute(f"select count(*), sum(paid_amount) from read_parquet('{vgz_new}')").fetchone()[0] == 5
    in_force = parquet.execute(
        f"select insurer, delivery_id, status from read_parquet('{deliveries_file(paths)}') order by insurer"
    ).fetchall()
    assert in_force == [("cz", "20241005T0930", "accepted"), ("vgz", "20241012T0800", "accepted")]
    # no temporary file is left behind
    assert not [p for p in (paths.data_dir / "raw").rglob("*") if p.name.endswith(".tmp")]
