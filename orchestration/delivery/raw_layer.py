"""The raw layer both engines read: validated deliveries as Parquet.

    <data dir>/raw/claims/<period>/<insurer>/<delivery_id>.parquet   one per delivery, immutable
    <data dir>/raw/deliveries.parquet                                 the deliveries in force
    <data dir>/raw/practice_register.parquet                          the practice register in force

A delivery's file holds its claim lines exactly as ``raw.claims`` shows them (the 21
columns of docs/design.md "Raw schema", ordered by ``source_line``). It is written
once, to a temporary name in the same folder and then renamed, so a reader sees the
whole file or none; a delivery id names one immutable delivery, so an existing file is
never rewritten (a redelivery has a new id and a file of its own).
``deliveries.parquet`` is the pointer to what is in force (``raw.deliveries``: one row
per period and insurer, accepted or rejected); it is replaced by a rename after the
claim files it names exist.

DuckDB keeps reading its own per-delivery tables (``raw.claims``); the Spark target of
the method reads these files (macro ``spiegel_register_raw``), see docs/scaling.md.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import duckdb

from orchestration.core.settings import SpiegelPaths
from orchestration.delivery.raw_tables import CLAIMS_VIEW_COLUMNS

CLAIM_COLUMNS = tuple(name for name, _ in CLAIMS_VIEW_COLUMNS)


def claims_file(paths: SpiegelPaths, period: str, insurer: str, delivery_id: str) -> Path:
    return paths.raw_parquet / "claims" / period / insurer / f"{delivery_id}.parquet"


def deliveries_file(paths: SpiegelPaths) -> Path:
    return paths.raw_parquet / "deliveries.parquet"


def practice_register_file(paths: SpiegelPaths) -> Path:
    return paths.raw_parquet / "practice_register.parquet"


def _copy_atomically(con: duckdb.DuckDBPyConnection, query: str, params: list, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.parent / f".{dest.stem}.{uuid.uuid4().hex}.tmp"
    try:
        con.execute(f"copy ({query}) to '{tmp}' (format parquet, compression zstd)", params)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def export_raw(con: duckdb.DuckDBPyConnection, paths: SpiegelPaths) -> list[Path]:
    """Write the Parquet file of every accepted delivery in force that has none yet, then
    the deliveries pointer. Returns the claim files written now (existing ones are kept)."""
    written: list[Path] = []
    in_force = con.execute(
        "select period, insurer, delivery_id from raw.deliveries where status = 'accepted' order by period, insurer"
    ).fetchall()
    for period, insurer, delivery_id in in_force:
        dest = claims_file(paths, period, insurer, delivery_id)
        if dest.exists():
            continue
        _copy_atomically(
            con,
            f"select {', '.join(CLAIM_COLUMNS)} from raw.claims where period = ? and insurer = ? "
            "and delivery_id = ? order by source_line",
            [period, insurer, delivery_id],
            dest,
        )
        written.append(dest)
    _copy_atomically(con, "select * from raw.deliveries order by period, insurer", [], deliveries_file(paths))
    # the register in force (small; replaced whole): addressing only, for dim_practices
    _copy_atomically(
        con, "select * from raw.practice_register order by practice_agb", [], practice_register_file(paths)
    )
    return written
