"""SPIEGEL_ENGINE=spark (issue 16): the same dbt models on a local Apache Spark.

The hand-made warehouse of tests/test_method_dbt.py (period A: the worked example of
method.md §8, the netting example, a patient of two insurers, a rejected delivery;
period B: randomised credits, orphans, rejections and sparse strata that pool) is
computed twice: by dbt-duckdb on the warehouse, and by dbt-spark (session method,
local[2]) on the Parquet raw layer written from it (orchestration/raw_layer.py). Each
Spark build runs the dbt unit tests (the worked example) and the data tests on Spark.
Spark's marts are loaded back into DuckDB (orchestration/spark_engine.py) and must
equal DuckDB's: every non-float column identical, every float within 1e-9.

The last test runs the whole platform with `spiegel run --engine spark` on the clean
period of conftest.py and compares the published tables with the DuckDB release.

One Spark per `dbt build` (the session method starts it in dbt's process). Measured on
the shared, heavily loaded 2-core machine (load 5–11): 4–9 minutes per Spark build of a
period, 16 minutes for the run through the platform; most of it is per-statement
overhead of Spark, not data.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import test_method_dbt as method  # noqa: E402

from orchestration.config import SpiegelPaths  # noqa: E402
from orchestration.raw_layer import export_raw  # noqa: E402
from orchestration.resources import dbt_env_vars  # noqa: E402
from orchestration.spark_engine import load_marts, mart_models  # noqa: E402

pytestmark = pytest.mark.slow

TOLERANCE = 1e-9


def run_spark_dbt(paths: SpiegelPaths, variables: dict) -> subprocess.CompletedProcess:
    env = {**os.environ, **dbt_env_vars(paths), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    args = [str(method.DBT), "build", "--target", "spark", "--vars", json.dumps(variables),
            "--project-dir", str(method.DBT_PROJECT), "--profiles-dir", str(method.DBT_PROJECT),
            "--target-path", str(paths.data_dir / "target"), "--log-path", str(paths.data_dir / "dbt_logs")]
    result = subprocess.run(args, capture_output=True, text=True, env=env, cwd=paths.data_dir)
    assert result.returncode == 0, f"dbt build on Spark {variables} failed:\n{result.stdout[-8000:]}"
    return result


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    root = tmp_path_factory.mktemp("spark_engine")
    claims = method.Claims()
    deliveries = method.period_a(claims) + method.period_b(claims)

    duck = root / "duckdb"
    duck.mkdir()
    method.write_raw(duck / "warehouse.duckdb", claims.rows, deliveries)

    spark = SpiegelPaths(root / "spark")
    spark.data_dir.mkdir()
    method.write_raw(spark.warehouse, claims.rows, deliveries)
    con = duckdb.connect(str(spark.warehouse))
    try:
        export_raw(con, spark)
    finally:
        con.close()

    logs = {}
    for variables in (method.VARS_A, method.VARS_B):
        method.run_dbt(duck, duck / "warehouse.duckdb", variables)
        logs[variables["period"]] = run_spark_dbt(spark, variables).stdout
        con = duckdb.connect(str(spark.warehouse))
        try:
            load_marts(con, spark, variables["period"])
        finally:
            con.close()
    yield {"duckdb": duck / "warehouse.duckdb", "spark": spark, "logs": logs}
    shutil.rmtree(duck / "target", ignore_errors=True)


def _mart(warehouse: Path, model: str) -> pd.DataFrame:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(f"select * from marts.{model}").df()
    finally:
        con.close()


def _assert_equal(model: str, duck: pd.DataFrame, spark: pd.DataFrame) -> None:
    assert sorted(spark.columns) == sorted(duck.columns), model
    spark = spark[list(duck.columns)]
    floats = [c for c in duck.columns if pd.api.types.is_float_dtype(duck[c])]
    keys = [c for c in duck.columns if c not in floats]
    assert len(spark) == len(duck), f"{model}: {len(spark)} rows on Spark, {len(duck)} on DuckDB"
    duck = duck.sort_values(keys, kind="mergesort").reset_index(drop=True)
    spark = spark.sort_values(keys, kind="mergesort").reset_index(drop=True)
    for column in keys:
        left = duck[column].astype(object).where(duck[column].notna(), None).map(str)
        right = spark[column].astype(object).where(spark[column].notna(), None).map(str)
        assert left.tolist() == right.tolist(), f"{model}.{column} differs between the engines"
    for column in floats:
        a, b = duck[column].to_numpy(dtype=float), spark[column].to_numpy(dtype=float)
        assert ((pd.isna(a)) == (pd.isna(b))).all(), f"{model}.{column}: nulls differ"
        diff = abs(a - b)[~pd.isna(a)]
        assert (diff <= TOLERANCE * (1 + abs(a[~pd.isna(a)]))).all(), \
            f"{model}.{column}: largest difference {diff.max()}"


UNIT_TESTS = ("netting_example_net_paid", "netting_example_counted_sessions", "netting_example_excluded_lines",
              "exclusion_reasons_in_rule_order", "episode_case_mix", "worked_example_pooling", "pooling_levels",
              "worked_example_reference_cells", "worked_example_episode_expectations",
              "worked_example_practice_index", "worked_example_behandelindex", "min_patients_suppression",
              "funnel_parameters_worked_example", "national_medians_even_and_odd")


def test_unit_tests_of_the_worked_example_pass_on_spark(engines):
    for period, log in engines["logs"].items():
        passed = {line.split("::")[1].split()[0] for line in log.splitlines()
                  if " PASS " in line and "::" in line}
        assert passed == set(UNIT_TESTS), f"{period}: unit tests not passed on Spark: {set(UNIT_TESTS) - passed}"
        assert " ERROR=0 " in log and " SKIP=0 " in log, log[-3000:]


def test_every_mart_equals_duckdbs_within_1e9(engines):
    models = mart_models()
    assert {"fct_behandelindex", "fct_reference_strata", "fct_excluded_lines"} <= set(models)
    for model in models:
        duck = _mart(engines["duckdb"], model)
        spark = _mart(engines["spark"].warehouse, model)
        assert len(duck) > 0, model
        _assert_equal(model, duck, spark)


def test_spark_logs_go_to_the_data_directory(engines):
    log = engines["spark"].logs / "spark.log"
    assert log.exists() and log.stat().st_size > 0
    for stdout in engines["logs"].values():
        assert "WARN Utils" not in stdout and "log4j" not in stdout.lower()


def _published(revision: Path) -> dict[str, pd.DataFrame]:
    from pipeline import PUBLISHED_TABLES

    return {name: pd.read_csv(revision / name, dtype=str, keep_default_na=False) for name in PUBLISHED_TABLES}


def test_spark_engine_through_the_platform_publishes_duckdbs_tables(clean_release, tmp_path):
    """`spiegel run --engine spark`, sign-off and publish on the clean period's deliveries
    publish behandelindex.csv, reference_strata.csv and excluded_lines.csv equal to the
    DuckDB engine's release (conftest.py clean_release): text columns identical, numbers
    within 1e-9."""
    from pipeline import spiegel

    data = tmp_path / "data"
    shutil.copytree(clean_release["ingested"], data, symlinks=True)
    period = clean_release["release"].parent.name
    assert spiegel(data, "run", "--period", period, "--engine", "spark") == 0
    assert spiegel(data, "signoff", "--period", period, "--by", "anna", "--comment", "spark") == 0
    assert spiegel(data, "publish", "--period", period) == 0
    assert sorted(p.name for p in (data / "raw" / "claims" / period).iterdir())       # the raw layer was written
    assert (data / "logs" / "spark.log").stat().st_size > 0
    spark_tables = _published(data / "releases" / period / "r1")
    duck_tables = _published(clean_release["release"])
    for name, duck in duck_tables.items():
        spark = spark_tables[name]
        assert list(spark.columns) == list(duck.columns), name
        assert len(spark) == len(duck) and len(duck) > 0, name
        for column in duck.columns:
            left, right = duck[column].tolist(), spark[column].tolist()
            if left == right:
                continue
            as_float = [(float(a), float(b)) for a, b in zip(left, right)]     # only numbers may differ
            assert all(abs(a - b) <= TOLERANCE * (1 + abs(a)) for a, b in as_float), f"{name}.{column}"
