"""SPIEGEL_ENGINE=spark: what runs around the method when Spark computes it.

Before dbt: the raw layer (orchestration/delivery/raw_layer.py) gets the Parquet file of every
accepted delivery in force; the Spark target reads only those files.
After dbt: the period's marts, which Spark writes as Parquet tables partitioned by
``period`` under ``<data dir>/spark/warehouse/marts.db/``, are loaded into the DuckDB
warehouse's ``marts`` schema (the period's rows replaced in one transaction), so the
gates, readiness, sign-off, publishing, the reports and the portal read the same tables
whichever engine computed them.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from orchestration.core.settings import SpiegelPaths
from orchestration.core.warehouse import connect_locked, has_table
from orchestration.delivery.raw_layer import export_raw
from orchestration.delivery.raw_tables import ensure_raw_schema
from orchestration.method.dbt_project import dbt_manifest_path


def mart_models(manifest: Path | None = None) -> list[str]:
    """The models of the marts layer (dbt_project/models/marts), by name."""
    nodes = json.loads((manifest or dbt_manifest_path()).read_text())["nodes"].values()
    return sorted(
        n["name"] for n in nodes if n["resource_type"] == "model" and len(n["fqn"]) > 2 and n["fqn"][1] == "marts"
    )


def spark_table_dir(paths: SpiegelPaths, schema: str, model: str) -> Path:
    return paths.spark / "warehouse" / f"{schema}.db" / model


def _period_files(paths: SpiegelPaths, model: str, period: str) -> list[Path]:
    return sorted((spark_table_dir(paths, "marts", model) / f"period={period}").glob("*.parquet"))


def load_marts(
    con: duckdb.DuckDBPyConnection, paths: SpiegelPaths, period: str, models: list[str] | None = None
) -> dict[str, int]:
    """Replace ``period``'s rows of every mart in DuckDB by Spark's; rows loaded per mart.

    A mart that Spark left without a partition for the period (no rows) loses its rows
    of the period, as the DuckDB engine's pre-hook would clear them."""
    loaded: dict[str, int] = {}
    con.execute("create schema if not exists marts")
    con.execute("begin transaction")
    try:
        for model in models or mart_models():
            files = _period_files(paths, model, period)
            if not files and not spark_table_dir(paths, "marts", model).exists():
                raise FileNotFoundError(f"Spark wrote no table for mart {model} under {paths.spark}")
            if files:
                listing = "[" + ", ".join(f"'{f}'" for f in files) + "]"
                relation = f"select ?::varchar as period, * from read_parquet({listing}, hive_partitioning = false)"
            else:
                relation = None
            if not has_table(con, "marts", model):
                if relation is None:
                    continue
                con.execute(f"create table marts.{model} as {relation} limit 0", [period])
            con.execute(f"delete from marts.{model} where period = ?", [period])
            if relation is not None:
                con.execute(f"insert into marts.{model} by name {relation}", [period])
            loaded[model] = con.execute(f"select count(*) from marts.{model} where period = ?", [period]).fetchone()[0]
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return loaded


def export_raw_layer(paths: SpiegelPaths) -> list[Path]:
    """The raw layer's files for what is in force. The caller holds the warehouse lock."""
    con = connect_locked(paths, read_only=False)
    try:
        ensure_raw_schema(con)
        return export_raw(con, paths)
    finally:
        con.close()


def load_marts_into_warehouse(paths: SpiegelPaths, period: str) -> dict[str, int]:
    """:func:`load_marts` on the warehouse. The caller holds the warehouse lock."""
    con = connect_locked(paths, read_only=False)
    try:
        return load_marts(con, paths, period)
    finally:
        con.close()
